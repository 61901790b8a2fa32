namespace Anima.Testing;

/// <summary>
/// A throwaway PostgreSQL server (<see cref="PostgresServer"/>) as an xunit class fixture, shared by the
/// PostgreSQL halves of the store contracts. <see cref="PostgresServer.SkipReason"/> says why none started.
/// </summary>
public sealed class PostgresFixture : Xunit.IAsyncLifetime
{
    public PostgresServer Server { get; } = new();

    public ValueTask InitializeAsync() => Server.InitializeAsync();

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}
