using System.Text;
using Anima.Memory.Storage;
using Microsoft.Data.Sqlite;

namespace Anima.Memory.Tests;

/// <summary>The store contract on SQLite, plus what only a file-based store has: missing and corrupt files.</summary>
public sealed class SqliteMemoryStoreTests : MemoryStoreContractTests
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "anima-memory-tests-" + Guid.NewGuid().ToString("N"));

    private string DatabasePath => Path.Combine(_directory, "nested", "memories.db");

    protected override Task<IMemoryStore> CreateStoreAsync(CancellationToken cancellationToken)
    {
        IMemoryStore store = new SqliteMemoryStore(new SqliteMemoryStoreOptions { DatabasePath = DatabasePath }, Time);
        return Task.FromResult(store);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public void Initialize_MissingFileAndFolder_CreatesDatabase()
    {
        Assert.True(File.Exists(DatabasePath));
    }

    [Fact]
    public async Task Initialize_IndexFromAnotherAnalyzerVersion_RebuildsIt()
    {
        var memory = NewMemory(Alice, "She went to the pottery class with the kids");
        await Store.UpsertManyAsync(Alice, [memory, NewMemory(Alice, "Bought bread")], Token);
        await Store.DisposeAsync();
        // What a file indexed by an older analyzer looks like to this one: no recorded version, no usable terms.
        await using (var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False"))
        {
            await connection.OpenAsync(Token);
            await using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM store_meta; INSERT INTO memories_fts(memories_fts) VALUES('delete-all'); UPDATE memories SET term_count = 0;";
            await command.ExecuteNonQueryAsync(Token);
        }

        await using var reopened = new SqliteMemoryStore(new SqliteMemoryStoreOptions { DatabasePath = DatabasePath }, Time);
        await reopened.InitializeAsync(Token);
        var hits = await reopened.SearchAsync(Alice, new MemorySearchQuery { Text = "did she go to pottery with the children?" }, Token);

        Assert.Equal(memory.Id, Assert.Single(hits).Memory.Id);
    }

    [Fact]
    public async Task Search_AfterInsertsCorrectionsAndDeletes_CachedFrequenciesScoreLikeAFreshStore()
    {
        var zebras = Enumerable.Range(0, 3).Select(index => NewMemory(Alice, $"saw a zebra at the zoo, visit {index}")).ToList();
        await Store.UpsertManyAsync(Alice, [.. zebras, NewMemory(Alice, "bought bread"), NewMemory(Alice, "zoo tickets were cheap")], Token);
        await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "zebra zoo giraffe" }, Token);

        async Task AssertScoresLikeFreshStore()
        {
            var cached = await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "zebra zoo giraffe" }, Token);
            await using var fresh = new SqliteMemoryStore(new SqliteMemoryStoreOptions { DatabasePath = DatabasePath }, Time);
            await fresh.InitializeAsync(Token);
            var expected = await fresh.SearchAsync(Alice, new MemorySearchQuery { Text = "zebra zoo giraffe" }, Token);
            Assert.Equal(expected.Select(hit => (hit.Memory.Id, Math.Round(hit.LexicalScore, 9))), cached.Select(hit => (hit.Memory.Id, Math.Round(hit.LexicalScore, 9))));
        }

        await Store.UpsertManyAsync(Alice, [NewMemory(Alice, "a giraffe and a zebra"), NewMemory(Alice, "zebra crossing near home")], Token);
        await AssertScoresLikeFreshStore();
        await Store.UpdateAsync(Alice, zebras[0].Id, new MemoryCorrection { Text = "saw a lion at the zoo" }, Token);
        await AssertScoresLikeFreshStore();
        await Store.DeleteAsync(Alice, zebras[1].Id, Token);
        await AssertScoresLikeFreshStore();
        await Store.UpsertAsync(Bob, NewMemory(Bob, "zebra zebra zebra"), Token);
        await AssertScoresLikeFreshStore();
    }

    [Fact]
    public async Task Search_RacingWrites_CachedFrequenciesStillScoreLikeAFreshStore()
    {
        var writes = Task.Run(async () =>
        {
            for (var index = 0; index < 40; index++)
            {
                await Store.UpsertAsync(Alice, NewMemory(Alice, index % 3 == 0 ? $"zebra number {index}" : $"giraffe and zebra {index} at the zoo"), Token);
            }
        }, TestContext.Current.CancellationToken);
        var searches = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            while (!writes.IsCompleted)
            {
                await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "zebra giraffe zoo number" }, Token);
            }
        })).ToArray();
        await Task.WhenAll([writes, .. searches]);

        await AssertScoresLikeAFreshStoreAsync(Alice, "zebra giraffe zoo number", 40);
    }

    /// <summary>The store's cached statistics and frequencies rank and score exactly as a store opened afresh on the file.</summary>
    private async Task AssertScoresLikeAFreshStoreAsync(string userId, string query, int expectedHits)
    {
        var cached = await Store.SearchAsync(userId, new MemorySearchQuery { Text = query, Limit = 100 }, Token);
        await using var fresh = new SqliteMemoryStore(new SqliteMemoryStoreOptions { DatabasePath = DatabasePath }, Time);
        await fresh.InitializeAsync(Token);
        var expected = await fresh.SearchAsync(userId, new MemorySearchQuery { Text = query, Limit = 100 }, Token);

        Assert.Equal(expectedHits, expected.Count);
        Assert.Equal(expected.Select(hit => (hit.Memory.Id, Math.Round(hit.LexicalScore, 9))), cached.Select(hit => (hit.Memory.Id, Math.Round(hit.LexicalScore, 9))));
    }

    [Fact]
    public async Task ConcurrentUpserts_OneInvalid_FailsAloneAndEveryOtherIsStored()
    {
        var taken = NewMemory(Alice, "Alice's own memory of the lighthouse");
        await Store.UpsertAsync(Alice, taken, Token);

        // Many writers at once: they share transactions; Bob reusing Alice's id is refused without taking the others down.
        var writes = Enumerable.Range(0, 60).Select(index => Task.Run(() => Store.UpsertManyAsync(
            index % 2 == 0 ? Alice : Bob,
            [NewMemory(index % 2 == 0 ? Alice : Bob, $"walk number {index} along the harbour"), NewMemory(index % 2 == 0 ? Alice : Bob, $"tea number {index} by the window")],
            Token), TestContext.Current.CancellationToken)).ToList();
        var invalid = Task.Run(() => Store.UpsertAsync(Bob, taken with { UserId = Bob, Text = "Bob's overwrite" }, Token), TestContext.Current.CancellationToken);
        await Task.WhenAll(writes);
        await Assert.ThrowsAsync<ArgumentException>(() => invalid);

        Assert.Equal(61, await Store.CountAsync(Alice, cancellationToken: Token));
        Assert.Equal(60, await Store.CountAsync(Bob, cancellationToken: Token));
        Assert.Equal("Alice's own memory of the lighthouse", (await Store.GetAsync(Alice, taken.Id, Token))!.Text);
        await AssertScoresLikeAFreshStoreAsync(Bob, "walk harbour tea", 60);
    }

    [Fact]
    public async Task Delete_Memory_TextNoLongerInDatabaseFile()
    {
        const string Secret = "xylophonicsecretword";
        var memory = NewMemory(Alice, $"My {Secret} is here");
        await Store.UpsertAsync(Alice, memory, Token);
        await Store.UpsertAsync(Alice, NewMemory(Alice, "Something else entirely"), Token);
        await Store.DeleteAsync(Alice, memory.Id, Token);
        await Store.DisposeAsync();

        var bytes = await File.ReadAllBytesAsync(DatabasePath, Token);
        var wal = File.Exists(DatabasePath + "-wal") ? await File.ReadAllBytesAsync(DatabasePath + "-wal", Token) : [];

        Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(Secret)));
        Assert.Equal(-1, wal.AsSpan().IndexOf(Encoding.UTF8.GetBytes(Secret)));
    }

    [Fact]
    public async Task Update_CorrectedText_OldTextNoLongerInDatabaseFile()
    {
        const string Secret = "exboyfriendnamezorgon";
        var memory = NewMemory(Alice, $"Her ex is {Secret}");
        await Store.UpsertAsync(Alice, memory, Token);
        await Store.UpsertAsync(Alice, NewMemory(Alice, "Another memory"), Token);
        await Store.UpdateAsync(Alice, memory.Id, new MemoryCorrection { Text = "She does not want to talk about her ex" }, Token);
        await Store.DisposeAsync();

        var bytes = await File.ReadAllBytesAsync(DatabasePath, Token);

        Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(Secret)));
    }

    [Fact]
    public async Task Initialize_CorruptFile_MovesItAsideAndStartsEmpty()
    {
        var path = Path.Combine(_directory, "corrupt.db");
        await File.WriteAllTextAsync(path, "this is not a database, just some text that was written over it", Token);
        await using var store = new SqliteMemoryStore(new SqliteMemoryStoreOptions { DatabasePath = path }, Time);

        await store.InitializeAsync(Token);
        await store.UpsertAsync(Alice, NewMemory(Alice, "fresh start"), Token);

        Assert.NotNull(store.CorruptFileMovedTo);
        Assert.StartsWith(path + ".corrupt-", store.CorruptFileMovedTo, StringComparison.Ordinal);
        Assert.Equal("this is not a database, just some text that was written over it", await File.ReadAllTextAsync(store.CorruptFileMovedTo, Token));
        Assert.Equal(1, await store.CountAsync(Alice, cancellationToken: Token));
    }

    [Fact]
    public async Task Initialize_CorruptFileWithFailPolicy_ThrowsClearError()
    {
        var path = Path.Combine(_directory, "corrupt-fail.db");
        Directory.CreateDirectory(_directory);
        await File.WriteAllBytesAsync(path, [.. Enumerable.Range(0, 4096).Select(index => (byte)(index * 7))], Token);
        await using var store = new SqliteMemoryStore(new SqliteMemoryStoreOptions { DatabasePath = path, OnCorruption = SqliteCorruptionPolicy.Fail }, Time);

        var exception = await Assert.ThrowsAsync<MemoryStoreCorruptException>(() => store.InitializeAsync(Token));

        Assert.Contains(path, exception.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(path));
    }

    [Fact]
    public async Task Initialize_DamagedPagesInRealDatabase_IsDetected()
    {
        var path = Path.Combine(_directory, "damaged.db");
        await using (var store = new SqliteMemoryStore(new SqliteMemoryStoreOptions { DatabasePath = path }, Time))
        {
            await store.InitializeAsync(Token);
            await store.UpsertManyAsync(Alice, [.. Enumerable.Range(0, 300).Select(index => NewMemory(Alice, $"memory {index} with some padding text to fill pages"))], Token);
        }

        // Overwrite the middle of the file (b-tree pages) with garbage, keeping the valid header.
        var bytes = await File.ReadAllBytesAsync(path, Token);
        for (var index = 4096; index < bytes.Length - 4096; index++)
        {
            bytes[index] = 0xA5;
        }

        await File.WriteAllBytesAsync(path, bytes, Token);
        await using var reopened = new SqliteMemoryStore(new SqliteMemoryStoreOptions { DatabasePath = path }, Time);

        await reopened.InitializeAsync(Token);

        Assert.NotNull(reopened.CorruptFileMovedTo);
        Assert.Equal(0, await reopened.CountAsync(Alice, cancellationToken: Token));
    }

    [Fact]
    public async Task Operations_BeforeInitialize_ThrowClearError()
    {
        await using var store = new SqliteMemoryStore(new SqliteMemoryStoreOptions { DatabasePath = Path.Combine(_directory, "x.db") }, Time);

        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => store.CountAsync(Alice, cancellationToken: Token));

        Assert.Contains("InitializeAsync", exception.Message, StringComparison.Ordinal);
    }
}
