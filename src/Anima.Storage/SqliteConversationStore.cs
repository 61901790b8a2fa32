using System.Text.Json;
using Anima.Abstractions;
using Anima.Core.Conversation;
using Microsoft.Data.Sqlite;

namespace Anima.Storage;

/// <summary>The conversation log in SQLite: one row per turn, keyed by (user, per-user sequence number).</summary>
public sealed class SqliteConversationStore(SqliteDatabase database) : IConversationStore
{
    public async Task<ConversationTurn> AppendAsync(string userId, TurnRole role, string text, TurnStatus status, DateTimeOffset createdAt, PerceivedEmotion? emotion = null, string? messageId = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentNullException.ThrowIfNull(text);
        var created = createdAt.ToUnixTimeMilliseconds();
        var emotionJson = emotion is null ? null : JsonSerializer.Serialize(emotion);
        long id;
        try
        {
            id = await database.WriteAsync(
                connection =>
                {
                    using var command = connection.CreateCommand();
                    command.CommandText = """
                        INSERT INTO turns (user_id, id, role, text, created_at, status, emotion, valence, arousal, message_id)
                        VALUES ($user, (SELECT COALESCE(MAX(id), 0) + 1 FROM turns WHERE user_id = $user), $role, $text, $created, $status, $emotion, $valence, $arousal, $message)
                        RETURNING id;
                        """;
                    command.Parameters.AddWithValue("$user", userId);
                    command.Parameters.AddWithValue("$role", (int)role);
                    command.Parameters.AddWithValue("$text", text);
                    command.Parameters.AddWithValue("$created", created);
                    command.Parameters.AddWithValue("$status", (int)status);
                    command.Parameters.AddWithValue("$emotion", (object?)emotionJson ?? DBNull.Value);
                    command.Parameters.AddWithValue("$valence", emotion is null ? DBNull.Value : emotion.Valence);
                    command.Parameters.AddWithValue("$arousal", emotion is null ? DBNull.Value : emotion.Arousal);
                    command.Parameters.AddWithValue("$message", (object?)messageId ?? DBNull.Value);
                    return (long)command.ExecuteScalar()!;
                },
                cancellationToken);
        }
        catch (SqliteException exception) when (exception.SqliteErrorCode == 19 && messageId is not null)
        {
            // SQLITE_CONSTRAINT on turns_message: this message was already stored.
            throw new DuplicateMessageException("This message was already stored.", exception);
        }

        return new ConversationTurn(id, role, text, DateTimeOffset.FromUnixTimeMilliseconds(createdAt.ToUnixTimeMilliseconds()), status, emotion);
    }

    public async Task<StoredMessage?> FindMessageAsync(string userId, string messageId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {Columns} FROM turns WHERE user_id = $user AND message_id = $message
            UNION ALL
            SELECT {Columns} FROM turns WHERE user_id = $user AND role = 1
              AND id = (SELECT id + 1 FROM turns WHERE user_id = $user AND message_id = $message)
            ORDER BY 1;
            """;
        command.Parameters.AddWithValue("$user", userId);
        command.Parameters.AddWithValue("$message", messageId);
        var turns = await TurnRows.ReadAsync(command, cancellationToken);
        return turns.Count == 0 ? null : new StoredMessage(turns[0], turns.Count > 1 ? turns[1] : null);
    }

    public async Task UpdateAsync(string userId, long turnId, string text, TurnStatus status, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        var updated = await database.WriteAsync(
            connection =>
            {
                using var command = connection.CreateCommand();
                command.CommandText = "UPDATE turns SET text = $text, status = $status WHERE user_id = $user AND id = $id;";
                command.Parameters.AddWithValue("$user", userId);
                command.Parameters.AddWithValue("$id", turnId);
                command.Parameters.AddWithValue("$text", text);
                command.Parameters.AddWithValue("$status", (int)status);
                return command.ExecuteNonQuery();
            },
            cancellationToken);
        if (updated != 1)
        {
            throw new KeyNotFoundException($"Turn {turnId} does not exist for this user.");
        }
    }

    public async Task<ConversationPage> GetPageAsync(string userId, int limit, long? beforeTurnId = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {Columns} FROM turns
            WHERE user_id = $user AND id < $before ORDER BY id DESC LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$user", userId);
        command.Parameters.AddWithValue("$before", beforeTurnId ?? long.MaxValue);
        command.Parameters.AddWithValue("$limit", limit + 1);
        return await TurnRows.ReadPageAsync(command, limit, cancellationToken);
    }

    public async Task<int> CountAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM turns WHERE user_id = $user;";
        command.Parameters.AddWithValue("$user", userId);
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task<IReadOnlyList<MoodPoint>> GetMoodAsync(string userId, DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT created_at, valence, arousal, COALESCE(json_extract(emotion, '$.Weight'), 1.0) FROM turns
            WHERE user_id = $user AND role = 0 AND valence IS NOT NULL AND created_at >= $since ORDER BY id;
            """;
        command.Parameters.AddWithValue("$user", userId);
        command.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
        var points = new List<MoodPoint>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            points.Add(new MoodPoint(DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)), (float)reader.GetDouble(1), (float)reader.GetDouble(2), (float)reader.GetDouble(3)));
        }

        return points;
    }

    public async Task<int> CountActiveUsersAsync(DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(DISTINCT user_id) FROM turns WHERE role = 0 AND created_at >= $since;";
        command.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task<int> RecoverStreamingAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);

        // Every activation asks; almost never is there anything to recover. A read answers that without
        // queueing for the single writer.
        await using (var reader = await database.OpenAsync(cancellationToken))
        await using (var check = reader.CreateCommand())
        {
            check.CommandText = "SELECT EXISTS (SELECT 1 FROM turns WHERE user_id = $user AND status = $streaming);";
            check.Parameters.AddWithValue("$user", userId);
            check.Parameters.AddWithValue("$streaming", (int)TurnStatus.Streaming);
            if (Convert.ToInt64(await check.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) == 0)
            {
                return 0;
            }
        }

        return await database.WriteAsync(
            connection =>
            {
                using var command = connection.CreateCommand();
                command.CommandText = "UPDATE turns SET status = $interrupted WHERE user_id = $user AND status = $streaming;";
                command.Parameters.AddWithValue("$user", userId);
                command.Parameters.AddWithValue("$interrupted", (int)TurnStatus.Interrupted);
                command.Parameters.AddWithValue("$streaming", (int)TurnStatus.Streaming);
                return command.ExecuteNonQuery();
            },
            cancellationToken);
    }

    private const string Columns = TurnRows.Columns;
}
