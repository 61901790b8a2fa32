using System.Diagnostics;
using System.Threading.Channels;
using Anima.Core.Diagnostics;
using Microsoft.Data.Sqlite;

namespace Anima.Storage;

/// <summary>
/// The embedded database: one SQLite file in WAL mode (readers never wait for the writer) with the
/// schema of accounts, sessions, grain state and conversations. Opening it creates or upgrades the schema.
/// </summary>
public sealed class SqliteDatabase : IAsyncDisposable
{
    private const int SchemaVersion = 3;

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
        CREATE TABLE IF NOT EXISTS reminders (
            grain_id TEXT NOT NULL,
            name TEXT NOT NULL,
            grain_hash INTEGER NOT NULL,
            start_at INTEGER NOT NULL,
            period_ms INTEGER NOT NULL,
            etag INTEGER NOT NULL,
            PRIMARY KEY (grain_id, name)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS reminders_ring ON reminders(grain_hash);
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

    // Every write goes through one queue and one connection, and the writes that queued up while a
    // transaction was being written commit together in the next one (group commit). SQLite has a single
    // writer per file anyway: committing each small write on its own wrote the same few b-tree pages to the
    // write-ahead log again and again, and under load the queue of writers, not the writes, was the cost.
    // A caller's task completes only after the transaction holding its write has committed, so durability
    // is what it was; a write that fails rolls back to its own savepoint and fails alone.
    private const int MaximumBatch = 64;
    private readonly Channel<PendingWrite> _writes = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _writerStart = new();
    private Thread? _writer;
    private SqliteConnection? _writeConnection;

    // Checkpoints (copying the write-ahead log back into the database file, with a flush to disk) run on their own
    // thread and connection, not inside the commit that crosses the log's size limit as SQLite does by default: that
    // commit, and every write queued behind it, waited for the disk. A PASSIVE checkpoint blocks neither readers nor
    // the writer. It runs at most every CheckpointInterval while there are new commits; a log that still grows past
    // CheckpointFallbackPages (the checkpointer starved) is checkpointed by the writer itself, as before.
    private static readonly TimeSpan CheckpointInterval = TimeSpan.FromMilliseconds(500);
    private const int CheckpointFallbackPages = 16_000;
    private readonly SemaphoreSlim _checkpointDue = new(0, 1);
    private readonly CancellationTokenSource _closing = new();
    private Thread? _checkpointer;
    private long _commits;

    /// <summary>Time from asking for a write to its commit, and how many writes each transaction held.</summary>
    public LatencyHistogram WriteLatency { get; } = new();

    public LatencyHistogram WritesPerCommit { get; } = new();

    /// <summary>The writer's own time per transaction, from its BEGIN to its COMMIT (a checkpoint's disk flush included).</summary>
    public LatencyHistogram CommitDuration { get; } = new();

    /// <summary>
    /// Runs <paramref name="work"/> on the database's writer connection, inside a transaction shared with the
    /// writes queued beside it, and completes after that transaction commits. <paramref name="work"/> must be
    /// synchronous and use only the connection it is given; its exception (a constraint, say) fails this write
    /// alone, after its changes are rolled back.
    /// </summary>
    public Task<T> WriteAsync<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var write = new PendingWrite<T>(work, cancellationToken);
        if (!_writes.Writer.TryWrite(write))
        {
            throw new ObjectDisposedException(nameof(SqliteDatabase), "The database is closed.");
        }

        if (_writer is null)
        {
            lock (_writerStart)
            {
                if (_writer is null)
                {
                    // Its own thread: a commit can wait on the disk (a checkpoint's fsync), and that wait must
                    // not hold one of the few thread-pool threads a small machine has.
                    _writer = new Thread(WriteLoop) { IsBackground = true, Name = "Anima SQLite writer" };
                    _writer.Start();
                    _checkpointer = new Thread(CheckpointLoop) { IsBackground = true, Name = "Anima SQLite checkpointer" };
                    _checkpointer.Start();
                }
            }
        }

        return write.Task;
    }

    private void WriteLoop()
    {
        var batch = new List<PendingWrite>(MaximumBatch);
        while (_writes.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            batch.Clear();
            while (batch.Count < MaximumBatch && _writes.Reader.TryRead(out var write))
            {
                if (!write.CancelIfRequested())
                {
                    batch.Add(write);
                }
            }

            if (batch.Count > 0)
            {
                Commit(batch);
            }
        }

        _writeConnection?.Dispose();
        _writeConnection = null;
    }

