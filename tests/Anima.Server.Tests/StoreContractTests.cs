// Store calls here are short and local; the test-cancellation token would only add noise to every line.
#pragma warning disable xUnit1051

using Anima.Abstractions;
using Anima.Core.Accounts;
using Anima.Core.Conversation;
using Anima.Storage;
using Anima.Storage.Postgres;
using Anima.Testing;

namespace Anima.Server.Tests;

/// <summary>
/// One contract for the conversation and account stores, run on the embedded SQLite database and on the
/// cluster's PostgreSQL database: what a node stores must read back the same on either.
/// </summary>
public abstract class StoreContractTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 9, 30, 0, TimeSpan.Zero);

    protected abstract Task<(IConversationStore Conversations, IAccountStore Accounts)> CreateAsync();

    [Fact]
    public async Task A_message_id_is_stored_once_and_found_with_its_reply()
    {
        var (store, _) = await CreateAsync();
        var user = NewUser();
        var emotion = new PerceivedEmotion(["joy"], 0.6f, 0.4f, "en", 0.8f);
        var message = await store.AppendAsync(user, TurnRole.User, "I got the job!", TurnStatus.Complete, Now, emotion, "m-1");
        await Assert.ThrowsAsync<DuplicateMessageException>(() => store.AppendAsync(user, TurnRole.User, "I got the job!", TurnStatus.Complete, Now, null, "m-1"));

        var found = await store.FindMessageAsync(user, "m-1");
        Assert.NotNull(found);
        Assert.Equal(message.Id, found.Message.Id);
        Assert.Equal(0.6f, found.Message.Emotion!.Valence, 3);
        Assert.Null(found.Reply);

        var reply = await store.AppendAsync(user, TurnRole.Companion, "Congratulations!", TurnStatus.Complete, Now.AddSeconds(1));
        found = await store.FindMessageAsync(user, "m-1");
        Assert.Equal(reply.Id, found!.Reply!.Id);
        Assert.Equal("Congratulations!", found.Reply.Text);
        Assert.Equal(2, await store.CountAsync(user));

        // Ids are per user: another user may use the same id, and never sees this user's message.
        Assert.Null(await store.FindMessageAsync(NewUser(), "m-1"));
        var other = NewUser();
        await store.AppendAsync(other, TurnRole.User, "hello", TurnStatus.Complete, Now, null, "m-1");
        Assert.Equal(1, await store.CountAsync(other));
    }

    [Fact]
    public async Task Turns_page_update_mood_and_active_users_read_back_the_same()
    {
        var (store, _) = await CreateAsync();
        var user = NewUser();
        for (var index = 0; index < 5; index++)
        {
            await store.AppendAsync(user, TurnRole.User, $"message {index} 안녕", TurnStatus.Complete, Now.AddMinutes(index), new PerceivedEmotion(["neutral"], index / 10f, 0.2f, "en", 1f));
            await store.AppendAsync(user, TurnRole.Companion, $"reply {index}", TurnStatus.Streaming, Now.AddMinutes(index).AddSeconds(5));
        }

        var last = await store.GetPageAsync(user, 4);
        Assert.True(last.HasMore);
        Assert.Equal(["message 3 안녕", "reply 3", "message 4 안녕", "reply 4"], last.Turns.Select(turn => turn.Text));
        var earlier = await store.GetPageAsync(user, 100, last.Turns[0].Id);
        Assert.False(earlier.HasMore);
        Assert.Equal(6, earlier.Turns.Count);

        await store.UpdateAsync(user, last.Turns[^1].Id, "reply 4, finished", TurnStatus.Complete);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => store.UpdateAsync(NewUser(), last.Turns[^1].Id, "not yours", TurnStatus.Complete));
        Assert.Equal(4, await store.RecoverStreamingAsync(user));
        var final = await store.GetPageAsync(user, 3);
        Assert.Equal(TurnStatus.Interrupted, final.Turns[0].Status);
        Assert.Equal(("reply 4, finished", TurnStatus.Complete), (final.Turns[2].Text, final.Turns[2].Status));

        var mood = await store.GetMoodAsync(user, Now.AddMinutes(2));
        Assert.Equal([0.2f, 0.3f, 0.4f], mood.Select(point => MathF.Round(point.Valence, 3)));
        Assert.True(await store.CountActiveUsersAsync(Now.AddMinutes(4)) >= 1);
        Assert.True(await store.CountActiveUsersAsync(Now.AddHours(1)) == 0);
    }

    [Fact]
    public async Task The_first_account_is_the_administrator_and_usernames_ignore_case()
    {
        var (_, accounts) = await CreateAsync();
        var name = "Mina" + Guid.NewGuid().ToString("N")[..6];
        var first = await accounts.CreateUserAsync(name, "hash-1", Now);
        Assert.NotNull(first);
        Assert.Null(await accounts.CreateUserAsync(name.ToUpperInvariant(), "hash-2", Now));
        var second = await accounts.CreateUserAsync("other" + Guid.NewGuid().ToString("N")[..6], "hash-3", Now);
        Assert.False(second!.IsAdmin);
        var found = await accounts.FindByUsernameAsync(name.ToLowerInvariant());
        Assert.Equal((first.Id, "hash-1"), (found!.Value.Account.Id, found.Value.PasswordHash));

        await accounts.CreateSessionAsync("token-hash-" + first.Id, first.Id, "token", Now, Now.AddDays(1));
        Assert.Equal(first.Id, (await accounts.FindSessionAsync("token-hash-" + first.Id, Now.AddHours(1)))!.Id);
        Assert.Null(await accounts.FindSessionAsync("token-hash-" + first.Id, Now.AddDays(2)));
        await accounts.DeleteSessionAsync("token-hash-" + first.Id);
        Assert.Null(await accounts.FindSessionAsync("token-hash-" + first.Id, Now.AddHours(1)));

        await accounts.SetSettingAsync("mind", "{\"provider\":\"ollama\"}");
        Assert.Equal("{\"provider\":\"ollama\"}", await accounts.GetSettingAsync("mind"));
        await accounts.SetSettingAsync("mind", null);
        Assert.Null(await accounts.GetSettingAsync("mind"));
    }

    private static string NewUser() => Guid.NewGuid().ToString("N");
}

