using System.Runtime.CompilerServices;
using System.Text;
using Anima.Memory.Text;
using Npgsql;
using NpgsqlTypes;

namespace Anima.Memory.Storage;

/// <summary>
/// The cluster-mode memory store on PostgreSQL. Full-text search uses a <c>tsvector</c> of the
/// <see cref="MemoryTextAnalyzer"/> terms under the <c>simple</c> configuration (the analyser already did
/// the language work, so Korean and English behave exactly as in <see cref="SqliteMemoryStore"/>), ranked with
/// <c>ts_rank</c>. Embeddings are <c>real[]</c>; similarity is computed in C# over candidates, so pgvector is not required.
/// <para>Deletion removes the row and its index entries in one statement; PostgreSQL reclaims the dead tuples at
/// the next (auto)vacuum.</para>
/// </summary>
public sealed class PostgresMemoryStore : IMemoryStore
{
    private const string Columns =
        "id, user_id, kind, text, created_at, updated_at, event_at, expires_at, provenance, confidence, importance, " +
        "emotional_weight, superseded_by, retired, embedding, search_context";

    /// <summary>The newest full-text matches that are ranked per search (bounds the cost of very common words).</summary>
    public const int RankedMatchLimit = 3_000;

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly TimeProvider _timeProvider;
    private readonly string _table;

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
            CREATE INDEX IF NOT EXISTS {indexPrefix}_user_created ON {_table}(user_id, created_at);
            CREATE INDEX IF NOT EXISTS {indexPrefix}_user_importance ON {_table}(user_id, importance);
            CREATE INDEX IF NOT EXISTS {indexPrefix}_user_event ON {_table}(user_id, event_at) WHERE event_at IS NOT NULL;
            CREATE INDEX IF NOT EXISTS {indexPrefix}_search ON {_table} USING gin(search);
            """);
        await command.ExecuteNonQueryAsync(cancellationToken);
        await ReindexIfAnalyzerChangedAsync(cancellationToken);
    }

    /// <summary>The table comment that records which <see cref="MemoryTextAnalyzer.Version"/> built its search column.</summary>
    private static string AnalyzerComment => $"anima memories; analyzer {MemoryTextAnalyzer.Version}";

    /// <summary>
    /// Recomputes every row's search column when the table was indexed by another version of
    /// <see cref="MemoryTextAnalyzer"/> (recorded as the table's comment; a table without one counts as version 1), in
    /// one transaction. Two nodes starting at once may both do it; the result is the same.
    /// </summary>
    private async Task ReindexIfAnalyzerChangedAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using (var read = new NpgsqlCommand("SELECT obj_description(to_regclass(@table), 'pg_class');", connection))
        {
            read.Parameters.AddWithValue("table", _table);
            if (await read.ExecuteScalarAsync(cancellationToken) is string comment && string.Equals(comment, AnalyzerComment, StringComparison.Ordinal))
            {
                return;
            }
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var rows = new List<(Guid Id, string Text, string? Context)>();
        await using (var select = new NpgsqlCommand($"SELECT id, text, search_context FROM {_table} FOR UPDATE;", connection, transaction))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((reader.GetGuid(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
            }
        }

        await using (var update = new NpgsqlCommand($"""
            UPDATE {_table} SET search = setweight(to_tsvector('simple', @terms), 'A') || setweight(to_tsvector('simple', @contextTerms), 'B')
            WHERE id = @id;
            """, connection, transaction))
        {
            var id = update.Parameters.Add("id", NpgsqlDbType.Uuid);
            var terms = update.Parameters.Add("terms", NpgsqlDbType.Text);
            var contextTerms = update.Parameters.Add("contextTerms", NpgsqlDbType.Text);
            await update.PrepareAsync(cancellationToken);
            foreach (var row in rows)
            {
                id.Value = row.Id;
                terms.Value = MemoryTextAnalyzer.ToIndexText(row.Text);
                contextTerms.Value = MemoryTextAnalyzer.ToIndexText(row.Context);
                await update.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        // COMMENT takes no parameters; the text is a constant of this class (digits and letters only).
        await using (var record = new NpgsqlCommand($"COMMENT ON TABLE {_table} IS '{AnalyzerComment}';", connection, transaction))
        {
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
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
        await using var command = new NpgsqlCommand($"""
            INSERT INTO {_table}({Columns}, search)
            VALUES(@id, @user, @kind, @text, @created, @updated, @event, @expires, @provenance, @confidence, @importance,
                @emotional, @superseded, @retired, @embedding, @context,
                setweight(to_tsvector('simple', @terms), 'A') || setweight(to_tsvector('simple', @contextTerms), 'B'))
            ON CONFLICT (id) DO UPDATE SET kind=excluded.kind, text=excluded.text, created_at=excluded.created_at,
                updated_at=excluded.updated_at, event_at=excluded.event_at, expires_at=excluded.expires_at,
                provenance=excluded.provenance, confidence=excluded.confidence, importance=excluded.importance,
                emotional_weight=excluded.emotional_weight, superseded_by=excluded.superseded_by, retired=excluded.retired,
                embedding=excluded.embedding, search_context=excluded.search_context, search=excluded.search
            WHERE {_table}.user_id = excluded.user_id;
            """, connection, transaction);
        var parameters = command.Parameters;
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
        var terms = parameters.Add("terms", NpgsqlDbType.Text);
        var contextTerms = parameters.Add("contextTerms", NpgsqlDbType.Text);
        await command.PrepareAsync(cancellationToken);
        foreach (var memory in memories)
        {
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
            terms.Value = MemoryTextAnalyzer.ToIndexText(memory.Text);
            contextTerms.Value = MemoryTextAnalyzer.ToIndexText(memory.SearchContext);
            if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                // The conflict update's WHERE refused: the id exists for another user.
                throw new ArgumentException("A memory with this id already exists for a different user.", nameof(memories));
            }
        }

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

        // Each term is letters and digits only (the analyser guarantees it); quoting keeps tsquery syntax out of it.
        var tsQuery = new StringBuilder().AppendJoin(" | ", terms.Select(term => $"'{term}'")).ToString();
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var clauses = new List<string> { "user_id=@user", "search @@ q", "(expires_at IS NULL OR expires_at>@now)" };
        command.Parameters.AddWithValue("user", userId);
        command.Parameters.AddWithValue("now", _timeProvider.GetUtcNow().UtcDateTime);
        command.Parameters.AddWithValue("query", tsQuery);
        command.Parameters.AddWithValue("limit", query.Limit);
        // Weights of D, C, B (search context) and A (the memory's own text), as in SQLite's bm25 column weights.
        command.Parameters.AddWithValue("weights", new[] { 0.1f, 0.2f, 0.5f, 1.0f });
        if (!query.IncludeRetired)
        {
            clauses.Add("NOT retired");
        }

        if (query.Kinds is { Count: > 0 } kinds)
        {
            clauses.Add("kind = ANY(@kinds)");
            command.Parameters.AddWithValue("kinds", kinds.Select(kind => (short)kind).ToArray());
        }

        // Rank only ids (a sort carrying every column of tens of thousands of matches is what made this slow), and
        // only the newest RankedMatchLimit matches: a word common enough to match more is old news at best.
        command.Parameters.AddWithValue("matches", RankedMatchLimit);
        command.CommandText = $"""
            WITH matches AS (
                SELECT id, search, created_at FROM {_table}, to_tsquery('simple', @query) q
                WHERE {string.Join(" AND ", clauses)}
                ORDER BY created_at DESC LIMIT @matches),
            ranked AS (
                SELECT id, ts_rank(@weights, search, to_tsquery('simple', @query), 1) AS score, created_at FROM matches
                ORDER BY score DESC, created_at DESC LIMIT @limit)
            SELECT {string.Join(", ", Columns.Split(", ").Select(column => "m." + column))}, ranked.score
            FROM ranked JOIN {_table} m ON m.id = ranked.id
            ORDER BY ranked.score DESC, ranked.created_at DESC;
            """;
        var hits = new List<MemorySearchHit>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            hits.Add(new MemorySearchHit(Read(reader), reader.GetFloat(16)));
        }

        return hits;
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
        await using var command = _dataSource.CreateCommand($"DELETE FROM {_table} WHERE id=@id AND user_id=@user;");
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("user", userId);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<int> DeleteAllAsync(string userId, CancellationToken cancellationToken = default)
    {
        MemoryValidation.ValidateUserId(userId);
        await using var command = _dataSource.CreateCommand($"DELETE FROM {_table} WHERE user_id=@user;");
        command.Parameters.AddWithValue("user", userId);
        return await command.ExecuteNonQueryAsync(cancellationToken);
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
