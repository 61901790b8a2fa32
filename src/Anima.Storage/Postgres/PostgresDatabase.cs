using Npgsql;

namespace Anima.Storage.Postgres;

/// <summary>
/// The shared database of a cluster: PostgreSQL holding accounts, sessions, settings, conversations, grain
/// state, cluster membership and reminders for every node. <see cref="InitializeAsync"/> creates the schema
/// (idempotent, under an advisory lock so that several nodes starting at once do not race), so an operator
/// only has to create the database and a role that may create tables in it.
/// </summary>
public sealed class PostgresDatabase : IAsyncDisposable
{
    /// <summary>The schema version this code writes; a database with a newer one is refused.</summary>
    public const int SchemaVersion = 1;

    // An arbitrary constant: the advisory lock that serialises schema creation across nodes.
    private const long SchemaLockKey = 0x416E696D61_0001;

    internal const string Schema = """
        CREATE TABLE IF NOT EXISTS anima_schema (
            id int PRIMARY KEY CHECK (id = 1),
            version int NOT NULL);
        CREATE TABLE IF NOT EXISTS anima_users (
            id text PRIMARY KEY,
            username text NOT NULL,
            username_key text NOT NULL UNIQUE,
            password_hash text NOT NULL,
            created_at bigint NOT NULL,
            is_admin boolean NOT NULL DEFAULT false);
        CREATE TABLE IF NOT EXISTS anima_sessions (
            token_hash text PRIMARY KEY,
            user_id text NOT NULL REFERENCES anima_users(id) ON DELETE CASCADE,
            kind text NOT NULL,
            created_at bigint NOT NULL,
            expires_at bigint NOT NULL);
        CREATE INDEX IF NOT EXISTS anima_sessions_expires ON anima_sessions(expires_at);
        CREATE TABLE IF NOT EXISTS anima_settings (
            key text PRIMARY KEY,
            value text NOT NULL);
        CREATE TABLE IF NOT EXISTS anima_turns (
            user_id text NOT NULL,
            id bigint NOT NULL,
            role smallint NOT NULL,
            text text NOT NULL,
            created_at bigint NOT NULL,
            status smallint NOT NULL,
            emotion text NULL,
            valence real NULL,
            arousal real NULL,
            weight real NULL,
            message_id text NULL,
            PRIMARY KEY (user_id, id));
        CREATE UNIQUE INDEX IF NOT EXISTS anima_turns_message ON anima_turns(user_id, message_id) WHERE message_id IS NOT NULL;
        CREATE INDEX IF NOT EXISTS anima_turns_user_messages ON anima_turns(created_at, user_id) WHERE role = 0;
        CREATE TABLE IF NOT EXISTS anima_grain_state (
            grain_id text NOT NULL,
            state_name text NOT NULL,
            etag bigint NOT NULL,
            data text NOT NULL,
            PRIMARY KEY (grain_id, state_name));
        CREATE TABLE IF NOT EXISTS anima_membership_version (
            cluster_id text PRIMARY KEY,
            version int NOT NULL,
            etag bigint NOT NULL);
        CREATE TABLE IF NOT EXISTS anima_membership (
            cluster_id text NOT NULL REFERENCES anima_membership_version(cluster_id) ON DELETE CASCADE,
            silo text NOT NULL,
            status int NOT NULL,
            entry bytea NOT NULL,
            etag bigint NOT NULL,
            i_am_alive timestamptz NOT NULL,
            PRIMARY KEY (cluster_id, silo));
        CREATE TABLE IF NOT EXISTS anima_reminders (
            service_id text NOT NULL,
            grain_id text NOT NULL,
            name text NOT NULL,
            grain_hash bigint NOT NULL,
            start_at timestamptz NOT NULL,
            period_ms bigint NOT NULL,
            etag bigint NOT NULL,
            PRIMARY KEY (service_id, grain_id, name));
        CREATE INDEX IF NOT EXISTS anima_reminders_hash ON anima_reminders(service_id, grain_hash);
        """;

    public PostgresDatabase(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException exception)
        {
            throw new StorageUnavailableException("The PostgreSQL connection string is not valid: " + exception.Message, exception);
        }

        Description = $"{builder.Host}:{builder.Port}/{builder.Database}";
        DataSource = NpgsqlDataSource.Create(builder.ConnectionString);
    }

    public NpgsqlDataSource DataSource { get; }

    /// <summary>Host, port and database name, for messages (never the password).</summary>
    public string Description { get; }

    private readonly Lock _initializeLock = new();
    private Task? _initialized;

    /// <summary>Creates or checks the schema, once per process (a failed attempt is retried by the next call). Safe on every node at every start.</summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        lock (_initializeLock)
        {
            if (_initialized is null || _initialized.IsFaulted || _initialized.IsCanceled)
            {
                _initialized = CreateSchemaAsync(cancellationToken);
            }

            return _initialized;
        }
    }

    private async Task CreateSchemaAsync(CancellationToken cancellationToken)
    {
        NpgsqlConnection connection;
        try
        {
            connection = await DataSource.OpenConnectionAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            throw new StorageUnavailableException($"Cannot reach the cluster database at {Description}: {exception.Message}", exception);
        }

        await using (connection)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = $"SELECT pg_advisory_xact_lock({SchemaLockKey});";
            await command.ExecuteNonQueryAsync(cancellationToken);
            command.CommandText = Schema;
            await command.ExecuteNonQueryAsync(cancellationToken);
            command.CommandText = "SELECT version FROM anima_schema WHERE id = 1;";
            var version = await command.ExecuteScalarAsync(cancellationToken) as int?;
            if (version > SchemaVersion)
            {
                throw new StorageUnavailableException($"The cluster database {Description} was written by a newer Anima (schema {version}; this one knows {SchemaVersion}). Upgrade this node.");
            }

            command.CommandText = $"INSERT INTO anima_schema (id, version) VALUES (1, {SchemaVersion}) ON CONFLICT (id) DO UPDATE SET version = excluded.version;";
            await command.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
    }

    public ValueTask<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken = default) => DataSource.OpenConnectionAsync(cancellationToken);

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();
}
