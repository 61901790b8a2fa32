using System.Data;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Anima.Memory.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Anima.Memory.Storage;

/// <summary>What <see cref="SqliteMemoryStore"/> does when its database file is not a readable SQLite database.</summary>
public enum SqliteCorruptionPolicy
{
    /// <summary>Rename the damaged file (and its -wal/-shm) to <c>NAME.corrupt-TIMESTAMP</c> and start a new, empty
    /// database: the companion keeps working and nothing is destroyed (the old file can be recovered by hand).</summary>
    MoveAsideAndRecreate = 0,

    /// <summary>Refuse to start with a <see cref="MemoryStoreCorruptException"/>.</summary>
    Fail = 1,
}

/// <summary>Options of <see cref="SqliteMemoryStore"/>.</summary>
public sealed class SqliteMemoryStoreOptions
{
    /// <summary>The database file; created (with its folder) when missing.</summary>
    public required string DatabasePath { get; init; }

    /// <summary>See <see cref="SqliteCorruptionPolicy"/>; by default the damaged file is moved aside.</summary>
    public SqliteCorruptionPolicy OnCorruption { get; init; } = SqliteCorruptionPolicy.MoveAsideAndRecreate;
}

/// <summary>The database file is damaged and <see cref="SqliteCorruptionPolicy.Fail"/> was chosen.</summary>
public sealed class MemoryStoreCorruptException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>
/// The embedded memory store: one SQLite file, FTS5 full-text index over <see cref="MemoryTextAnalyzer"/> terms.
/// <para>Scoping: the index's <c>scope</c> column holds a token derived from the user id, so every search is an
/// FTS5 intersection with that user's postings (and the joined row's user id is checked again).</para>
/// <para>Deletion: <c>PRAGMA secure_delete</c> overwrites freed pages and FTS5's <c>secure-delete</c> removes a
/// row's postings from the index at once (no delete markers), so deleted text does not linger in the file.</para>
/// </summary>
public sealed partial class SqliteMemoryStore : IMemoryStore
{
    private const string Columns =
        "m.id, m.user_id, m.kind, m.text, m.created_at, m.updated_at, m.event_at, m.expires_at, m.provenance, " +
        "m.confidence, m.importance, m.emotional_weight, m.superseded_by, m.retired, m.embedding, m.search_context";

    private const int SchemaVersion = 1;
    private readonly SqliteMemoryStoreOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private bool _initialized;

    // Per-user BM25 statistics (memory count, total weighted length): counted on a user's first search, then kept up
    // to date by every write of this store. Another process writing the same file makes them approximate, which only
    // nudges IDF values.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, UserStatistics> _statistics = new(StringComparer.Ordinal);

    private sealed class UserStatistics(long count, double totalLength)
    {
        public long Count = count;
        public double TotalLength = totalLength;
    }

    // Per-user document frequencies of the terms queries asked about (fts5vocab costs a lookup per term, 0.4 ms a
    // query at 100,000 memories). A new memory adds one to the terms it holds; a change or deletion of an existing memory
    // drops the user's cache (those are rare and the old terms are not at hand). A reader caches what it read only when
    // no write began or ended meanwhile, so a value read just after a commit is never counted twice.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, FrequencyCache> _frequencies = new(StringComparer.Ordinal);

    /// <summary>The most terms cached per user; a full cache is emptied and starts again.</summary>
    private const int MaxCachedTermsPerUser = 50_000;

    private sealed class FrequencyCache
    {
        public readonly Dictionary<string, long> Frequencies = new(StringComparer.Ordinal);
        public long Version;
        public int WritesInFlight;
    }

    public SqliteMemoryStore(SqliteMemoryStoreOptions options, TimeProvider? timeProvider = null, ILogger<SqliteMemoryStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.DatabasePath);
        _options = options;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.GetFullPath(options.DatabasePath),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>Where a damaged database was moved by <see cref="InitializeAsync"/>, or null when none was.</summary>
    public string? CorruptFileMovedTo { get; private set; }

    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            if (_initialized)
            {
                return;
            }

            var path = Path.GetFullPath(_options.DatabasePath);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            try
            {
                await CreateSchemaAsync(cancellationToken);
            }
            catch (SqliteException exception) when (exception.SqliteErrorCode is 11 or 26 || exception.Message.Contains("malformed", StringComparison.OrdinalIgnoreCase))
            {
                // SQLITE_CORRUPT (11) or SQLITE_NOTADB (26): the file is not a database we can use.
                await HandleCorruptionAsync(path, exception, cancellationToken);
            }
            catch (MemoryStoreCorruptException exception) when (_options.OnCorruption == SqliteCorruptionPolicy.MoveAsideAndRecreate)
            {
                await HandleCorruptionAsync(path, exception, cancellationToken);
            }

            _initialized = true;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private async Task HandleCorruptionAsync(string path, Exception exception, CancellationToken cancellationToken)
    {
        if (_options.OnCorruption == SqliteCorruptionPolicy.Fail)
        {
            throw exception as MemoryStoreCorruptException ?? new MemoryStoreCorruptException(
                $"The memory database '{path}' is damaged or is not a SQLite database ({exception.Message}). " +
                "Restore it from a backup, move it away, or start with OnCorruption = MoveAsideAndRecreate.", exception);
        }

        SqliteConnection.ClearAllPools();
        var aside = string.Create(CultureInfo.InvariantCulture, $"{path}.corrupt-{_timeProvider.GetUtcNow():yyyyMMddHHmmss}");
        File.Move(path, aside, overwrite: false);
        foreach (var suffix in new[] { "-wal", "-shm" })
        {
            if (File.Exists(path + suffix))
            {
                File.Move(path + suffix, aside + suffix, overwrite: false);
            }
        }

        CorruptFileMovedTo = aside;
        LogCorruptMovedAside(_logger, path, aside, exception);
        await CreateSchemaAsync(cancellationToken);
    }

