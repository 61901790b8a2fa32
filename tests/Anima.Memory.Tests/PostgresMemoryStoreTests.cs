using Anima.Memory.Storage;

namespace Anima.Memory.Tests;

/// <summary>The store contract on a real, throwaway PostgreSQL server; each test uses its own table.</summary>
public sealed class PostgresMemoryStoreTests(PostgresServer server) : MemoryStoreContractTests, IClassFixture<PostgresServer>
{
    protected override Task<IMemoryStore> CreateStoreAsync(CancellationToken cancellationToken)
    {
        Assert.SkipWhen(server.SkipReason is not null, server.SkipReason ?? string.Empty);
        IMemoryStore store = new PostgresMemoryStore(server.ConnectionString!, Time, "memories_" + Guid.NewGuid().ToString("N")[..16]);
        return Task.FromResult(store);
    }
}
