using Anima.Memory.Storage;
using Npgsql;

namespace Anima.Memory.Tests;

/// <summary>The store contract on a real, throwaway PostgreSQL server; each test uses its own table.</summary>
public sealed class PostgresMemoryStoreTests(Anima.Testing.PostgresFixture fixture) : MemoryStoreContractTests, IClassFixture<Anima.Testing.PostgresFixture>
{
    private readonly string _table = "memories_" + Guid.NewGuid().ToString("N")[..16];

    protected override Task<IMemoryStore> CreateStoreAsync(CancellationToken cancellationToken)
    {
        Assert.SkipWhen(fixture.Server.SkipReason is not null, fixture.Server.SkipReason ?? string.Empty);
        IMemoryStore store = new PostgresMemoryStore(fixture.Server.ConnectionString!, Time, _table);
        return Task.FromResult(store);
    }

    [Fact]
    public async Task Initialize_IndexFromAnotherAnalyzerVersion_RebuildsIt()
    {
        var memory = NewMemory(Alice, "She went to the pottery class with the kids");
        await Store.UpsertManyAsync(Alice, [memory, NewMemory(Alice, "Bought bread")], Token);
        // What a table indexed by an older analyzer looks like to this one: no recorded version, no usable terms.
        await using (var connection = new NpgsqlConnection(fixture.Server.ConnectionString))
        {
            await connection.OpenAsync(Token);
            await using var command = new NpgsqlCommand($"COMMENT ON TABLE {_table} IS NULL; UPDATE {_table} SET search = to_tsvector('simple', 'old'); DELETE FROM {_table}_vocab;", connection);
            await command.ExecuteNonQueryAsync(Token);
        }

        await using var reopened = new PostgresMemoryStore(fixture.Server.ConnectionString!, Time, _table);
        await reopened.InitializeAsync(Token);
        var hits = await reopened.SearchAsync(Alice, new MemorySearchQuery { Text = "did she go to pottery with the children?" }, Token);

        Assert.Equal(memory.Id, Assert.Single(hits).Memory.Id);
    }

    /// <summary>A small fixed corpus, in English and Korean, with search contexts, other users' memories and a
    /// correction and a deletion on the way: both stores rank it in the same order with the same BM25 scores.</summary>
    [Fact]
    public async Task Search_FixedCorpus_RanksAsSqliteStoreDoes()
    {
        var directory = Path.Combine(Path.GetTempPath(), "anima-parity-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var sqlite = new SqliteMemoryStore(new SqliteMemoryStoreOptions { DatabasePath = Path.Combine(directory, "memories.db") }, Time);
            await sqlite.InitializeAsync(Token);
            string[] texts =
            [
                "Caroline went to the LGBTQ support group yesterday and felt welcomed",
                "Melanie painted a sunrise over the lake last weekend",
                "I ran a charity race for mental health on Saturday",
                "My dog Max loves the beach; we go every Sunday morning",
                "The pottery class was fun, the kids made bowls",
                "Caroline is researching adoption agencies",
                "We camped in the mountains and watched the meteor shower",
                "Melanie plays the violin and the clarinet",
                "면접 준비 때문에 요즘 바빠요",
                "부산으로 이사 갔어요, 바다가 가까워서 좋아요",
                "Painting is how I relax after work",
                "Max chased a seagull at the beach",
            ];
            var memories = new List<Memory>();
            for (var index = 0; index < texts.Length; index++)
            {
                memories.Add(NewMemory(Alice, texts[index], MemoryKind.Episodic) with
                {
                    CreatedAt = Time.GetUtcNow().AddMinutes(index),
                    SearchContext = index % 3 == 0 ? "Speaker asked about the weekend and the beach" : null,
                });
            }

            foreach (var store in new IMemoryStore[] { Store, sqlite })
            {
                await store.UpsertManyAsync(Alice, memories, Token);
                await store.UpsertAsync(Bob, NewMemory(Bob, "Bob went to the beach with his dog and painted the lake"), Token);
                await store.UpdateAsync(Alice, memories[4].Id, new MemoryCorrection { Text = "The pottery class was fun, the kids made cups and a bowl" }, Token);
                await store.DeleteAsync(Alice, memories[6].Id, Token);
            }

            string[] queries =
            [
                "What did Melanie paint?", "Where does Max go on Sundays?", "What did Caroline research?",
                "beach dog weekend", "이사 어디로 갔어?", "면접", "What did the kids make in the pottery class?",
                "meteor shower mountains", "What instruments does Melanie play?",
            ];
            foreach (var query in queries)
            {
                var expected = await sqlite.SearchAsync(Alice, new MemorySearchQuery { Text = query, Limit = 10 }, Token);
                var actual = await Store.SearchAsync(Alice, new MemorySearchQuery { Text = query, Limit = 10 }, Token);
                Assert.Equal(expected.Select(hit => hit.Memory.Text), actual.Select(hit => hit.Memory.Text));
                Assert.Equal(expected.Select(hit => hit.LexicalScore), actual.Select(hit => hit.LexicalScore), (left, right) => Math.Abs(left - right) < 1e-9);
            }

            Assert.NotEmpty(await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "beach dog weekend" }, Token));
            Assert.Empty(await Store.SearchAsync(Alice, new MemorySearchQuery { Text = "meteor" }, Token));
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    /// <summary>The side tables hold exactly what counting the rows again gives, after inserts, corrections and deletions.</summary>
    [Fact]
    public async Task Statistics_AfterWritesAndDeletes_MatchARecount()
    {
        var first = NewMemory(Alice, "tea with Minji at the cafe");
        var second = NewMemory(Alice, "green tea in Busan") with { SearchContext = "Where did you drink tea?" };
        await Store.UpsertManyAsync(Alice, [first, second, NewMemory(Alice, "coffee")], Token);
        await Store.UpsertAsync(Bob, NewMemory(Bob, "tea"), Token);
        await Store.UpdateAsync(Alice, first.Id, new MemoryCorrection { Text = "coffee with Minseo at the cafe" }, Token);
        await Store.DeleteAsync(Alice, second.Id, Token);
        var before = await ReadSideTablesAsync();

        // A changed layout comment makes the next store count everything again from the rows.
        await ExecuteAsync($"COMMENT ON TABLE {_table} IS 'recount';");
        await using (var reopened = new PostgresMemoryStore(fixture.Server.ConnectionString!, Time, _table))
        {
            await reopened.InitializeAsync(Token);
        }

        Assert.Equal(await ReadSideTablesAsync(), before);
        Assert.Contains("alice coffe 2", before); // the analyser stems "coffee"
        Assert.Contains("alice minseo 1", before);
        Assert.DoesNotContain("alice minji 1", before);
        Assert.DoesNotContain("alice busan 1", before);
        Assert.Contains("alice 2 4.000000", before);
        Assert.Contains($"{Bob} tea 1", before);

        await Store.DeleteAllAsync(Alice, Token);
        Assert.All(await ReadSideTablesAsync(), row => Assert.StartsWith(Bob + " ", row, StringComparison.Ordinal));
    }

