using Anima.Storage;
using Orleans;
using Orleans.Runtime;

namespace Anima.Server.Tests;

/// <summary>Reminders of the embedded node in SQLite: they are read back by grain and by ring range, guarded by their ETag, and outlive the process.</summary>
public sealed class SqliteReminderTableTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("anima-reminders-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static ReminderEntry Entry(string user, string name = "consolidate-memories") => new()
    {
        GrainId = GrainId.Create("companion", user),
        ReminderName = name,
        StartAt = new DateTime(2026, 11, 23, 9, 30, 0, DateTimeKind.Utc),
        Period = TimeSpan.FromMinutes(10),
    };

    [Fact]
    public async Task Reminders_AreReadByGrainAndRange_GuardedByETag_AndSurviveARestart()
    {
        var path = Path.Combine(_directory, "anima.db");
        var database = new SqliteDatabase(path);
        var table = new SqliteReminderTable(database);
        var alice = Entry("alice");
        var bob = Entry("bob");
        Assert.Equal("1", await table.UpsertRow(alice));
        Assert.Equal("1", await table.UpsertRow(bob));
        var longer = Entry("alice");
        longer.Period = TimeSpan.FromMinutes(20);
        Assert.Equal("2", await table.UpsertRow(longer));

        var read = await table.ReadRow(alice.GrainId, alice.ReminderName);
        Assert.NotNull(read);
        Assert.Equal(TimeSpan.FromMinutes(20), read.Period);
        Assert.Equal(alice.StartAt, read.StartAt);
        Assert.Equal(DateTimeKind.Utc, read.StartAt.Kind);
        Assert.Single((await table.ReadRows(bob.GrainId)).Reminders);

        // The whole ring, and a range that wraps around zero, hold both; a range holding neither is empty.
        var aliceHash = alice.GrainId.GetUniformHashCode();
        var bobHash = bob.GrainId.GetUniformHashCode();
        Assert.Equal(2, (await table.ReadRows(0, uint.MaxValue)).Reminders.Count + (aliceHash == 0 || bobHash == 0 ? 1 : 0));
        Assert.Equal(2, (await table.ReadRows(Math.Max(aliceHash, bobHash), Math.Max(aliceHash, bobHash))).Reminders.Count);
        Assert.Single((await table.ReadRows(Math.Min(aliceHash, bobHash), Math.Max(aliceHash, bobHash))).Reminders);

        Assert.False(await table.RemoveRow(bob.GrainId, bob.ReminderName, "7"));
        await database.DisposeAsync();

        var reopened = new SqliteReminderTable(new SqliteDatabase(path));
        Assert.Equal(2, (await reopened.ReadRows(Math.Max(aliceHash, bobHash), Math.Max(aliceHash, bobHash))).Reminders.Count);
        Assert.True(await reopened.RemoveRow(bob.GrainId, bob.ReminderName, "1"));
        Assert.Null(await reopened.ReadRow(bob.GrainId, bob.ReminderName));
        Assert.NotNull(await reopened.ReadRow(alice.GrainId, alice.ReminderName));
    }
}
