using Anima.Abstractions;
using Anima.Core.Conversation;
using Anima.Storage;
using Microsoft.Data.Sqlite;

namespace Anima.Server.Tests;

/// <summary>
/// The embedded database's writer: writes that queue while a transaction is being written commit together,
/// each caller hears back only after its write is durable, and a failing write fails alone.
/// </summary>
public sealed class SqliteGroupCommitTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("anima-group-commit-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task WritesQueuedBehindABusyWriter_CommitTogether_AndAreOnDisk()
    {
        var path = Path.Combine(_directory, "anima.db");
        var database = new SqliteDatabase(path);
        var store = new SqliteConversationStore(database);
        using var release = new ManualResetEventSlim();
        var blocker = database.WriteAsync(_ => release.Wait(TimeSpan.FromSeconds(10)), TestContext.Current.CancellationToken);
        var writes = Enumerable.Range(0, 40).Select(index => store.AppendAsync($"user-{index % 4}", TurnRole.User, $"message {index}", TurnStatus.Complete, DateTimeOffset.UnixEpoch, cancellationToken: TestContext.Current.CancellationToken)).ToList();
        await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.All(writes, write => Assert.False(write.IsCompleted));

        database.WritesPerCommit.Reset();
        release.Set();
        Assert.True(await blocker);
        await Task.WhenAll(writes);

        // The blocker's transaction held only itself; the 40 writes waiting behind it took one more.
        Assert.Equal(2, database.WritesPerCommit.Count);
        Assert.Equal(40, (int)Math.Round(database.WritesPerCommit.Summarize().Max * 1000));

        // Each user's turns are numbered 1..10 without gaps, and another connection sees them all.
        Assert.Equal(Enumerable.Range(1, 10).Select(id => (long)id), writes.Select(write => write.Result).Where((_, index) => index % 4 == 0).Select(turn => turn.Id));
        await using var reader = new SqliteConnection($"Data Source={path}");
        await reader.OpenAsync(TestContext.Current.CancellationToken);
        await using var count = reader.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM turns;";
        Assert.Equal(40L, (long)(await count.ExecuteScalarAsync(TestContext.Current.CancellationToken))!);
        await database.DisposeAsync();
    }

    [Fact]
    public async Task Checkpoints_RunInTheBackground_AndTheLogIsCopiedIntoTheDatabase()
    {
        var path = Path.Combine(_directory, "anima.db");
        var database = new SqliteDatabase(path);
        var store = new SqliteConversationStore(database);
        for (var index = 0; index < 50; index++)
        {
            await store.AppendAsync("alice", TurnRole.User, new string('x', 2000) + index, TurnStatus.Complete, DateTimeOffset.UnixEpoch, cancellationToken: TestContext.Current.CancellationToken);
        }

        // The checkpointer, not a commit, copied the log back (the writer's own checkpoints start only at 16,000 pages).
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((database.CheckpointDuration.Count == 0 || new FileInfo(path).Length <= 50 * 2000) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        Assert.True(database.CheckpointDuration.Count > 0);

        // The messages are in the database file itself, not only in its log (100 KB of them; the empty schema is a few pages).
        Assert.True(new FileInfo(path).Length > 50 * 2000, $"the database file is {new FileInfo(path).Length} bytes");
        await database.DisposeAsync();
    }

    [Fact]
    public async Task AFailingWriteInABatch_IsRolledBackAlone()
    {
        var database = new SqliteDatabase(Path.Combine(_directory, "anima.db"));
        var store = new SqliteConversationStore(database);
        await store.AppendAsync("alice", TurnRole.User, "first", TurnStatus.Complete, DateTimeOffset.UnixEpoch, messageId: "m-1", cancellationToken: TestContext.Current.CancellationToken);
        using var release = new ManualResetEventSlim();
        var blocker = database.WriteAsync(_ => release.Wait(TimeSpan.FromSeconds(10)), TestContext.Current.CancellationToken);
        var before = store.AppendAsync("alice", TurnRole.User, "before", TurnStatus.Complete, DateTimeOffset.UnixEpoch, cancellationToken: TestContext.Current.CancellationToken);
        var partial = database.WriteAsync<int>(
            connection =>
            {
                using var command = connection.CreateCommand();
                command.CommandText = "INSERT INTO settings (key, value) VALUES ('half-done', 'x');";
                command.ExecuteNonQuery();
                throw new InvalidOperationException("failed after writing");
            },
            TestContext.Current.CancellationToken);
        var duplicate = store.AppendAsync("alice", TurnRole.User, "first again", TurnStatus.Complete, DateTimeOffset.UnixEpoch, messageId: "m-1", cancellationToken: TestContext.Current.CancellationToken);
        var after = store.AppendAsync("alice", TurnRole.User, "after", TurnStatus.Complete, DateTimeOffset.UnixEpoch, cancellationToken: TestContext.Current.CancellationToken);
        using var cancelled = new CancellationTokenSource();
        var abandoned = store.AppendAsync("alice", TurnRole.User, "abandoned", TurnStatus.Complete, DateTimeOffset.UnixEpoch, cancellationToken: cancelled.Token);
        await cancelled.CancelAsync();
        release.Set();
        await blocker;

        await Assert.ThrowsAsync<InvalidOperationException>(() => partial);
        await Assert.ThrowsAsync<DuplicateMessageException>(() => duplicate);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        Assert.Equal(2, (await before).Id);
        Assert.Equal(3, (await after).Id);
        Assert.Equal(["first", "before", "after"], (await store.GetPageAsync("alice", 10, cancellationToken: TestContext.Current.CancellationToken)).Turns.Select(turn => turn.Text));
        Assert.Null(await new SqliteAccountStore(database).GetSettingAsync("half-done", TestContext.Current.CancellationToken));
        await database.DisposeAsync();
    }
}
