using System.Text.Json;
using Anima.Abstractions;
using Anima.Core.Conversation;
using Npgsql;

namespace Anima.Storage.Postgres;

/// <summary>
/// The conversation log of a cluster in PostgreSQL: the same contract as <see cref="SqliteConversationStore"/>,
/// shared by every node, so a user's conversation continues on whichever node holds their companion.
/// </summary>
public sealed class PostgresConversationStore(PostgresDatabase database) : IConversationStore
{
    private const string Columns = TurnRows.Columns;

    public async Task<ConversationTurn> AppendAsync(string userId, TurnRole role, string text, TurnStatus status, DateTimeOffset createdAt, PerceivedEmotion? emotion = null, string? messageId = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentNullException.ThrowIfNull(text);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO anima_turns (user_id, id, role, text, created_at, status, emotion, valence, arousal, weight, message_id)
            VALUES ($1, (SELECT COALESCE(MAX(id), 0) + 1 FROM anima_turns WHERE user_id = $1), $2, $3, $4, $5, $6, $7, $8, $9, $10)
            RETURNING id;
            """,
            connection);
        command.Parameters.Add(new() { Value = userId });
        command.Parameters.Add(new() { Value = (short)role });
        command.Parameters.Add(new() { Value = text });
        command.Parameters.Add(new() { Value = createdAt.ToUnixTimeMilliseconds() });
        command.Parameters.Add(new() { Value = (short)status });
        command.Parameters.Add(new() { Value = emotion is null ? DBNull.Value : JsonSerializer.Serialize(emotion) });
        command.Parameters.Add(new() { Value = emotion is null ? DBNull.Value : emotion.Valence });
        command.Parameters.Add(new() { Value = emotion is null ? DBNull.Value : emotion.Arousal });
        command.Parameters.Add(new() { Value = emotion is null ? DBNull.Value : emotion.Weight });
        command.Parameters.Add(new() { Value = (object?)messageId ?? DBNull.Value });
        long id;
        try
        {
            id = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.UniqueViolation && exception.ConstraintName == "anima_turns_message")
        {
            throw new DuplicateMessageException("This message was already stored.", exception);
        }

        return new ConversationTurn(id, role, text, DateTimeOffset.FromUnixTimeMilliseconds(createdAt.ToUnixTimeMilliseconds()), status, emotion);
    }

    public async Task<StoredMessage?> FindMessageAsync(string userId, string messageId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            $"""
            WITH message AS (SELECT id FROM anima_turns WHERE user_id = $1 AND message_id = $2)
            SELECT {Columns} FROM anima_turns
            WHERE user_id = $1 AND (id = (SELECT id FROM message) OR (role = 1 AND id = (SELECT id + 1 FROM message)))
            ORDER BY id;
            """,
            connection);
        command.Parameters.Add(new() { Value = userId });
        command.Parameters.Add(new() { Value = messageId });
        var turns = await TurnRows.ReadAsync(command, cancellationToken);
        return turns.Count == 0 ? null : new StoredMessage(turns[0], turns.Count > 1 ? turns[1] : null);
    }

    public async Task UpdateAsync(string userId, long turnId, string text, TurnStatus status, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("UPDATE anima_turns SET text = $3, status = $4 WHERE user_id = $1 AND id = $2;", connection);
        command.Parameters.Add(new() { Value = userId });
        command.Parameters.Add(new() { Value = turnId });
        command.Parameters.Add(new() { Value = text });
        command.Parameters.Add(new() { Value = (short)status });
        if (await command.ExecuteNonQueryAsync(cancellationToken) != 1)
        {
            throw new KeyNotFoundException($"Turn {turnId} does not exist for this user.");
        }
    }

    public async Task<ConversationPage> GetPageAsync(string userId, int limit, long? beforeTurnId = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"SELECT {Columns} FROM anima_turns WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3;", connection);
        command.Parameters.Add(new() { Value = userId });
        command.Parameters.Add(new() { Value = beforeTurnId ?? long.MaxValue });
        command.Parameters.Add(new() { Value = limit + 1 });
        return await TurnRows.ReadPageAsync(command, limit, cancellationToken);
    }

    public async Task<int> CountAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT COUNT(*) FROM anima_turns WHERE user_id = $1;", connection);
        command.Parameters.Add(new() { Value = userId });
        return (int)(long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<IReadOnlyList<MoodPoint>> GetMoodAsync(string userId, DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT created_at, valence, arousal, COALESCE(weight, 1.0) FROM anima_turns WHERE user_id = $1 AND role = 0 AND valence IS NOT NULL AND created_at >= $2 ORDER BY id;",
            connection);
        command.Parameters.Add(new() { Value = userId });
        command.Parameters.Add(new() { Value = since.ToUnixTimeMilliseconds() });
        var points = new List<MoodPoint>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            points.Add(new MoodPoint(DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)), reader.GetFloat(1), reader.GetFloat(2), reader.GetFloat(3)));
        }

        return points;
    }

    public async Task<int> CountActiveUsersAsync(DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT COUNT(DISTINCT user_id) FROM anima_turns WHERE role = 0 AND created_at >= $1;", connection);
        command.Parameters.Add(new() { Value = since.ToUnixTimeMilliseconds() });
        return (int)(long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<int> RecoverStreamingAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("UPDATE anima_turns SET status = $2 WHERE user_id = $1 AND status = $3;", connection);
        command.Parameters.Add(new() { Value = userId });
        command.Parameters.Add(new() { Value = (short)TurnStatus.Interrupted });
        command.Parameters.Add(new() { Value = (short)TurnStatus.Streaming });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
