using Microsoft.Data.Sqlite;

namespace Anima.Storage;

/// <summary>
/// The embedded database: one SQLite file in WAL mode (readers never wait for the writer) with the
/// schema of accounts, sessions, grain state and conversations. Opening it creates or upgrades the schema.
/// </summary>
public sealed class SqliteDatabase
{
    private const int SchemaVersion = 2;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS users (
            id TEXT PRIMARY KEY,
            username TEXT NOT NULL UNIQUE COLLATE NOCASE,
            password_hash TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            is_admin INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE IF NOT EXISTS sessions (
            token_hash TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
        CREATE TABLE IF NOT EXISTS grain_state (
            grain_id TEXT NOT NULL,
            state_name TEXT NOT NULL,
            etag INTEGER NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (grain_id, state_name)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS turns (
            user_id TEXT NOT NULL,
            id INTEGER NOT NULL,
            role INTEGER NOT NULL,
            text TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            status INTEGER NOT NULL,
            emotion TEXT NULL,
            valence REAL NULL,
            arousal REAL NULL,
            message_id TEXT NULL,
            PRIMARY KEY (user_id, id)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS turns_recent ON turns(created_at, user_id);
        CREATE TABLE IF NOT EXISTS settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL) WITHOUT ROWID;
        """;

    public SqliteDatabase(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        var directory = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        ConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        Initialize();
    }

    public string Path { get; }

    public string ConnectionString { get; }

    // One writer at a time, queued in-process. SQLite allows a single writer per file; when several
    // connections race for it, the losers sleep in SQLite's busy handler in coarse steps (up to 100 ms
    // each), which is what made the slowest turns slow under load. An async gate hands the lock over
    // without sleeping.
    private readonly SemaphoreSlim _writeGate = new(1, 1);

    /// <summary>Opens a connection for a write, holding the process-wide write gate until the lease is disposed.</summary>
    public async Task<WriteLease> OpenForWriteAsync(CancellationToken cancellationToken = default)
    {
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            return new WriteLease(await OpenAsync(cancellationToken), _writeGate);
        }
        catch
        {
            _writeGate.Release();
            throw;
        }
    }

    /// <summary>Opens a pooled connection with foreign keys on and a busy timeout, so concurrent writers queue instead of failing.</summary>
    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    private void Initialize()
    {
        using var connection = new SqliteConnection(ConnectionString);
        try
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;";
            command.ExecuteNonQuery();
            command.CommandText = "PRAGMA user_version;";
            var version = Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
            if (version > SchemaVersion)
            {
                throw new StorageUnavailableException($"The database {Path} was written by a newer Anima (schema {version}; this one knows {SchemaVersion}). Upgrade Anima or point it at another data directory.");
            }

            using var transaction = connection.BeginTransaction();
            using var create = connection.CreateCommand();
            create.Transaction = transaction;
            create.CommandText = Schema;
            create.ExecuteNonQuery();
            if (version == 1)
            {
                // Schema 2: a user's message carries the client's message id, stored at most once.
                create.CommandText = "ALTER TABLE turns ADD COLUMN message_id TEXT NULL;";
                create.ExecuteNonQuery();
            }

            create.CommandText = $"CREATE UNIQUE INDEX IF NOT EXISTS turns_message ON turns(user_id, message_id) WHERE message_id IS NOT NULL; PRAGMA user_version = {SchemaVersion};";
            create.ExecuteNonQuery();
            transaction.Commit();
        }
        catch (SqliteException exception) when (exception.SqliteErrorCode is 26 or 11)
        {
            // SQLITE_NOTADB (26) / SQLITE_CORRUPT (11): never overwrite what might still be recoverable.
            throw new StorageUnavailableException($"The database file {Path} is not a valid Anima database (it may be corrupt). Move it aside to start fresh, or restore it from a backup; Anima will not overwrite it.", exception);
        }
    }
}

/// <summary>The database cannot be used as it is (corrupt, or from a newer version); the message says what to do.</summary>
public sealed class StorageUnavailableException : Exception
{
    public StorageUnavailableException()
    {
    }

    public StorageUnavailableException(string message)
        : base(message)
    {
    }

    public StorageUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A connection that holds the database's write gate; disposing it closes the connection and releases the gate.</summary>
public sealed class WriteLease(SqliteConnection connection, SemaphoreSlim gate) : IAsyncDisposable
{
    public SqliteConnection Connection { get; } = connection;

    public SqliteCommand CreateCommand() => Connection.CreateCommand();

    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync();
        gate.Release();
    }
}