    private void Commit(List<PendingWrite> batch)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var connection = _writeConnection ??= OpenWriter();
            Execute(connection, "BEGIN IMMEDIATE;");
            foreach (var write in batch)
            {
                Execute(connection, "SAVEPOINT write;");
                if (write.Run(connection))
                {
                    Execute(connection, "RELEASE write;");
                }
                else
                {
                    Execute(connection, "ROLLBACK TO write; RELEASE write;");
                }
            }

            Execute(connection, "COMMIT;");
            Interlocked.Increment(ref _commits);
            if (_checkpointDue.CurrentCount == 0)
            {
                try
                {
                    _checkpointDue.Release();
                }
                catch (SemaphoreFullException)
                {
                    // Already due.
                }
            }
        }
        catch (Exception exception)
        {
            // The transaction is lost (disk full, I/O error, a busy database past its timeout): every write
            // in it fails, and the next batch starts on a fresh connection.
            _writeConnection?.Dispose();
            _writeConnection = null;
            foreach (var write in batch)
            {
                write.Fail(exception);
            }
        }

        CommitDuration.Record(Stopwatch.GetElapsedTime(started));
        WritesPerCommit.RecordMicroseconds(batch.Count);
        foreach (var write in batch)
        {
            WriteLatency.Record(write.Complete());
        }
    }

    private SqliteConnection OpenWriter()
    {
        var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        Execute(connection, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA wal_autocheckpoint = {CheckpointFallbackPages};"));
        return connection;
    }

    /// <summary>The time a checkpoint took on the checkpointer's thread (the log copied back and flushed to disk).</summary>
    public LatencyHistogram CheckpointDuration { get; } = new();

    private void CheckpointLoop()
    {
        SqliteConnection? connection = null;
        long checkpointed = 0;
        try
        {
            while (true)
            {
                _checkpointDue.Wait(_closing.Token);
                if (Interlocked.Read(ref _commits) == checkpointed)
                {
                    continue;
                }

                checkpointed = Interlocked.Read(ref _commits);
                var started = Stopwatch.GetTimestamp();
                try
                {
                    connection ??= OpenCheckpointer();
                    Execute(connection, "PRAGMA wal_checkpoint(PASSIVE);");
                    CheckpointDuration.Record(Stopwatch.GetElapsedTime(started));
                }
                catch (SqliteException)
                {
                    // A failed checkpoint is retried after the next commits; the writer's fallback bounds the log meanwhile.
                    connection?.Dispose();
                    connection = null;
                }

                _closing.Token.WaitHandle.WaitOne(CheckpointInterval);
            }
        }
        catch (OperationCanceledException)
        {
            // Closing: the last connection to close checkpoints what is left.
        }
        finally
        {
            connection?.Dispose();
        }
    }

    private SqliteConnection OpenCheckpointer()
    {
        var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        Execute(connection, "PRAGMA busy_timeout = 10000;");
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Finishes the queued writes and closes the writer connection.</summary>
    public async ValueTask DisposeAsync()
    {
        _writes.Writer.TryComplete();
        if (_writer is { } writer)
        {
            await Task.Run(writer.Join);
        }

        await _closing.CancelAsync();
        if (_checkpointer is { } checkpointer)
        {
            await Task.Run(checkpointer.Join);
        }

        _closing.Dispose();
        _checkpointDue.Dispose();
    }

    private abstract class PendingWrite
    {
        private readonly long _queuedAt = Stopwatch.GetTimestamp();

        /// <summary>Runs the write; false when it threw (its exception is kept for <see cref="Complete"/>).</summary>
        public abstract bool Run(SqliteConnection connection);

        public abstract bool CancelIfRequested();

        public abstract void Fail(Exception exception);

        /// <summary>Hands the result (or the exception) to the caller; returns the time since the write was queued.</summary>
        public TimeSpan Complete()
        {
            var elapsed = Stopwatch.GetElapsedTime(_queuedAt);
            Finish();
            return elapsed;
        }

        protected abstract void Finish();
    }

    private sealed class PendingWrite<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken) : PendingWrite
    {
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;
        private Exception? _exception;

        public Task<T> Task => _completion.Task;

        public override bool Run(SqliteConnection connection)
        {
            try
            {
                _result = work(connection);
                return true;
            }
            catch (Exception exception)
            {
                _exception = exception;
                return false;
            }
        }

        public override bool CancelIfRequested() => cancellationToken.IsCancellationRequested && _completion.TrySetCanceled(cancellationToken);

        public override void Fail(Exception exception) => _exception ??= exception;

        protected override void Finish()
        {
            if (_exception is not null)
            {
                _completion.TrySetException(_exception);
            }
            else
            {
                _completion.TrySetResult(_result!);
            }
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
