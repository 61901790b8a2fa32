using Anima.Core.Accounts;
using Microsoft.Data.Sqlite;

namespace Anima.Storage;

/// <summary>Accounts, sessions and installation settings in the embedded SQLite database.</summary>
public sealed class SqliteAccountStore(SqliteDatabase database) : IAccountStore
{
    public async Task<UserAccount?> CreateUserAsync(string username, string passwordHash, DateTimeOffset createdAt, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(username);
        ArgumentException.ThrowIfNullOrWhiteSpace(passwordHash);
        var id = Guid.CreateVersion7(createdAt).ToString("N");
        var isAdmin = await database.WriteAsync(
            connection =>
            {
                using var command = connection.CreateCommand();
                command.CommandText = """
                    INSERT INTO users (id, username, password_hash, created_at, is_admin)
                    VALUES ($id, $username, $hash, $created, NOT EXISTS (SELECT 1 FROM users))
                    ON CONFLICT (username) DO NOTHING
                    RETURNING is_admin;
                    """;
                command.Parameters.AddWithValue("$id", id);
                command.Parameters.AddWithValue("$username", username);
                command.Parameters.AddWithValue("$hash", passwordHash);
                command.Parameters.AddWithValue("$created", createdAt.ToUnixTimeMilliseconds());
                return command.ExecuteScalar();
            },
            cancellationToken);
        return isAdmin is null ? null : new UserAccount(id, username, Convert.ToInt64(isAdmin, System.Globalization.CultureInfo.InvariantCulture) != 0, createdAt);
    }

    public async Task<(UserAccount Account, string PasswordHash)?> FindByUsernameAsync(string username, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(username);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, username, is_admin, created_at, password_hash FROM users WHERE username = $username;";
        command.Parameters.AddWithValue("$username", username);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (ReadAccount(reader), reader.GetString(4)) : null;
    }

    public async Task CreateSessionAsync(string tokenHash, string userId, string kind, DateTimeOffset createdAt, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        await database.WriteAsync(
            connection =>
            {
                using var command = connection.CreateCommand();
                command.CommandText = """
                    DELETE FROM sessions WHERE expires_at < $created;
                    INSERT INTO sessions (token_hash, user_id, kind, created_at, expires_at) VALUES ($hash, $user, $kind, $created, $expires);
                    """;
                command.Parameters.AddWithValue("$hash", tokenHash);
                command.Parameters.AddWithValue("$user", userId);
                command.Parameters.AddWithValue("$kind", kind);
                command.Parameters.AddWithValue("$created", createdAt.ToUnixTimeMilliseconds());
                command.Parameters.AddWithValue("$expires", expiresAt.ToUnixTimeMilliseconds());
                return command.ExecuteNonQuery();
            },
            cancellationToken);
    }

    public async Task<UserAccount?> FindSessionAsync(string tokenHash, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT u.id, u.username, u.is_admin, u.created_at FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.token_hash = $hash AND s.expires_at > $now;
            """;
        command.Parameters.AddWithValue("$hash", tokenHash);
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadAccount(reader) : null;
    }

    public async Task DeleteSessionAsync(string tokenHash, CancellationToken cancellationToken = default)
    {
        await database.WriteAsync(
            connection =>
            {
                using var command = connection.CreateCommand();
                command.CommandText = "DELETE FROM sessions WHERE token_hash = $hash;";
                command.Parameters.AddWithValue("$hash", tokenHash);
                return command.ExecuteNonQuery();
            },
            cancellationToken);
    }

    public async Task<string?> GetSettingAsync(string key, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT value FROM settings WHERE key = $key;";
        command.Parameters.AddWithValue("$key", key);
        return (string?)await command.ExecuteScalarAsync(cancellationToken);
    }

    public async Task SetSettingAsync(string key, string? value, CancellationToken cancellationToken = default)
    {
        await database.WriteAsync(
            connection =>
            {
                using var command = connection.CreateCommand();
                command.CommandText = value is null
                    ? "DELETE FROM settings WHERE key = $key;"
                    : "INSERT INTO settings (key, value) VALUES ($key, $value) ON CONFLICT (key) DO UPDATE SET value = excluded.value;";
                command.Parameters.AddWithValue("$key", key);
                if (value is not null)
                {
                    command.Parameters.AddWithValue("$value", value);
                }

                return command.ExecuteNonQuery();
            },
            cancellationToken);
    }

    private static UserAccount ReadAccount(SqliteDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), reader.GetInt64(2) != 0, DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)));
}
