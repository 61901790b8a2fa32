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
                search_context TEXT);
            CREATE INDEX IF NOT EXISTS memories_user_created ON memories(user_id, created_at);
            CREATE INDEX IF NOT EXISTS memories_user_importance ON memories(user_id, importance);
            CREATE INDEX IF NOT EXISTS memories_user_event ON memories(user_id, event_at) WHERE event_at IS NOT NULL;
            CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts USING fts5(
                scope, terms, context, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 0');
            INSERT INTO memories_fts(memories_fts, rank) VALUES('rank', 'bm25(0.0, 1.0, 0.35)');
            INSERT INTO memories_fts(memories_fts, rank) VALUES('secure-delete', 1);
            """, cancellationToken);
        await ExecuteAsync(connection, string.Create(CultureInfo.InvariantCulture, $"PRAGMA user_version={SchemaVersion};"), cancellationToken);
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

    private async Task UpsertManyCoreAsync(string userId, IReadOnlyList<Memory> memories, CancellationToken cancellationToken, bool purge = false)
    {
        EnsureInitialized();
        if (memories.Count == 0)
        {
            return;
        }

        var scope = ScopeToken(userId);
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenWriterAsync(cancellationToken);
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            await using var find = Command(connection, transaction, "SELECT seq, user_id FROM memories WHERE id = $id;");
            var findId = find.Parameters.Add("$id", SqliteType.Text);
            await using var insert = Command(connection, transaction, """
                INSERT INTO memories(id, user_id, kind, text, created_at, updated_at, event_at, expires_at, provenance,
                    confidence, importance, emotional_weight, superseded_by, retired, embedding, search_context)
                VALUES($id, $user, $kind, $text, $created, $updated, $event, $expires, $provenance,
                    $confidence, $importance, $emotional, $superseded, $retired, $embedding, $context)
                RETURNING seq;
                """);
            await using var update = Command(connection, transaction, """
                UPDATE memories SET kind=$kind, text=$text, created_at=$created, updated_at=$updated, event_at=$event,
                    expires_at=$expires, provenance=$provenance, confidence=$confidence, importance=$importance,
                    emotional_weight=$emotional, superseded_by=$superseded, retired=$retired, embedding=$embedding,
                    search_context=$context
                WHERE seq=$seq;
                """);
            await using var deleteIndex = Command(connection, transaction, "DELETE FROM memories_fts WHERE rowid=$seq;");
            await using var insertIndex = Command(connection, transaction,
                "INSERT INTO memories_fts(rowid, scope, terms, context) VALUES($seq, $scope, $terms, $contextTerms);");
            foreach (var memory in memories)
            {
                cancellationToken.ThrowIfCancellationRequested();
                findId.Value = memory.Id.ToString("D");
                long? existing = null;
                await using (var reader = await find.ExecuteReaderAsync(cancellationToken))
                {
                    if (await reader.ReadAsync(cancellationToken))
                    {
                        if (!string.Equals(reader.GetString(1), userId, StringComparison.Ordinal))
                        {
                            throw new ArgumentException("A memory with this id already exists for a different user.", nameof(memories));
                        }

                        existing = reader.GetInt64(0);
                    }
                }

                long seq;
                if (existing is { } found)
                {
                    Bind(update, memory, userId);
                    update.Parameters.AddWithValue("$seq", found);
                    await update.ExecuteNonQueryAsync(cancellationToken);
                    update.Parameters.Clear();
                    deleteIndex.Parameters.Clear();
                    deleteIndex.Parameters.AddWithValue("$seq", found);
                    await deleteIndex.ExecuteNonQueryAsync(cancellationToken);
                    seq = found;
                }
                else
                {
                    Bind(insert, memory, userId);
                    seq = (long)(await insert.ExecuteScalarAsync(cancellationToken))!;
                    insert.Parameters.Clear();
                }

                insertIndex.Parameters.Clear();
                insertIndex.Parameters.AddWithValue("$seq", seq);
                insertIndex.Parameters.AddWithValue("$scope", ScopeText(scope, memory));
                insertIndex.Parameters.AddWithValue("$terms", MemoryTextAnalyzer.ToIndexText(memory.Text));
                insertIndex.Parameters.AddWithValue("$contextTerms", MemoryTextAnalyzer.ToIndexText(memory.SearchContext));
                await insertIndex.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            if (purge)
            {
                await PurgeAsync(connection, cancellationToken);
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private static void Bind(SqliteCommand command, Memory memory, string userId)
    {
        var parameters = command.Parameters;
        parameters.AddWithValue("$id", memory.Id.ToString("D"));
        parameters.AddWithValue("$user", userId);
        parameters.AddWithValue("$kind", (int)memory.Kind);
        parameters.AddWithValue("$text", memory.Text);
        parameters.AddWithValue("$created", memory.CreatedAt.ToUnixTimeMilliseconds());
        parameters.AddWithValue("$updated", memory.UpdatedAt.ToUnixTimeMilliseconds());
        parameters.AddWithValue("$event", (object?)memory.EventDate?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        parameters.AddWithValue("$expires", (object?)memory.ExpiresAt?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        parameters.AddWithValue("$provenance", JsonSerializer.Serialize(memory.Provenance, MemoryJsonContext.Default.IReadOnlyListString));
        parameters.AddWithValue("$confidence", memory.Confidence);
        parameters.AddWithValue("$importance", memory.Importance);
        parameters.AddWithValue("$emotional", memory.EmotionalWeight);
        parameters.AddWithValue("$superseded", (object?)memory.SupersededBy?.ToString("D") ?? DBNull.Value);
        parameters.AddWithValue("$retired", memory.IsRetired ? 1 : 0);
        parameters.Add("$embedding", SqliteType.Blob).Value = memory.Embedding is { } embedding
            ? MemoryMarshal.AsBytes(embedding.AsSpan()).ToArray()
            : DBNull.Value;
        parameters.AddWithValue("$context", (object?)memory.SearchContext ?? DBNull.Value);
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
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
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
        var items = new List<Memory>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                items.Add(Read(reader));
            }
        }

        long? total = null;
        if (query.IncludeTotal)
        {
            command.CommandText = $"SELECT COUNT(*) FROM memories m WHERE {where};";
            total = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        }

        return new MemoryPage(items, total, query.Offset);
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

        var match = new StringBuilder();
        match.Append("scope : \"").Append(ScopeToken(userId)).Append("\" AND (");
        match.AppendJoin(" OR ", terms.Select(term => $"\"{term}\""));
        match.Append(')');
        if (query.Kinds is { Count: > 0 } kinds)
        {
            match.Append(" AND scope : (").AppendJoin(" OR ", kinds.Select(kind => KindToken(kind))).Append(')');
        }

        if (!query.IncludeRetired)
        {
            match.Append(" NOT scope : \"retired\"");
        }

        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        // Over-fetch a little: expired rows are dropped after the join (expiry is a time, not an indexed token).
        command.CommandText = $"""
            SELECT {Columns}, f.rank FROM (
                SELECT rowid, rank FROM memories_fts WHERE memories_fts MATCH $match ORDER BY rank LIMIT $fetch) f
            JOIN memories m ON m.seq = f.rowid
            WHERE m.user_id=$user AND (m.expires_at IS NULL OR m.expires_at>$now)
            ORDER BY f.rank LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$match", match.ToString());
        command.Parameters.AddWithValue("$fetch", query.Limit + 16);
        command.Parameters.AddWithValue("$limit", query.Limit);
        command.Parameters.AddWithValue("$user", userId);
        command.Parameters.AddWithValue("$now", _timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        var hits = new List<MemorySearchHit>(query.Limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            // FTS5's bm25() is negative, better matches more negative; report it positive, higher is better.
            hits.Add(new MemorySearchHit(Read(reader), -reader.GetDouble(16)));
        }

        return hits;
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
        try
        {
            int deleted;
            await using var connection = await OpenWriterAsync(cancellationToken);
            await using (var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken))
            {
                await using var command = Command(connection, transaction,
                    $"DELETE FROM memories_fts WHERE rowid IN (SELECT seq FROM memories WHERE {where}); DELETE FROM memories WHERE {where};");
                command.Parameters.AddWithValue("$user", userId);
                if (id is { } value)
                {
                    command.Parameters.AddWithValue("$id", value.ToString("D"));
                }

                await command.ExecuteNonQueryAsync(cancellationToken);
                command.CommandText = "SELECT changes();";
                deleted = (int)(long)(await command.ExecuteScalarAsync(cancellationToken))!;
                await transaction.CommitAsync(cancellationToken);
            }

            if (deleted > 0)
            {
                await PurgeAsync(connection, cancellationToken);
            }

            return deleted;
        }
        finally
        {
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
            yield return Read(reader);
        }
    }

    private static Memory Read(SqliteDataReader reader)
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
            UserId = reader.GetString(1),
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

    /// <summary>The token that marks a user's rows in the index: hex of a SHA-256 prefix of the user id (ids may hold any characters).</summary>
    private static string ScopeToken(string userId)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(userId), hash);
        return "u" + Convert.ToHexStringLower(hash[..16]);
    }

    private static string KindToken(MemoryKind kind) => "kind" + ((int)kind).ToString(CultureInfo.InvariantCulture);

    private static string ScopeText(string scope, Memory memory) =>
        memory.IsRetired ? $"{scope} {KindToken(memory.Kind)} retired" : $"{scope} {KindToken(memory.Kind)}";

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
        return connection;
    }

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
        _writeGate.Dispose();
        SqliteConnection.ClearPool(new SqliteConnection(_connectionString));
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The memory database {Path} was damaged; it was moved to {MovedTo} and a new one was created.")]
    private static partial void LogCorruptMovedAside(ILogger logger, string path, string movedTo, Exception exception);
}