public sealed class SqliteStoreContractTests : StoreContractTests, IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("anima-store-");

    protected override Task<(IConversationStore Conversations, IAccountStore Accounts)> CreateAsync()
    {
        var database = new SqliteDatabase(Path.Combine(_directory.FullName, Guid.NewGuid().ToString("N") + ".db"));
        return Task.FromResult<(IConversationStore, IAccountStore)>((new SqliteConversationStore(database), new SqliteAccountStore(database)));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Delete(recursive: true);
    }
}

public sealed class PostgresStoreContractTests(PostgresFixture fixture) : StoreContractTests, IClassFixture<PostgresFixture>, IAsyncDisposable
{
    private readonly List<PostgresDatabase> _databases = [];

    protected override async Task<(IConversationStore Conversations, IAccountStore Accounts)> CreateAsync()
    {
        Assert.SkipWhen(fixture.Server.ConnectionString is null, fixture.Server.SkipReason ?? "PostgreSQL is not available.");

        // Each test gets a database of its own, so "the first account" means the first in that database.
        var name = "contract_" + Guid.NewGuid().ToString("N")[..12];
        await using (var admin = new Npgsql.NpgsqlConnection(fixture.Server.ConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new Npgsql.NpgsqlCommand($"CREATE DATABASE {name};", admin);
            await create.ExecuteNonQueryAsync();
        }

        var database = new PostgresDatabase(new Npgsql.NpgsqlConnectionStringBuilder(fixture.Server.ConnectionString) { Database = name }.ConnectionString);
        _databases.Add(database);
        await database.InitializeAsync();
        await database.InitializeAsync();
        return (new PostgresConversationStore(database), new PostgresAccountStore(database));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }
    }
}
