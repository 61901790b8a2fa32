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
            await using var command = new NpgsqlCommand($"COMMENT ON TABLE {_table} IS NULL; UPDATE {_table} SET search = to_tsvector('simple', 'old');", connection);
            await command.ExecuteNonQueryAsync(Token);
        }

        await using var reopened = new PostgresMemoryStore(fixture.Server.ConnectionString!, Time, _table);
        await reopened.InitializeAsync(Token);
        var hits = await reopened.SearchAsync(Alice, new MemorySearchQuery { Text = "did she go to pottery with the children?" }, Token);

        Assert.Equal(memory.Id, Assert.Single(hits).Memory.Id);
    }
}