    private async Task CreateSchemaAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, "PRAGMA journal_mode=WAL;", cancellationToken);
        var check = await ScalarAsync(connection, "PRAGMA quick_check;", cancellationToken);
        if (!string.Equals(check as string, "ok", StringComparison.Ordinal))
        {
            throw new MemoryStoreCorruptException($"The memory database failed its integrity check: {check}.");
        }

        await ExecuteAsync(connection, """
            CREATE TABLE IF NOT EXISTS memories(
                seq INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                user_id TEXT NOT NULL,
                kind INTEGER NOT NULL,
                text TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                event_at INTEGER,
                expires_at INTEGER,
                provenance TEXT NOT NULL,
                confidence REAL NOT NULL,
                importance REAL NOT NULL,
                emotional_weight REAL NOT NULL,
                superseded_by TEXT,
                retired INTEGER NOT NULL,
                embedding BLOB,
                search_context TEXT,
                term_count INTEGER NOT NULL,
                context_count INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS memories_user_created ON memories(user_id, created_at);
            CREATE INDEX IF NOT EXISTS memories_user_importance ON memories(user_id, importance);
            CREATE INDEX IF NOT EXISTS memories_user_event ON memories(user_id, event_at) WHERE event_at IS NOT NULL;
            CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts USING fts5(
                scope, terms, context, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 0');
            CREATE VIRTUAL TABLE IF NOT EXISTS memories_vocab USING fts5vocab(memories_fts, row);
            INSERT INTO memories_fts(memories_fts, rank) VALUES('rank', 'bm25(0.0, 1.0, 0.5)');
            INSERT INTO memories_fts(memories_fts, rank) VALUES('secure-delete', 1);
            """, cancellationToken);
        await ExecuteAsync(connection, string.Create(CultureInfo.InvariantCulture, $"PRAGMA user_version={SchemaVersion};"), cancellationToken);
        await ReindexIfAnalyzerChangedAsync(connection, cancellationToken);
    }

    /// <summary>
    /// Rebuilds the full-text index when the file was indexed by another version of <see cref="MemoryTextAnalyzer"/>
    /// (recorded in <c>store_meta</c>; files from before it was recorded count as version 1): the same text would now
    /// give other terms, and a query's terms would miss the old ones. One transaction; about 10 s per 100,000 memories.
    /// </summary>
    private static async Task ReindexIfAnalyzerChangedAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await ExecuteAsync(connection, "CREATE TABLE IF NOT EXISTS store_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);", cancellationToken);
        var version = MemoryTextAnalyzer.Version.ToString(CultureInfo.InvariantCulture);
        if (await ScalarAsync(connection, "SELECT value FROM store_meta WHERE key = 'analyzer';", cancellationToken) is string stored
            && string.Equals(stored, version, StringComparison.Ordinal))
        {
            return;
        }

        await ExecuteAsync(connection, "PRAGMA secure_delete=ON;", cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        var rows = new List<(long Seq, string UserId, MemoryKind Kind, bool Retired, string Text, string? Context)>();
        await using (var select = Command(connection, transaction, "SELECT seq, user_id, kind, retired, text, search_context FROM memories;"))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((reader.GetInt64(0), reader.GetString(1), (MemoryKind)reader.GetInt32(2), reader.GetInt64(3) != 0, reader.GetString(4),
                    reader.IsDBNull(5) ? null : reader.GetString(5)));
            }
        }

        await using (var clear = Command(connection, transaction, "INSERT INTO memories_fts(memories_fts) VALUES('delete-all');"))
        {
            await clear.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var insertIndex = Command(connection, transaction,
            "INSERT INTO memories_fts(rowid, scope, terms, context) VALUES($seq, $scope, $terms, $contextTerms);");
        await using var updateCounts = Command(connection, transaction, "UPDATE memories SET term_count=$termCount, context_count=$contextCount WHERE seq=$seq;");
        var prefixes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!prefixes.TryGetValue(row.UserId, out var prefix))
            {
                prefix = UserPrefix(row.UserId);
                prefixes[row.UserId] = prefix;
            }

            var textTerms = MemoryTextAnalyzer.Analyze(row.Text, distinct: false);
            var contextTerms = MemoryTextAnalyzer.Analyze(row.Context, distinct: false);
            insertIndex.Parameters.Clear();
            insertIndex.Parameters.AddWithValue("$seq", row.Seq);
            insertIndex.Parameters.AddWithValue("$scope", ScopeText(row.Kind, row.Retired));
            insertIndex.Parameters.AddWithValue("$terms", Prefixed(prefix, textTerms));
            insertIndex.Parameters.AddWithValue("$contextTerms", Prefixed(prefix, contextTerms));
            await insertIndex.ExecuteNonQueryAsync(cancellationToken);
            updateCounts.Parameters.Clear();
            updateCounts.Parameters.AddWithValue("$seq", row.Seq);
            updateCounts.Parameters.AddWithValue("$termCount", textTerms.Count);
            updateCounts.Parameters.AddWithValue("$contextCount", contextTerms.Count);
            await updateCounts.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var record = Command(connection, transaction, "INSERT INTO store_meta(key, value) VALUES('analyzer', $version) ON CONFLICT(key) DO UPDATE SET value = excluded.value;"))
        {
            record.Parameters.AddWithValue("$version", version);
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        if (rows.Count > 0)
        {
            await PurgeAsync(connection, cancellationToken);
        }
    }

    public async Task UpsertAsync(string userId, Memory memory, CancellationToken cancellationToken = default)
    {
        var stored = MemoryValidation.Normalize(userId, memory);
        await UpsertManyCoreAsync(userId, [stored], cancellationToken);
    }

    public async Task UpsertManyAsync(string userId, IReadOnlyList<Memory> memories, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(memories);
        var stored = new Memory[memories.Count];
        for (var index = 0; index < memories.Count; index++)
        {
            stored[index] = MemoryValidation.Normalize(userId, memories[index]);
        }

        await UpsertManyCoreAsync(userId, stored, cancellationToken);
    }

    // Upserts are group-committed: the writes that queue while a transaction is being written go into the next one
    // together (at most MaximumBatch), each inside its own savepoint so that a failing write is rolled back alone. Every
    // turn writes a few FTS-indexed memories; one transaction (and one full-text segment) per write made the store's
    // single writer the bottleneck under load. A caller's task completes only after its transaction has committed.
    private const int MaximumBatch = 64;
    private readonly System.Collections.Concurrent.ConcurrentQueue<PendingUpsert> _upserts = new();

    private sealed class PendingUpsert(string userId, IReadOnlyList<Memory> memories, CancellationToken cancellationToken)
    {
        public string UserId { get; } = userId;

        public IReadOnlyList<Memory> Memories { get; } = memories;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long AddedDocuments { get; set; }

        public double AddedLength { get; set; }

        public Dictionary<string, int> AddedFrequencies { get; } = new(StringComparer.Ordinal);

        public bool ChangedExisting { get; set; }

        public Exception? Error { get; set; }
    }

    private async Task UpsertManyCoreAsync(string userId, IReadOnlyList<Memory> memories, CancellationToken cancellationToken, bool purge = false)
    {
        EnsureInitialized();
        if (memories.Count == 0)
        {
            return;
        }

        cancellationToken.ThrowIfCancellationRequested();
        var frequencyCache = BeginFrequencyWrite(userId);
        var pending = new PendingUpsert(userId, memories, cancellationToken);
        var committed = false;
        try
        {
            _upserts.Enqueue(pending);
            while (!pending.Completion.Task.IsCompleted)
            {
                // Whoever holds the gate writes everything queued so far, this write included unless an earlier holder took it.
                await _writeGate.WaitAsync(CancellationToken.None);
                try
                {
                    if (!pending.Completion.Task.IsCompleted)
                    {
                        await WriteQueuedUpsertsAsync();
                    }
                }
                finally
                {
                    _writeGate.Release();
                }
            }

            await pending.Completion.Task;
            committed = true;
            AdjustStatistics(userId, pending.AddedDocuments, pending.AddedLength);
            if (purge)
            {
                await _writeGate.WaitAsync(CancellationToken.None);
                try
                {
                    await using var connection = await OpenWriterAsync(CancellationToken.None);
                    await PurgeAsync(connection, CancellationToken.None);
                }
                finally
                {
                    _writeGate.Release();
                }
            }
        }
        finally
        {
            EndFrequencyWrite(frequencyCache, committed && !pending.ChangedExisting ? pending.AddedFrequencies : null);
        }
    }

    /// <summary>Writes the queued upserts in one transaction, each in its own savepoint. Called with the write gate held.</summary>
    private async Task WriteQueuedUpsertsAsync()
    {
        var batch = new List<PendingUpsert>(MaximumBatch);
        while (batch.Count < MaximumBatch && _upserts.TryDequeue(out var queued))
        {
            if (queued.CancellationToken.IsCancellationRequested)
            {
                queued.Completion.TrySetCanceled(queued.CancellationToken);
            }
            else
            {
                batch.Add(queued);
            }
        }

        if (batch.Count == 0)
        {
            return;
        }

        try
        {
            var writer = _writer ??= WriterSession.Create(await OpenWriterAsync(CancellationToken.None));
            await using var transaction = (SqliteTransaction)await writer.Connection.BeginTransactionAsync(CancellationToken.None);
            writer.Enlist(transaction);
            foreach (var upsert in batch)
            {
                await writer.Savepoint.ExecuteNonQueryAsync(CancellationToken.None);
                try
                {
                    await UpsertAsync(upsert, writer);
                    await writer.Release.ExecuteNonQueryAsync(CancellationToken.None);
                }
                catch (Exception exception)
                {
                    await writer.RollbackToSavepoint.ExecuteNonQueryAsync(CancellationToken.None);
                    upsert.Error = exception;
                    upsert.AddedDocuments = 0;
                    upsert.AddedLength = 0;
                    upsert.AddedFrequencies.Clear();
                }
            }

            await transaction.CommitAsync(CancellationToken.None);
        }
        catch (Exception exception)
        {
            // The transaction is lost (disk full, I/O error): every write in it fails, and the next batch starts on a
            // fresh connection.
            foreach (var upsert in batch)
            {
                upsert.Error ??= exception;
                upsert.AddedFrequencies.Clear();
            }

            _writer?.Dispose();
            _writer = null;
        }

        foreach (var upsert in batch)
        {
            if (upsert.Error is { } error)
            {
                upsert.Completion.TrySetException(error);
            }
            else
            {
                upsert.Completion.TrySetResult();
            }
        }
    }

    /// <summary>
    /// The writer's own connection and its prepared statements, kept between transactions (used only with the write
    /// gate held): preparing the upsert, index and savepoint statements again for every transaction cost more than
    /// running them. The parameters are made once; each write sets their values.
    /// </summary>
    private sealed class WriterSession : IDisposable
    {
        private const string MemoryColumns = """
            $id, $user, $kind, $text, $created, $updated, $event, $expires, $provenance,
            $confidence, $importance, $emotional, $superseded, $retired, $embedding, $context, $termCount, $contextCount
            """;

        private WriterSession(SqliteConnection connection)
        {
            Connection = connection;
            Find = Command(connection, null, "SELECT seq, user_id, term_count, context_count FROM memories WHERE id = $id;");
            FindId = Find.Parameters.Add("$id", SqliteType.Text);
            Insert = Command(connection, null, $"""
                INSERT INTO memories(id, user_id, kind, text, created_at, updated_at, event_at, expires_at, provenance,
                    confidence, importance, emotional_weight, superseded_by, retired, embedding, search_context, term_count, context_count)
                VALUES({MemoryColumns})
                RETURNING seq;
                """);
            Update = Command(connection, null, """
                UPDATE memories SET kind=$kind, text=$text, created_at=$created, updated_at=$updated, event_at=$event,
                    expires_at=$expires, provenance=$provenance, confidence=$confidence, importance=$importance,
                    emotional_weight=$emotional, superseded_by=$superseded, retired=$retired, embedding=$embedding,
                    search_context=$context, term_count=$termCount, context_count=$contextCount
                WHERE seq=$seq;
                """);
            foreach (var name in MemoryColumns.Split(',', StringSplitOptions.TrimEntries))
            {
                Values[name] = new SqliteParameter { ParameterName = name };
                Insert.Parameters.Add(Values[name]);
                Update.Parameters.Add(new SqliteParameter { ParameterName = name });
            }

            UpdateSeq = Update.Parameters.Add("$seq", SqliteType.Integer);
            DeleteIndex = Command(connection, null, "DELETE FROM memories_fts WHERE rowid=$seq;");
            DeleteIndexSeq = DeleteIndex.Parameters.Add("$seq", SqliteType.Integer);
            InsertIndex = Command(connection, null, "INSERT INTO memories_fts(rowid, scope, terms, context) VALUES($seq, $scope, $terms, $contextTerms);");
            IndexSeq = InsertIndex.Parameters.Add("$seq", SqliteType.Integer);
            IndexScope = InsertIndex.Parameters.Add("$scope", SqliteType.Text);
            IndexTerms = InsertIndex.Parameters.Add("$terms", SqliteType.Text);
            IndexContext = InsertIndex.Parameters.Add("$contextTerms", SqliteType.Text);
            Savepoint = Command(connection, null, "SAVEPOINT upsert;");
            Release = Command(connection, null, "RELEASE upsert;");
            RollbackToSavepoint = Command(connection, null, "ROLLBACK TO upsert; RELEASE upsert;");
        }

        public SqliteConnection Connection { get; }

        public SqliteCommand Find { get; }

        public SqliteParameter FindId { get; }

        public SqliteCommand Insert { get; }

        public SqliteCommand Update { get; }

        public SqliteParameter UpdateSeq { get; }

        /// <summary>The insert's parameters by name; the update's are set from them.</summary>
        public Dictionary<string, SqliteParameter> Values { get; } = new(StringComparer.Ordinal);

        public SqliteCommand DeleteIndex { get; }

        public SqliteParameter DeleteIndexSeq { get; }

        public SqliteCommand InsertIndex { get; }

        public SqliteParameter IndexSeq { get; }

        public SqliteParameter IndexScope { get; }

        public SqliteParameter IndexTerms { get; }

        public SqliteParameter IndexContext { get; }

        public SqliteCommand Savepoint { get; }

        public SqliteCommand Release { get; }

        public SqliteCommand RollbackToSavepoint { get; }

        public static WriterSession Create(SqliteConnection connection) => new(connection);

        /// <summary>Runs every statement in <paramref name="transaction"/> (Microsoft.Data.Sqlite requires it to be named).</summary>
        public void Enlist(SqliteTransaction transaction)
        {
            foreach (var command in new[] { Find, Insert, Update, DeleteIndex, InsertIndex, Savepoint, Release, RollbackToSavepoint })
            {
                command.Transaction = transaction;
            }
        }

        /// <summary>Sets the memory's values on the insert's parameters, and copies them to the update's.</summary>
        public void Bind(Memory memory, string userId, int termCount, int contextCount, bool forUpdate)
        {
            Values["$termCount"].Value = termCount;
            Values["$contextCount"].Value = contextCount;
            Values["$id"].Value = memory.Id.ToString("D");
            Values["$user"].Value = userId;
            Values["$kind"].Value = (int)memory.Kind;
            Values["$text"].Value = memory.Text;
            Values["$created"].Value = memory.CreatedAt.ToUnixTimeMilliseconds();
            Values["$updated"].Value = memory.UpdatedAt.ToUnixTimeMilliseconds();
            Values["$event"].Value = (object?)memory.EventDate?.ToUnixTimeMilliseconds() ?? DBNull.Value;
            Values["$expires"].Value = (object?)memory.ExpiresAt?.ToUnixTimeMilliseconds() ?? DBNull.Value;
            Values["$provenance"].Value = JsonSerializer.Serialize(memory.Provenance, MemoryJsonContext.Default.IReadOnlyListString);
            Values["$confidence"].Value = memory.Confidence;
            Values["$importance"].Value = memory.Importance;
            Values["$emotional"].Value = memory.EmotionalWeight;
            Values["$superseded"].Value = (object?)memory.SupersededBy?.ToString("D") ?? DBNull.Value;
            Values["$retired"].Value = memory.IsRetired ? 1 : 0;
            var embedding = Values["$embedding"];
            embedding.SqliteType = SqliteType.Blob;
            embedding.Value = memory.Embedding is { } vector ? MemoryMarshal.AsBytes(vector.AsSpan()).ToArray() : DBNull.Value;
            Values["$context"].Value = (object?)memory.SearchContext ?? DBNull.Value;
            if (forUpdate)
            {
                foreach (SqliteParameter parameter in Update.Parameters)
                {
                    if (Values.TryGetValue(parameter.ParameterName, out var value))
                    {
                        parameter.SqliteType = value.SqliteType;
                        parameter.Value = value.Value;
                    }
                }
            }
        }

        public void Dispose()
        {
            foreach (var command in new[] { Find, Insert, Update, DeleteIndex, InsertIndex, Savepoint, Release, RollbackToSavepoint })
            {
                command.Dispose();
            }

            Connection.Dispose();
        }
    }

    private WriterSession? _writer;

    private static async Task UpsertAsync(PendingUpsert upsert, WriterSession writer)
    {
        var userId = upsert.UserId;
        var prefix = UserPrefix(userId);
        var cancellationToken = upsert.CancellationToken;
        foreach (var memory in upsert.Memories)
        {
            cancellationToken.ThrowIfCancellationRequested();
            writer.FindId.Value = memory.Id.ToString("D");
            long? existing = null;
            await using (var reader = await writer.Find.ExecuteReaderAsync(cancellationToken))
            {
                if (await reader.ReadAsync(cancellationToken))
                {
                    if (!string.Equals(reader.GetString(1), userId, StringComparison.Ordinal))
                    {
                        throw new ArgumentException("A memory with this id already exists for a different user.", nameof(upsert));
                    }

                    existing = reader.GetInt64(0);
                    upsert.AddedDocuments--;
                    upsert.AddedLength -= Bm25.Length(reader.GetInt32(2), reader.GetInt32(3));
                }
            }

            var textTerms = MemoryTextAnalyzer.Analyze(memory.Text, distinct: false);
            var contextTerms = MemoryTextAnalyzer.Analyze(memory.SearchContext, distinct: false);
            upsert.AddedDocuments++;
            upsert.AddedLength += Bm25.Length(textTerms.Count, contextTerms.Count);
            long seq;
            if (existing is { } found)
            {
                upsert.ChangedExisting = true;
                writer.Bind(memory, userId, textTerms.Count, contextTerms.Count, forUpdate: true);
                writer.UpdateSeq.Value = found;
                await writer.Update.ExecuteNonQueryAsync(cancellationToken);
                writer.DeleteIndexSeq.Value = found;
                await writer.DeleteIndex.ExecuteNonQueryAsync(cancellationToken);
                seq = found;
            }
            else
            {
                CountDistinctTerms(textTerms, contextTerms, upsert.AddedFrequencies);
                writer.Bind(memory, userId, textTerms.Count, contextTerms.Count, forUpdate: false);
                seq = (long)(await writer.Insert.ExecuteScalarAsync(cancellationToken))!;
            }

            writer.IndexSeq.Value = seq;
            writer.IndexScope.Value = ScopeText(memory);
            writer.IndexTerms.Value = Prefixed(prefix, textTerms);
            writer.IndexContext.Value = Prefixed(prefix, contextTerms);
            await writer.InsertIndex.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static void CountDistinctTerms(IReadOnlyList<string> textTerms, IReadOnlyList<string> contextTerms, Dictionary<string, int> counts)
    {
        var distinct = new HashSet<string>(textTerms, StringComparer.Ordinal);
        distinct.UnionWith(contextTerms);
        foreach (var term in distinct)
        {
            counts[term] = counts.GetValueOrDefault(term) + 1;
        }
    }

    private FrequencyCache BeginFrequencyWrite(string userId)
    {
        // Always registered, even before the user's first search: a search starting during this write must see it in
        // flight, or it could cache a count read before the commit that this write would then never add to.
        var cache = _frequencies.GetOrAdd(userId, _ => new FrequencyCache());
        lock (cache)
        {
            cache.WritesInFlight++;
            cache.Version++;
        }

        return cache;
    }

    /// <summary>Ends a write: adds the new memories' terms to the cached frequencies, or (null: a memory changed or was
    /// deleted, or the write failed) empties the cache.</summary>
    private static void EndFrequencyWrite(FrequencyCache cache, Dictionary<string, int>? added)
    {
        lock (cache)
        {
            if (added is null)
            {
                cache.Frequencies.Clear();
            }
            else
            {
                foreach (var (term, count) in added)
                {
                    if (cache.Frequencies.TryGetValue(term, out var frequency))
                    {
                        cache.Frequencies[term] = frequency + count;
                    }
                }
            }

            cache.WritesInFlight--;
            cache.Version++;
        }
    }

    private void AdjustStatistics(string userId, long documents, double length)
    {
        if (_statistics.TryGetValue(userId, out var statistics))
        {
            lock (statistics)
            {
                statistics.Count = Math.Max(0, statistics.Count + documents);
                statistics.TotalLength = Math.Max(0, statistics.TotalLength + length);
            }
        }
    }

    private async Task<(long Count, double AverageLength)> StatisticsAsync(SqliteConnection connection, string userId, CancellationToken cancellationToken)
    {
        if (!_statistics.TryGetValue(userId, out var statistics))
        {
            // Counted from the file, and kept only if no write for this user ran meanwhile: a write that committed
            // during the count would otherwise be added twice (it adjusts cached statistics after its commit).
            var writes = _frequencies.GetOrAdd(userId, _ => new FrequencyCache());
            long version;
            bool quiet;
            lock (writes)
            {
                version = writes.Version;
                quiet = writes.WritesInFlight == 0;
            }

            await using var command = Command(connection, null, $"SELECT count(*), total(term_count + {Bm25.ContextWeight.ToString(CultureInfo.InvariantCulture)} * context_count) FROM memories WHERE user_id=$user;");
            command.Parameters.AddWithValue("$user", userId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            statistics = new UserStatistics(reader.GetInt64(0), reader.GetDouble(1));
            lock (writes)
            {
                if (quiet && writes.Version == version && writes.WritesInFlight == 0)
                {
                    statistics = _statistics.GetOrAdd(userId, statistics);
                }
            }
        }

        lock (statistics)
        {
            var count = Math.Max(1, statistics.Count);
            return (count, statistics.TotalLength > 0 ? statistics.TotalLength / count : 1);
        }
    }

    public async Task<Memory?> GetAsync(string userId, Guid id, CancellationToken cancellationToken = default)
    {
        MemoryValidation.ValidateUserId(userId);
        EnsureInitialized();
        await using var connection = await OpenAsync(cancellationToken);
        return await GetCoreAsync(connection, null, userId, id, cancellationToken);
    }

    private static async Task<Memory?> GetCoreAsync(SqliteConnection connection, SqliteTransaction? transaction, string userId, Guid id, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, $"SELECT {Columns} FROM memories m WHERE m.id=$id AND m.user_id=$user;");
        command.Parameters.AddWithValue("$id", id.ToString("D"));
        command.Parameters.AddWithValue("$user", userId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader, userId) : null;
    }

    public async Task<MemoryPage> ListAsync(string userId, MemoryListQuery query, CancellationToken cancellationToken = default)
    {
        MemoryValidation.ValidateUserId(userId);
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        EnsureInitialized();
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var where = Where(command, userId, query);
        var order = query.ByImportance ? "m.importance DESC, m.created_at DESC" : "m.created_at DESC, m.seq DESC";
        command.CommandText = $"SELECT {Columns} FROM memories m WHERE {where} ORDER BY {order} LIMIT $limit OFFSET $offset;";
        command.Parameters.AddWithValue("$limit", query.Limit);
        command.Parameters.AddWithValue("$offset", query.Offset);
        return await MemoryPaging.ReadAsync<SqliteDataReader>(command, $"SELECT COUNT(*) FROM memories m WHERE {where};", query, reader => Read(reader, userId), cancellationToken);
    }

    public async Task<long> CountAsync(string userId, MemoryListQuery? query = null, CancellationToken cancellationToken = default)
    {
        MemoryValidation.ValidateUserId(userId);
        EnsureInitialized();
        query ??= new MemoryListQuery { IncludeRetired = true, IncludeExpired = true };
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var where = Where(command, userId, query);
        command.CommandText = $"SELECT COUNT(*) FROM memories m WHERE {where};";
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private string Where(SqliteCommand command, string userId, MemoryListQuery query)
    {
        var clauses = new List<string> { "m.user_id=$user" };
        command.Parameters.AddWithValue("$user", userId);
        if (!query.IncludeRetired)
        {
            clauses.Add("m.retired=0");
        }

        if (!query.IncludeExpired)
        {
            clauses.Add("(m.expires_at IS NULL OR m.expires_at>$now)");
            command.Parameters.AddWithValue("$now", _timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        }

        if (query.Kinds is { Count: > 0 } kinds)
        {
            clauses.Add($"m.kind IN ({string.Join(',', kinds.Select(kind => ((int)kind).ToString(CultureInfo.InvariantCulture)))})");
        }

        AddRange(command, clauses, "m.created_at", "$createdFrom", ">=", query.CreatedFrom);
        AddRange(command, clauses, "m.created_at", "$createdBefore", "<", query.CreatedBefore);
        if (query.EventFrom is not null || query.EventBefore is not null)
        {
            clauses.Add("m.event_at IS NOT NULL");
        }

        AddRange(command, clauses, "m.event_at", "$eventFrom", ">=", query.EventFrom);
        AddRange(command, clauses, "m.event_at", "$eventBefore", "<", query.EventBefore);
        return string.Join(" AND ", clauses);
    }

    private static void AddRange(SqliteCommand command, List<string> clauses, string column, string parameter, string comparison, DateTimeOffset? value)
    {
        if (value is { } bound)
        {
            clauses.Add($"{column}{comparison}{parameter}");
            command.Parameters.AddWithValue(parameter, bound.ToUnixTimeMilliseconds());
        }
    }

    public async Task<IReadOnlyList<MemorySearchHit>> SearchAsync(string userId, MemorySearchQuery query, CancellationToken cancellationToken = default)
    {
        MemoryValidation.ValidateUserId(userId);
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit is < 1 or > MemorySearchQuery.MaxLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(query), query.Limit, $"Limit must be from 1 to {MemorySearchQuery.MaxLimit}.");
        }

        EnsureInitialized();
        var terms = SearchTerms.FromQuery(query.Text);
        if (terms.Count == 0)
        {
            return [];
        }

        // Ranking every match with FTS5's bm25() costs about 3 µs a row, too slow when a common word matches tens of
        // thousands of a user's memories. So: look up each term's document frequency, rank with FTS5 only over the
        // rarest terms whose postings fit RankedPostingBudget, add the newest memories holding the common terms, and
        // score all these candidates with exact BM25 (Bm25) in C#. Common words carry little weight in BM25 anyway.
        await using var connection = await OpenAsync(cancellationToken);
        var prefix = UserPrefix(userId);
        var frequencies = await DocumentFrequenciesAsync(connection, userId, prefix, terms, cancellationToken);
        var (present, rare, common) = LexicalSearch.Split(terms, frequencies);
        if (present.Count == 0)
        {
            return [];
        }

        var filter = MatchFilter(query);
        var candidates = new Dictionary<Guid, Memory>();
        var now = _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        if (rare.Count > 0)
        {
            await ReadCandidatesAsync(connection, userId, now, Match(filter, prefix, rare, query.IncludeRetired), "rank", query.Limit + 16, candidates, cancellationToken);
        }

        // The newest memories holding only common terms fill the list when the rare terms found too few: a memory with a
        // rare term outscores one with a common term alone (BM25's IDF), so otherwise they would not make the top.
        if (common.Count > 0 && candidates.Count < query.Limit)
        {
            await ReadCandidatesAsync(connection, userId, now, Match(filter, prefix, common, query.IncludeRetired), "rowid DESC", CommonTermCandidates, candidates, cancellationToken);
        }

        var (documentCount, averageLength) = await StatisticsAsync(connection, userId, cancellationToken);

        var inverse = LexicalSearch.InverseDocumentFrequencies(present, frequencies, documentCount);
        var hits = new List<MemorySearchHit>(candidates.Count);
        foreach (var memory in candidates.Values)
        {
            var score = LexicalSearch.Score(inverse, memory.Text, memory.SearchContext, averageLength);
            if (score > 0)
            {
                hits.Add(new MemorySearchHit(memory, score));
            }
        }

        hits.Sort((left, right) => LexicalSearch.CompareHits(left.LexicalScore, left.Memory.CreatedAt, right.LexicalScore, right.Memory.CreatedAt));
        return hits.Count > query.Limit ? hits.GetRange(0, query.Limit) : hits;
    }

    /// <summary>Postings FTS5 may rank per query (see <see cref="SearchAsync"/>): bm25() costs about 3 µs a row (it
    /// looks up each row's size), the largest part of a search. 600 → 300 cut CPU per recall at 100,000 memories from
    /// 1.55–1.6 to about 1.45 ms; LoCoMo recall@10 was 0.779 at 600, 0.780 at 300, 0.778 at 250 and at 5,000.</summary>
    public const int RankedPostingBudget = LexicalSearch.RankedPostingBudget;

    /// <summary>The newest memories holding only common terms that are added as candidates.</summary>
    public const int CommonTermCandidates = LexicalSearch.CommonTermCandidates;

    /// <summary>The scope part of a MATCH: kinds and retirement are tokens of the scope column; null when there is nothing to filter.</summary>
    private static string? MatchFilter(MemorySearchQuery query)
    {
        var clauses = new List<string>();
        if (query.Kinds is { Count: > 0 } kinds)
        {
            clauses.Add("scope : (" + string.Join(" OR ", kinds.Select(kind => KindToken(kind))) + ")");
        }

        return clauses.Count == 0 ? null : string.Join(" AND ", clauses);
    }

    private static string Match(string? filter, string prefix, IEnumerable<string> terms, bool includeRetired = false)
    {
        var match = "{terms context} : (" + string.Join(" OR ", terms.Select(term => $"\"{prefix}{term}\"")) + ")";
        if (filter is not null)
        {
            match = $"{match} AND {filter}";
        }

        return includeRetired ? match : match + " NOT scope : \"retired\"";
    }

    private async Task<Dictionary<string, long>> DocumentFrequenciesAsync(SqliteConnection connection, string userId, string prefix, IReadOnlyList<string> terms, CancellationToken cancellationToken)
    {
        var cache = _frequencies.GetOrAdd(userId, _ => new FrequencyCache());
        var frequencies = new Dictionary<string, long>(StringComparer.Ordinal);
        var missing = new List<string>(terms.Count);
        long version;
        bool cacheable;
        lock (cache)
        {
            version = cache.Version;
            cacheable = cache.WritesInFlight == 0;
            foreach (var term in terms)
            {
                if (cache.Frequencies.TryGetValue(term, out var cached))
                {
                    if (cached > 0)
                    {
                        frequencies[term] = cached;
                    }
                }
                else
                {
                    missing.Add(term);
                }
            }
        }

        if (missing.Count == 0)
        {
            return frequencies;
        }

        // One equality lookup per term: fts5vocab answers "term = ?" by seeking, but "term IN (...)" may scan.
        var read = new long[missing.Count];
        await using (var command = Command(connection, null, "SELECT doc FROM memories_vocab WHERE term = $term;"))
        {
            var parameter = command.Parameters.Add("$term", SqliteType.Text);
            for (var index = 0; index < missing.Count; index++)
            {
                parameter.Value = prefix + missing[index];
                if (await command.ExecuteScalarAsync(cancellationToken) is long frequency)
                {
                    read[index] = frequency;
                    frequencies[missing[index]] = frequency;
                }
            }
        }

        lock (cache)
        {
            if (cacheable && cache.Version == version && cache.WritesInFlight == 0)
            {
                if (cache.Frequencies.Count + missing.Count > MaxCachedTermsPerUser)
                {
                    cache.Frequencies.Clear();
                }

                for (var index = 0; index < missing.Count; index++)
                {
                    cache.Frequencies[missing[index]] = read[index];
                }
            }
        }

        return frequencies;
    }

    private static async Task ReadCandidatesAsync(SqliteConnection connection, string userId, long now, string match, string order, int limit,
        Dictionary<Guid, Memory> candidates, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        // CROSS JOIN keeps the FTS sub-query as the outer loop: left to itself the planner scans all of the user's rows
        // by the user index and probes the sub-query for each (half a second at 100,000 memories).
        command.CommandText = $"""
            SELECT {Columns} FROM (
                SELECT rowid FROM memories_fts WHERE memories_fts MATCH $match ORDER BY {order} LIMIT $limit) f
            CROSS JOIN memories m ON m.seq = f.rowid
            WHERE m.user_id=$user AND (m.expires_at IS NULL OR m.expires_at>$now);
            """;
        command.Parameters.AddWithValue("$match", match);
        command.Parameters.AddWithValue("$limit", limit);
        command.Parameters.AddWithValue("$user", userId);
        command.Parameters.AddWithValue("$now", now);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var memory = Read(reader, userId);
            candidates.TryAdd(memory.Id, memory);
        }
    }

    public async Task<Memory?> UpdateAsync(string userId, Guid id, MemoryCorrection correction, CancellationToken cancellationToken = default)
    {
        MemoryValidation.ValidateUserId(userId);
        ArgumentNullException.ThrowIfNull(correction);
        EnsureInitialized();
        Memory? existing;
        await using (var connection = await OpenAsync(cancellationToken))
        {
            existing = await GetCoreAsync(connection, null, userId, id, cancellationToken);
        }

        if (existing is null)
        {
            return null;
        }

        var corrected = MemoryValidation.Apply(existing, correction, _timeProvider.GetUtcNow());
        // A user's correction replaces what was said; the old words must not survive in the file either.
        await UpsertManyCoreAsync(userId, [corrected], cancellationToken, purge: !string.Equals(existing.Text, corrected.Text, StringComparison.Ordinal));
        return corrected;
    }

    public async Task<bool> DeleteAsync(string userId, Guid id, CancellationToken cancellationToken = default)
    {
        MemoryValidation.ValidateUserId(userId);
        EnsureInitialized();
        return await DeleteWhereAsync("id=$id AND user_id=$user", userId, id, cancellationToken) > 0;
    }

    public async Task<int> DeleteAllAsync(string userId, CancellationToken cancellationToken = default)
    {
        MemoryValidation.ValidateUserId(userId);
        EnsureInitialized();
        return await DeleteWhereAsync("user_id=$user", userId, null, cancellationToken);
    }

    private async Task<int> DeleteWhereAsync(string where, string userId, Guid? id, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken);
        var frequencyCache = BeginFrequencyWrite(userId);
        try
        {
            int deleted;
            await using var connection = await OpenWriterAsync(cancellationToken);
            await using (var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken))
            {
                await using var command = Command(connection, transaction,
                    $"SELECT count(*), total(term_count + {Bm25.ContextWeight.ToString(CultureInfo.InvariantCulture)} * context_count) FROM memories WHERE {where};");
                command.Parameters.AddWithValue("$user", userId);
                if (id is { } value)
                {
                    command.Parameters.AddWithValue("$id", value.ToString("D"));
                }

                double removedLength;
                await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
                {
                    await reader.ReadAsync(cancellationToken);
                    deleted = (int)reader.GetInt64(0);
                    removedLength = reader.GetDouble(1);
                }

                command.CommandText = $"DELETE FROM memories_fts WHERE rowid IN (SELECT seq FROM memories WHERE {where}); DELETE FROM memories WHERE {where};";
                await command.ExecuteNonQueryAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                AdjustStatistics(userId, -deleted, -removedLength);
            }

            if (deleted > 0)
            {
                await PurgeAsync(connection, cancellationToken);
            }

            return deleted;
        }
        finally
        {
            EndFrequencyWrite(frequencyCache, null);
            _writeGate.Release();
        }
    }

    /// <summary>
    /// Makes removed text physically unrecoverable from the file: FTS5 keeps a deleted term in the segment it was
    /// first written to, so the index is rewritten into one segment ('optimize'; with <c>secure_delete</c> the old
    /// pages are zeroed), then the write-ahead log is copied back and emptied so no old page survives in -wal.
    /// </summary>
    private static async Task PurgeAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await ExecuteAsync(connection, "INSERT INTO memories_fts(memories_fts) VALUES('optimize');", cancellationToken);
        await ExecuteAsync(connection, "PRAGMA wal_checkpoint(TRUNCATE);", cancellationToken);
    }

    public async IAsyncEnumerable<Memory> ReadAllAsync(string userId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        MemoryValidation.ValidateUserId(userId);
        EnsureInitialized();
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT {Columns} FROM memories m WHERE m.user_id=$user ORDER BY m.created_at, m.seq;");
        command.Parameters.AddWithValue("$user", userId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return Read(reader, userId);
        }
    }

    /// <summary>A memory from a row of <see cref="Columns"/>; every query is scoped to <paramref name="userId"/>, whose string is reused.</summary>
    private static Memory Read(SqliteDataReader reader, string userId)
    {
        float[]? embedding = null;
        if (!reader.IsDBNull(14))
        {
            var bytes = (byte[])reader.GetValue(14);
            embedding = MemoryMarshal.Cast<byte, float>(bytes).ToArray();
        }

        return new Memory
        {
            Id = Guid.Parse(reader.GetString(0)),
            UserId = userId,
            Kind = (MemoryKind)reader.GetInt32(2),
            Text = reader.GetString(3),
            CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
            UpdatedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
            EventDate = reader.IsDBNull(6) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
            ExpiresAt = reader.IsDBNull(7) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)),
            Provenance = JsonSerializer.Deserialize(reader.GetString(8), MemoryJsonContext.Default.IReadOnlyListString) ?? [],
            Confidence = reader.GetDouble(9),
            Importance = reader.GetDouble(10),
            EmotionalWeight = reader.GetDouble(11),
            SupersededBy = reader.IsDBNull(12) ? null : Guid.Parse(reader.GetString(12)),
            IsRetired = reader.GetInt64(13) != 0,
            Embedding = embedding,
            SearchContext = reader.IsDBNull(15) ? null : reader.GetString(15),
        };
    }

    private static string UserPrefix(string userId) => LexicalSearch.UserPrefix(userId);

    [ThreadStatic]
    private static StringBuilder? t_prefixed;

    private static string Prefixed(string prefix, IReadOnlyList<string> terms)
    {
        // Called on the single writer's thread for every indexed memory: its buffer is reused.
        var builder = t_prefixed ??= new StringBuilder(4096);
        builder.Clear();
        foreach (var term in terms)
        {
            builder.Append(prefix).Append(term).Append(' ');
        }

        var text = builder.ToString();
        if (builder.Capacity > 65536)
        {
            t_prefixed = null;
        }

        return text;
    }

    private static string KindToken(MemoryKind kind) => "kind" + ((int)kind).ToString(CultureInfo.InvariantCulture);

    private static string ScopeText(Memory memory) => ScopeText(memory.Kind, memory.IsRetired);

    private static string ScopeText(MemoryKind kind, bool retired) => retired ? $"{KindToken(kind)} retired" : KindToken(kind);

    private void EnsureInitialized()
    {
        if (!_initialized)
        {
            throw new InvalidOperationException("Call InitializeAsync before using the memory store.");
        }
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        if (connection.Handle is { } handle && !_configuredHandles.TryGetValue(handle, out _))
        {
            // Once per pooled database handle (the pool keeps handles, and their settings, between opens).
            await ExecuteAsync(connection, string.Create(CultureInfo.InvariantCulture, $"PRAGMA mmap_size={MemoryMappedBytes};"), cancellationToken);
            _configuredHandles.AddOrUpdate(handle, handle);
        }

        return connection;
    }

    /// <summary>
    /// The part of the file each connection reads through memory-mapped I/O (256 MiB): a search reads 50–100 rows at
    /// random places of a large file; mapped pages are read in place instead of being copied into each pooled
    /// connection's own 2 MiB page cache, which at 100,000 memories (36 MB) missed on most rows.
    /// </summary>
    private const long MemoryMappedBytes = 256L * 1024 * 1024;

    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, SQLitePCL.sqlite3> _configuredHandles = new();

    private async Task<SqliteConnection> OpenWriterAsync(CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, "PRAGMA secure_delete=ON; PRAGMA synchronous=NORMAL;", cancellationToken);
        return connection;
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string text)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = text;
        return command;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string text, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, null, text);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<object?> ScalarAsync(SqliteConnection connection, string text, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, null, text);
        return await command.ExecuteScalarAsync(cancellationToken);
    }

    public ValueTask DisposeAsync()
    {
        _writer?.Dispose();
        _writer = null;
        _writeGate.Dispose();
        // Close this file's pooled connections so the file can be moved, deleted or reopened at once.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The memory database {Path} was damaged; it was moved to {MovedTo} and a new one was created.")]
    private static partial void LogCorruptMovedAside(ILogger logger, string path, string movedTo, Exception exception);
}
