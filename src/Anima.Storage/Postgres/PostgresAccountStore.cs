using Anima.Core.Accounts;
using Npgsql;

namespace Anima.Storage.Postgres;

/// <summary>Accounts, sessions and installation settings of a cluster in PostgreSQL: a session made on one node is valid on all.</summary>
public sealed class PostgresAccountStore(PostgresDatabase database) : IAccountStore
{
    public async Task<UserAccount?> CreateUserAsync(string username, string passwordHash, DateTimeOffset createdAt, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(username);
        ArgumentException.ThrowIfNullOrWhiteSpace(passwordHash);
        var id = Guid.CreateVersion7(createdAt).ToString("N");
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // The first account is the administrator: the lock makes "is there any account yet?" and the insert
        // one step, so two first sign-ups on two nodes cannot both become administrators.
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE anima_users IN SHARE ROW EXCLUSIVE MODE;", connection, transaction))
        {
            await lockTable.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var command = new NpgsqlCommand(
            """
            INSERT INTO anima_users (id, username, username_key, password_hash, created_at, is_admin)
            VALUES ($1, $2, lower($2), $3, $4, NOT EXISTS (SELECT 1 FROM anima_users))
            ON CONFLICT (username_key) DO NOTHING
            RETURNING is_admin;
            """,
            connection,
            transaction);
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = username });
        command.Parameters.Add(new() { Value = passwordHash });
        command.Parameters.Add(new() { Value = createdAt.ToUnixTimeMilliseconds() });
        var isAdmin = await command.ExecuteScalarAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return isAdmin is bool admin ? new UserAccount(id, username, admin, createdAt) : null;
    }

    public async Task<(UserAccount Account, string PasswordHash)?> FindByUsernameAsync(string username, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(username);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT id, username, is_admin, created_at, password_hash FROM anima_users WHERE username_key = lower($1);", connection);
        command.Parameters.Add(new() { Value = username });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (ReadAccount(reader), reader.GetString(4)) : null;
    }

    public async Task CreateSessionAsync(string tokenHash, string userId, string kind, DateTimeOffset createdAt, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("DELETE FROM anima_sessions WHERE expires_at < $1;") { Parameters = { new() { Value = createdAt.ToUnixTimeMilliseconds() } } },
                new NpgsqlBatchCommand("INSERT INTO anima_sessions (token_hash, user_id, kind, created_at, expires_at) VALUES ($1, $2, $3, $4, $5);")
                {
                    Parameters =
                    {
                        new() { Value = tokenHash },
                        new() { Value = userId },
                        new() { Value = kind },
                        new() { Value = createdAt.ToUnixTimeMilliseconds() },
                        new() { Value = expiresAt.ToUnixTimeMilliseconds() },
                    },
                },
            },
        };
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<UserAccount?> FindSessionAsync(string tokenHash, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            SELECT u.id, u.username, u.is_admin, u.created_at FROM anima_sessions s JOIN anima_users u ON u.id = s.user_id
            WHERE s.token_hash = $1 AND s.expires_at > $2;
            """,
            connection);
        command.Parameters.Add(new() { Value = tokenHash });
        command.Parameters.Add(new() { Value = now.ToUnixTimeMilliseconds() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadAccount(reader) : null;
    }

    public async Task DeleteSessionAsync(string tokenHash, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("DELETE FROM anima_sessions WHERE token_hash = $1;", connection);
        command.Parameters.Add(new() { Value = tokenHash });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<string?> GetSettingAsync(string key, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT value FROM anima_settings WHERE key = $1;", connection);
        command.Parameters.Add(new() { Value = key });
        return (string?)await command.ExecuteScalarAsync(cancellationToken);
    }

    public async Task SetSettingAsync(string key, string? value, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            value is null
                ? "DELETE FROM anima_settings WHERE key = $1;"
                : "INSERT INTO anima_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value;",
            connection);
        command.Parameters.Add(new() { Value = key });
        if (value is not null)
        {
            command.Parameters.Add(new() { Value = value });
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static UserAccount ReadAccount(NpgsqlDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), reader.GetBoolean(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)));
}