    /// <summary>Two nodes writing, correcting and deleting one user's memories at once leave the side tables exact.</summary>
    [Fact]
    public async Task Statistics_ConcurrentWritesFromTwoNodes_MatchARecount()
    {
        await using var other = new PostgresMemoryStore(fixture.Server.ConnectionString!, Time, _table);
        await other.InitializeAsync(Token);
        string[] words = ["tea", "coffee", "Busan", "Seoul", "guitar", "piano", "interview", "면접", "이사", "바다"];
        var stores = new IMemoryStore[] { Store, other };
        var tasks = Enumerable.Range(0, 16).Select(async index =>
        {
            var store = stores[index % 2];
            var memories = Enumerable.Range(0, 8)
                .Select(item => NewMemory(Alice, $"{words[(index + item) % words.Length]} and {words[(index * 3 + item) % words.Length]} note {index}"))
                .ToArray();
            await store.UpsertManyAsync(Alice, memories, Token);
            await store.UpdateAsync(Alice, memories[0].Id, new MemoryCorrection { Text = $"{words[index % words.Length]} corrected {index}" }, Token);
            await stores[(index + 1) % 2].DeleteAsync(Alice, memories[1].Id, Token);
        });
        await Task.WhenAll(tasks);
        var before = await ReadSideTablesAsync();

        await ExecuteAsync($"COMMENT ON TABLE {_table} IS 'recount';");
        await using (var reopened = new PostgresMemoryStore(fixture.Server.ConnectionString!, Time, _table))
        {
            await reopened.InitializeAsync(Token);
        }

        Assert.Equal(await ReadSideTablesAsync(), before);
        Assert.Contains(before, row => row.StartsWith("alice 112 ", StringComparison.Ordinal));
    }

    private async Task<List<string>> ReadSideTablesAsync()
    {
        await using var connection = new NpgsqlConnection(fixture.Server.ConnectionString);
        await connection.OpenAsync(Token);
        await using var command = new NpgsqlCommand($"""
            SELECT user_id || ' ' || term || ' ' || documents FROM {_table}_vocab
            UNION ALL SELECT user_id || ' ' || documents || ' ' || round(total_length::numeric, 6) FROM {_table}_stats ORDER BY 1;
            """, connection);
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(Token);
        while (await reader.ReadAsync(Token))
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(fixture.Server.ConnectionString);
        await connection.OpenAsync(Token);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Token);
    }
}
