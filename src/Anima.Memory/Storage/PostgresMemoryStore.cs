using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Anima.Memory.Text;
using Npgsql;
using NpgsqlTypes;

namespace Anima.Memory.Storage;

/// <summary>
/// The cluster-mode memory store on PostgreSQL. Full-text search uses a GIN-indexed <c>tsvector</c> of the
/// <see cref="MemoryTextAnalyzer"/> terms, each prefixed per user as in <see cref="SqliteMemoryStore"/> (so a search
/// reads only that user's postings), and ranks exactly as the SQLite store does (<see cref="LexicalSearch"/>): the
/// user's document frequencies and statistics are kept in two side tables (<c>TABLE_vocab</c>, <c>TABLE_stats</c>)
/// by every write, candidates are the matches of the query's rare terms plus the newest matches of its common terms,
/// and they are scored with BM25F (<see cref="Bm25"/>) in C#. Embeddings are <c>real[]</c>; similarity is computed in
/// C# over candidates, so pgvector is not required.
/// <para>Every write for a user holds a transaction-scoped advisory lock for that user, so the side tables stay
/// exact under concurrent writes from several nodes. Deletion removes the row, its index entries and its share of the
/// statistics in one transaction; PostgreSQL reclaims the dead tuples at the next (auto)vacuum.</para>
/// </summary>
public sealed class PostgresMemoryStore : IMemoryStore
{
    private const string Columns =
        "id, user_id, kind, text, created_at, updated_at, event_at, expires_at, provenance, confidence, importance, " +
        "emotional_weight, superseded_by, retired, embedding, search_context";

    /// <summary>The most rows the rare-term candidate query reads (the rare terms hold at most
    /// <see cref="LexicalSearch.RankedPostingBudget"/> postings; this bounds it should the statistics drift).</summary>
    private const int RareCandidateLimit = 4 * LexicalSearch.RankedPostingBudget;

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly TimeProvider _timeProvider;
    private readonly string _table;
    private readonly string _vocab;
    private readonly string _stats;

    /// <summary>Creates a store over <paramref name="dataSource"/> (not disposed by the store).</summary>
    /// <param name="tableName">The table to use, letters, digits and underscores (optionally schema-qualified).</param>
    public PostgresMemoryStore(NpgsqlDataSource dataSource, TimeProvider? timeProvider = null, string tableName = "anima_memories")
        : this(dataSource, ownsDataSource: false, timeProvider, tableName)
    {
    }

    /// <summary>Creates a store from a connection string; the store owns and disposes its data source.</summary>
    public PostgresMemoryStore(string connectionString, TimeProvider? timeProvider = null, string tableName = "anima_memories")
        : this(NpgsqlDataSource.Create(connectionString), ownsDataSource: true, timeProvider, tableName)
    {
    }

    private PostgresMemoryStore(NpgsqlDataSource dataSource, bool ownsDataSource, TimeProvider? timeProvider, string tableName)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentException.ThrowIfNullOrWhiteSpace(tableName);
        if (!tableName.All(letter => char.IsAsciiLetterOrDigit(letter) || letter is '_' or '.'))
        {
            throw new ArgumentException("The table name may hold only ASCII letters, digits, '_' and '.'.", nameof(tableName));
        }

        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _table = tableName;
        _vocab = tableName + "_vocab";
        _stats = tableName + "_stats";
    }

    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        var indexPrefix = _table.Replace('.', '_');
        await using var command = _dataSource.CreateCommand($"""
            CREATE TABLE IF NOT EXISTS {_table}(
                id uuid PRIMARY KEY,
                user_id text NOT NULL,
                kind smallint NOT NULL,
                text text NOT NULL,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                event_at timestamptz,
                expires_at timestamptz,
                provenance text[] NOT NULL,
                confidence double precision NOT NULL,
                importance double precision NOT NULL,
                emotional_weight double precision NOT NULL,
                superseded_by uuid,
                retired boolean NOT NULL,
                embedding real[],
                search_context text,
                search tsvector NOT NULL);
            ALTER TABLE {_table} ADD COLUMN IF NOT EXISTS term_count integer NOT NULL DEFAULT 0;
            ALTER TABLE {_table} ADD COLUMN IF NOT EXISTS context_count integer NOT NULL DEFAULT 0;
            CREATE TABLE IF NOT EXISTS {_vocab}(
                user_id text NOT NULL,
                term text NOT NULL,
                documents bigint NOT NULL,
                PRIMARY KEY(user_id, term));
            CREATE TABLE IF NOT EXISTS {_stats}(
                user_id text PRIMARY KEY,
                documents bigint NOT NULL,
                total_length double precision NOT NULL);
            CREATE INDEX IF NOT EXISTS {indexPrefix}_user_created ON {_table}(user_id, created_at);
            CREATE INDEX IF NOT EXISTS {indexPrefix}_user_importance ON {_table}(user_id, importance);
            CREATE INDEX IF NOT EXISTS {indexPrefix}_user_event ON {_table}(user_id, event_at) WHERE event_at IS NOT NULL;
            CREATE INDEX IF NOT EXISTS {indexPrefix}_search ON {_table} USING gin(search);
            """);
        await command.ExecuteNonQueryAsync(cancellationToken);
        await ReindexIfAnalyzerChangedAsync(cancellationToken);
    }

    /// <summary>The version of the search column's layout and of the side tables (2: per-user prefixed terms, BM25 statistics).</summary>
    private const int IndexLayout = 2;

    /// <summary>The table comment that records which <see cref="MemoryTextAnalyzer.Version"/> and index layout built its search column.</summary>
    private static string AnalyzerComment => string.Create(CultureInfo.InvariantCulture, $"anima memories; analyzer {MemoryTextAnalyzer.Version}; layout {IndexLayout}");

    /// <summary>
    /// Recomputes every row's search column and term counts, and the side tables, when the table was indexed by
    /// another version of <see cref="MemoryTextAnalyzer"/> or another layout (recorded as the table's comment), in one
    /// transaction. Two nodes starting at once are serialised by the table lock; the second finds the work done.
    /// </summary>
    private async Task ReindexIfAnalyzerChangedAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        if (await IsIndexCurrentAsync(connection, null, cancellationToken))
        {
            return;
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockTable = new NpgsqlCommand($"LOCK TABLE {_table} IN SHARE ROW EXCLUSIVE MODE;", connection, transaction))
        {
            await lockTable.ExecuteNonQueryAsync(cancellationToken);
        }

        if (await IsIndexCurrentAsync(connection, transaction, cancellationToken))
        {
            return;
        }

        var rows = new List<(Guid Id, string UserId, string Text, string? Context)>();
        await using (var select = new NpgsqlCommand($"SELECT id, user_id, text, search_context FROM {_table};", connection, transaction))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
            }
        }

        await using (var update = new NpgsqlCommand($"UPDATE {_table} SET search = array_to_tsvector(@search), term_count = @termCount, context_count = @contextCount WHERE id = @id;", connection, transaction))
        {
            var id = update.Parameters.Add("id", NpgsqlDbType.Uuid);
            var search = update.Parameters.Add("search", NpgsqlDbType.Array | NpgsqlDbType.Text);
            var termCount = update.Parameters.Add("termCount", NpgsqlDbType.Integer);
            var contextCount = update.Parameters.Add("contextCount", NpgsqlDbType.Integer);
            await update.PrepareAsync(cancellationToken);
            foreach (var row in rows)
            {
                var indexed = IndexedTerms.Of(row.UserId, row.Text, row.Context);
                id.Value = row.Id;
                search.Value = indexed.Lexemes;
                termCount.Value = indexed.TextCount;
                contextCount.Value = indexed.ContextCount;
                await update.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        // The side tables, counted again from the rows: a term's documents are the rows whose search column holds it.
        await using (var rebuild = new NpgsqlCommand($"""
            DELETE FROM {_vocab};
            DELETE FROM {_stats};
            INSERT INTO {_vocab}(user_id, term, documents)
                SELECT user_id, substr(lexeme, {LexicalSearch.UserPrefixLength + 1}), count(*)
                FROM {_table}, unnest(tsvector_to_array(search)) AS lexeme GROUP BY 1, 2;
            INSERT INTO {_stats}(user_id, documents, total_length)
                SELECT user_id, count(*), sum(term_count + @contextWeight * context_count) FROM {_table} GROUP BY user_id;
            COMMENT ON TABLE {_table} IS '{AnalyzerComment}';
            """, connection, transaction))
        {
            // COMMENT takes no parameters; the text is a constant of this class (digits, letters, ';' and spaces).
            rebuild.Parameters.AddWithValue("contextWeight", Bm25.ContextWeight);
            await rebuild.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private async Task<bool> IsIndexCurrentAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var read = new NpgsqlCommand("SELECT obj_description(to_regclass(@table), 'pg_class');", connection, transaction);
        read.Parameters.AddWithValue("table", _table);
        return await read.ExecuteScalarAsync(cancellationToken) is string comment && string.Equals(comment, AnalyzerComment, StringComparison.Ordinal);
    }

    /// <summary>A memory's index entry: its distinct terms, prefixed per user, as a <c>tsvector</c>, and its term counts.</summary>
    private readonly record struct IndexedTerms(string[] Lexemes, IReadOnlyList<string> Distinct, int TextCount, int ContextCount)
    {
        public static IndexedTerms Of(string userId, string text, string? context)
        {
            var textTerms = MemoryTextAnalyzer.Analyze(text, distinct: false);
            var contextTerms = MemoryTextAnalyzer.Analyze(context, distinct: false);
            var distinct = new SortedSet<string>(textTerms, StringComparer.Ordinal);
            distinct.UnionWith(contextTerms);
            var prefix = LexicalSearch.UserPrefix(userId);
            return new IndexedTerms(distinct.Select(term => prefix + term).ToArray(), distinct.ToArray(), textTerms.Count, contextTerms.Count);
        }
    }

    /// <summary>The change a write makes to a user's statistics: documents and weighted length, and each term's documents.</summary>
    private sealed class StatisticsDelta
    {
        public long Documents;
        public double Length;
        public readonly Dictionary<string, long> Terms = new(StringComparer.Ordinal);

        public void Add(IEnumerable<string> distinctTerms, int textCount, int contextCount, int sign)
        {
            Documents += sign;
            Length += sign * Bm25.Length(textCount, contextCount);
            foreach (var term in distinctTerms)
            {
                Terms[term] = Terms.GetValueOrDefault(term) + sign;
            }
        }

        public void AddIndexed(NpgsqlTsVector search, int textCount, int contextCount, int sign) =>
            Add(Unprefixed(search), textCount, contextCount, sign);

        public static string[] Unprefixed(NpgsqlTsVector search) =>
            search.Select(lexeme => lexeme.Text.Length > LexicalSearch.UserPrefixLength ? lexeme.Text[LexicalSearch.UserPrefixLength..] : lexeme.Text).ToArray();
    }

    /// <summary>Takes the transaction-scoped lock that serialises writes for one user on this table (all nodes).</summary>
    private async Task LockUserAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, CancellationToken cancellationToken)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(_table + "\n" + userId), hash);
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key);", connection, transaction);
        command.Parameters.AddWithValue("key", BitConverter.ToInt64(hash[..8]));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Applies <paramref name="delta"/> to the user's side-table rows, terms in a fixed order.</summary>
    private async Task ApplyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, StatisticsDelta delta, CancellationToken cancellationToken)
    {
        var changed = delta.Terms.Where(pair => pair.Value != 0).OrderBy(pair => pair.Key, StringComparer.Ordinal).ToArray();
        await using var command = new NpgsqlCommand($"""
            INSERT INTO {_vocab}(user_id, term, documents) SELECT @user, term, documents FROM unnest(@terms, @counts) AS change(term, documents)
                ON CONFLICT (user_id, term) DO UPDATE SET documents = {_vocab}.documents + excluded.documents;
            DELETE FROM {_vocab} WHERE user_id = @user AND term = ANY(@terms) AND documents <= 0;
            INSERT INTO {_stats}(user_id, documents, total_length) VALUES(@user, @documents, @length)
                ON CONFLICT (user_id) DO UPDATE SET documents = {_stats}.documents + excluded.documents,
                    total_length = {_stats}.total_length + excluded.total_length;
            """, connection, transaction);
        command.Parameters.AddWithValue("user", userId);
        command.Parameters.AddWithValue("terms", changed.Select(pair => pair.Key).ToArray());
        command.Parameters.AddWithValue("counts", changed.Select(pair => pair.Value).ToArray());
        command.Parameters.AddWithValue("documents", delta.Documents);
        command.Parameters.AddWithValue("length", delta.Length);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task UpsertAsync(string userId, Memory memory, CancellationToken cancellationToken = default) =>
        await UpsertManyCoreAsync(userId, [MemoryValidation.Normalize(userId, memory)], cancellationToken);

    public async Task UpsertManyAsync(string userId, IReadOnlyList<Memory> memories, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(memories);
        await UpsertManyCoreAsync(userId, memories.Select(memory => MemoryValidation.Normalize(userId, memory)).ToArray(), cancellationToken);
    }

    private async Task UpsertManyCoreAsync(string userId, IReadOnlyList<Memory> memories, CancellationToken cancellationToken)
    {
        if (memories.Count == 0)
        {
            return;
        }

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockUserAsync(connection, transaction, userId, cancellationToken);

        // The rows these ids already have (any user's: an id of another user's memory is refused below).
        var existing = new Dictionary<Guid, (string UserId, IReadOnlyList<string> Terms, int TextCount, int ContextCount)>();
        await using (var find = new NpgsqlCommand($"SELECT id, user_id, search, term_count, context_count FROM {_table} WHERE id = ANY(@ids) ORDER BY id FOR UPDATE;", connection, transaction))
        {
            find.Parameters.AddWithValue("ids", memories.Select(memory => memory.Id).Distinct().ToArray());
            await using var reader = await find.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                existing[reader.GetGuid(0)] = (reader.GetString(1), StatisticsDelta.Unprefixed(reader.GetFieldValue<NpgsqlTsVector>(2)), reader.GetInt32(3), reader.GetInt32(4));
            }
        }

        await using var insert = new NpgsqlCommand($"""
            INSERT INTO {_table}({Columns}, search, term_count, context_count)
            VALUES(@id, @user, @kind, @text, @created, @updated, @event, @expires, @provenance, @confidence, @importance,
                @emotional, @superseded, @retired, @embedding, @context, array_to_tsvector(@search), @termCount, @contextCount)
            ON CONFLICT (id) DO UPDATE SET kind=excluded.kind, text=excluded.text, created_at=excluded.created_at,
                updated_at=excluded.updated_at, event_at=excluded.event_at, expires_at=excluded.expires_at,
                provenance=excluded.provenance, confidence=excluded.confidence, importance=excluded.importance,
                emotional_weight=excluded.emotional_weight, superseded_by=excluded.superseded_by, retired=excluded.retired,
                embedding=excluded.embedding, search_context=excluded.search_context, search=excluded.search,
                term_count=excluded.term_count, context_count=excluded.context_count
            WHERE {_table}.user_id = excluded.user_id;
            """, connection, transaction);
        var parameters = insert.Parameters;
        var id = parameters.Add("id", NpgsqlDbType.Uuid);
        var user = parameters.Add("user", NpgsqlDbType.Text);
        var kind = parameters.Add("kind", NpgsqlDbType.Smallint);
        var text = parameters.Add("text", NpgsqlDbType.Text);
        var created = parameters.Add("created", NpgsqlDbType.TimestampTz);
        var updated = parameters.Add("updated", NpgsqlDbType.TimestampTz);
        var eventAt = parameters.Add("event", NpgsqlDbType.TimestampTz);
        var expires = parameters.Add("expires", NpgsqlDbType.TimestampTz);
        var provenance = parameters.Add("provenance", NpgsqlDbType.Array | NpgsqlDbType.Text);
        var confidence = parameters.Add("confidence", NpgsqlDbType.Double);
        var importance = parameters.Add("importance", NpgsqlDbType.Double);
        var emotional = parameters.Add("emotional", NpgsqlDbType.Double);
        var superseded = parameters.Add("superseded", NpgsqlDbType.Uuid);
        var retired = parameters.Add("retired", NpgsqlDbType.Boolean);
        var embedding = parameters.Add("embedding", NpgsqlDbType.Array | NpgsqlDbType.Real);
        var context = parameters.Add("context", NpgsqlDbType.Text);
        var search = parameters.Add("search", NpgsqlDbType.Array | NpgsqlDbType.Text);
        var termCount = parameters.Add("termCount", NpgsqlDbType.Integer);
        var contextCount = parameters.Add("contextCount", NpgsqlDbType.Integer);
        await insert.PrepareAsync(cancellationToken);
        var delta = new StatisticsDelta();
        foreach (var memory in memories)
        {
            if (existing.TryGetValue(memory.Id, out var old))
            {
                if (!string.Equals(old.UserId, userId, StringComparison.Ordinal))
                {
                    throw new ArgumentException("A memory with this id already exists for a different user.", nameof(memories));
                }

                delta.Add(old.Terms, old.TextCount, old.ContextCount, -1);
            }

            var indexed = IndexedTerms.Of(userId, memory.Text, memory.SearchContext);
            id.Value = memory.Id;
            user.Value = userId;
            kind.Value = (short)memory.Kind;
            text.Value = memory.Text;
            created.Value = memory.CreatedAt.UtcDateTime;
            updated.Value = memory.UpdatedAt.UtcDateTime;
            eventAt.Value = (object?)memory.EventDate?.UtcDateTime ?? DBNull.Value;
            expires.Value = (object?)memory.ExpiresAt?.UtcDateTime ?? DBNull.Value;
            provenance.Value = memory.Provenance.ToArray();
            confidence.Value = memory.Confidence;
            importance.Value = memory.Importance;
            emotional.Value = memory.EmotionalWeight;
            superseded.Value = (object?)memory.SupersededBy ?? DBNull.Value;
            retired.Value = memory.IsRetired;
            embedding.Value = (object?)memory.Embedding ?? DBNull.Value;
            context.Value = (object?)memory.SearchContext ?? DBNull.Value;
            search.Value = indexed.Lexemes;
            termCount.Value = indexed.TextCount;
            contextCount.Value = indexed.ContextCount;
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                // The conflict update's WHERE refused: the id exists for another user (written since the lookup).
                throw new ArgumentException("A memory with this id already exists for a different user.", nameof(memories));
            }

            delta.Add(indexed.Distinct, indexed.TextCount, indexed.ContextCount, +1);
            // A later memory of this batch with the same id replaces this one.
            existing[memory.Id] = (userId, indexed.Distinct, indexed.TextCount, indexed.ContextCount);
        }

        await ApplyAsync(connection, transaction, userId, delta, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<Memory?> GetAsync(string userId, Guid id, CancellationToken cancellationToken = default)
    {
        MemoryValidation.ValidateUserId(userId);
        await using var command = _dataSource.CreateCommand($"SELECT {Columns} FROM {_table} WHERE id=@id AND user_id=@user;");
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("user", userId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task<MemoryPage> ListAsync(string userId, MemoryListQuery query, CancellationToken cancellationToken = default)
    {
        MemoryValidation.ValidateUserId(userId);
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var where = Where(command, userId, query);
        var order = query.ByImportance ? "importance DESC, created_at DESC" : "created_at DESC, id DESC";
        command.CommandText = $"SELECT {Columns} FROM {_table} WHERE {where} ORDER BY {order} LIMIT @limit OFFSET @offset;";
        command.Parameters.AddWithValue("limit", query.Limit);
        command.Parameters.AddWithValue("offset", query.Offset);
        return await MemoryPaging.ReadAsync<NpgsqlDataReader>(command, $"SELECT COUNT(*) FROM {_table} WHERE {where};", query, Read, cancellationToken);
    }

    public async Task<long> CountAsync(string userId, MemoryListQuery? query = null, CancellationToken cancellationToken = default)
    {
        MemoryValidation.ValidateUserId(userId);
        query ??= new MemoryListQuery { IncludeRetired = true, IncludeExpired = true };
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM {_table} WHERE {Where(command, userId, query)};";
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private string Where(NpgsqlCommand command, string userId, MemoryListQuery query)
    {
        var clauses = new List<string> { "user_id=@user" };
        command.Parameters.AddWithValue("user", userId);
        if (!query.IncludeRetired)
        {
            clauses.Add("NOT retired");
        }

        if (!query.IncludeExpired)
        {
            clauses.Add("(expires_at IS NULL OR expires_at>@now)");
            command.Parameters.AddWithValue("now", _timeProvider.GetUtcNow().UtcDateTime);
        }

        if (query.Kinds is { Count: > 0 } kinds)
        {
            clauses.Add("kind = ANY(@kinds)");
            command.Parameters.AddWithValue("kinds", kinds.Select(kind => (short)kind).ToArray());
        }

        AddRange(command, clauses, "created_at", "createdFrom", ">=", query.CreatedFrom);
        AddRange(command, clauses, "created_at", "createdBefore", "<", query.CreatedBefore);
        AddRange(command, clauses, "event_at", "eventFrom", ">=", query.EventFrom);
        AddRange(command, clauses, "event_at", "eventBefore", "<", query.EventBefore);
        if (query.EventFrom is not null || query.EventBefore is not null)
        {
            clauses.Add("event_at IS NOT NULL");
        }

        return string.Join(" AND ", clauses);
    }

    private static void AddRange(NpgsqlCommand command, List<string> clauses, string column, string parameter, string comparison, DateTimeOffset? value)
    {
        if (value is { } bound)
        {
            clauses.Add($"{column}{comparison}@{parameter}");
            command.Parameters.AddWithValue(parameter, bound.UtcDateTime);
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

        var terms = SearchTerms.FromQuery(query.Text);
        if (terms.Count == 0)
        {
            return [];
        }

        // As in SqliteMemoryStore.SearchAsync: the user's document frequencies split the terms into rare and common
        // ones; every memory holding a rare term, and (when those are too few) the newest holding a common one, are
        // scored with exact BM25 against the user's statistics; only the best Limit rows are then read whole.
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        var frequencies = new Dictionary<string, long>(StringComparer.Ordinal);
        long documentCount = 0;
        var totalLength = 0.0;
        await using (var statistics = new NpgsqlCommand($"""
            SELECT term, documents FROM {_vocab} WHERE user_id=@user AND term = ANY(@terms);
            SELECT documents, total_length FROM {_stats} WHERE user_id=@user;
            """, connection))
        {
            statistics.Parameters.AddWithValue("user", userId);
            statistics.Parameters.AddWithValue("terms", terms.ToArray());
            await using var reader = await statistics.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                frequencies[reader.GetString(0)] = reader.GetInt64(1);
            }

            await reader.NextResultAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                documentCount = reader.GetInt64(0);
                totalLength = reader.GetDouble(1);
            }
        }

        var (present, rare, common) = LexicalSearch.Split(terms, frequencies);
        if (present.Count == 0)
        {
            return [];
        }

        var prefix = LexicalSearch.UserPrefix(userId);
        var candidates = new Dictionary<Guid, (string Text, string? Context, DateTimeOffset Created)>();
        if (rare.Count > 0)
        {
            await ReadCandidatesAsync(connection, userId, query, prefix, rare, "", RareCandidateLimit, candidates, cancellationToken);
        }

        if (common.Count > 0 && candidates.Count < query.Limit)
        {
            await ReadCandidatesAsync(connection, userId, query, prefix, common, "ORDER BY created_at DESC", LexicalSearch.CommonTermCandidates, candidates, cancellationToken);
        }

        var count = Math.Max(1, documentCount);
        var averageLength = totalLength > 0 ? totalLength / count : 1;
        var inverse = LexicalSearch.InverseDocumentFrequencies(present, frequencies, count);
        var scored = new List<(Guid Id, double Score, DateTimeOffset Created)>(candidates.Count);
        foreach (var (candidateId, candidate) in candidates)
        {
            var score = LexicalSearch.Score(inverse, candidate.Text, candidate.Context, averageLength);
            if (score > 0)
            {
                scored.Add((candidateId, score, candidate.Created));
            }
        }

        scored.Sort((left, right) => LexicalSearch.CompareHits(left.Score, left.Created, right.Score, right.Created));
        if (scored.Count > query.Limit)
        {
            scored.RemoveRange(query.Limit, scored.Count - query.Limit);
        }

        if (scored.Count == 0)
        {
            return [];
        }

        var rows = new Dictionary<Guid, Memory>(scored.Count);
        await using (var read = new NpgsqlCommand($"SELECT {Columns} FROM {_table} WHERE user_id=@user AND id = ANY(@ids);", connection))
        {
            read.Parameters.AddWithValue("user", userId);
            read.Parameters.AddWithValue("ids", scored.Select(hit => hit.Id).ToArray());
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var memory = Read(reader);
                rows[memory.Id] = memory;
            }
        }

        return scored.Where(hit => rows.ContainsKey(hit.Id)).Select(hit => new MemorySearchHit(rows[hit.Id], hit.Score)).ToList();
    }

    private async Task ReadCandidatesAsync(NpgsqlConnection connection, string userId, MemorySearchQuery query, string prefix, IReadOnlyList<string> terms,
        string order, int limit, Dictionary<Guid, (string Text, string? Context, DateTimeOffset Created)> candidates, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        var clauses = new List<string> { "user_id=@user", "search @@ @query", "(expires_at IS NULL OR expires_at>@now)" };
        command.Parameters.AddWithValue("user", userId);
        command.Parameters.AddWithValue("now", _timeProvider.GetUtcNow().UtcDateTime);
        // Built as a value, not parsed from text: the prefixed terms are the lexemes, OR-ed together.
        command.Parameters.AddWithValue("query", NpgsqlDbType.TsQuery, AnyOf(terms.Select(term => prefix + term).ToList()));
        command.Parameters.AddWithValue("limit", limit);
        if (!query.IncludeRetired)
        {
            clauses.Add("NOT retired");
        }

        if (query.Kinds is { Count: > 0 } kinds)
        {
            clauses.Add("kind = ANY(@kinds)");
            command.Parameters.AddWithValue("kinds", kinds.Select(kind => (short)kind).ToArray());
        }

        command.CommandText = $"SELECT id, text, search_context, created_at FROM {_table} WHERE {string.Join(" AND ", clauses)} {order} LIMIT @limit;";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            candidates.TryAdd(reader.GetGuid(0), (reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), ReadTime(reader, 3)));
        }
    }

    private static NpgsqlTsQuery AnyOf(IReadOnlyList<string> lexemes)
    {
        NpgsqlTsQuery query = new NpgsqlTsQueryLexeme(lexemes[0]);
        for (var index = 1; index < lexemes.Count; index++)
        {
            query = new NpgsqlTsQueryOr(query, new NpgsqlTsQueryLexeme(lexemes[index]));
        }

        return query;
    }

    public async Task<Memory?> UpdateAsync(string userId, Guid id, MemoryCorrection correction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(correction);
        var existing = await GetAsync(userId, id, cancellationToken);
        if (existing is null)
        {
            return null;
        }

        var corrected = MemoryValidation.Apply(existing, correction, _timeProvider.GetUtcNow());
        await UpsertManyCoreAsync(userId, [corrected], cancellationToken);
        return corrected;
    }

    public async Task<bool> DeleteAsync(string userId, Guid id, CancellationToken cancellationToken = default)
    {
        MemoryValidation.ValidateUserId(userId);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockUserAsync(connection, transaction, userId, cancellationToken);
        var delta = new StatisticsDelta();
        await using (var command = new NpgsqlCommand($"DELETE FROM {_table} WHERE id=@id AND user_id=@user RETURNING search, term_count, context_count;", connection, transaction))
        {
            command.Parameters.AddWithValue("id", id);
            command.Parameters.AddWithValue("user", userId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                delta.AddIndexed(reader.GetFieldValue<NpgsqlTsVector>(0), reader.GetInt32(1), reader.GetInt32(2), -1);
            }
        }

        if (delta.Documents == 0)
        {
            return false;
        }

        await ApplyAsync(connection, transaction, userId, delta, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<int> DeleteAllAsync(string userId, CancellationToken cancellationToken = default)
    {
        MemoryValidation.ValidateUserId(userId);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockUserAsync(connection, transaction, userId, cancellationToken);
        int deleted;
        await using (var command = new NpgsqlCommand($"DELETE FROM {_table} WHERE user_id=@user;", connection, transaction))
        {
            command.Parameters.AddWithValue("user", userId);
            deleted = await command.ExecuteNonQueryAsync(cancellationToken);
        }

        // The user's statistics go with their memories (the lock keeps any write of theirs out meanwhile).
        await using (var command = new NpgsqlCommand($"DELETE FROM {_vocab} WHERE user_id=@user; DELETE FROM {_stats} WHERE user_id=@user;", connection, transaction))
        {
            command.Parameters.AddWithValue("user", userId);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return deleted;
    }

    public async IAsyncEnumerable<Memory> ReadAllAsync(string userId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        MemoryValidation.ValidateUserId(userId);
        await using var command = _dataSource.CreateCommand($"SELECT {Columns} FROM {_table} WHERE user_id=@user ORDER BY created_at, id;");
        command.Parameters.AddWithValue("user", userId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return Read(reader);
        }
    }

    private static Memory Read(NpgsqlDataReader reader) => new()
    {
        Id = reader.GetGuid(0),
        UserId = reader.GetString(1),
        Kind = (MemoryKind)reader.GetInt16(2),
        Text = reader.GetString(3),
        CreatedAt = ReadTime(reader, 4),
        UpdatedAt = ReadTime(reader, 5),
        EventDate = reader.IsDBNull(6) ? null : ReadTime(reader, 6),
        ExpiresAt = reader.IsDBNull(7) ? null : ReadTime(reader, 7),
        Provenance = reader.GetFieldValue<string[]>(8),
        Confidence = reader.GetDouble(9),
        Importance = reader.GetDouble(10),
        EmotionalWeight = reader.GetDouble(11),
        SupersededBy = reader.IsDBNull(12) ? null : reader.GetGuid(12),
        IsRetired = reader.GetBoolean(13),
        Embedding = reader.IsDBNull(14) ? null : reader.GetFieldValue<float[]>(14),
        SearchContext = reader.IsDBNull(15) ? null : reader.GetString(15),
    };

    private static DateTimeOffset ReadTime(NpgsqlDataReader reader, int ordinal) =>
        new(DateTime.SpecifyKind(reader.GetDateTime(ordinal), DateTimeKind.Utc));

    public async ValueTask DisposeAsync()
    {
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync();
        }
    }
}
