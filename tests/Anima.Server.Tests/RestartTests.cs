using System.Net.Http.Json;
using System.Text.Json;
using Anima.Testing;

namespace Anima.Server.Tests;

/// <summary>Start, talk, stop, start: history, persona and sessions survive, because everything is in the database.</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task Restart_AfterConversation_HistoryNameAndSessionIntact()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var mind = await ScriptedMindServer.StartAsync(cancellationToken: cancellationToken);
        var settings = AnimaTestHost.MindSettings(mind, "scripted", ("Anima:Companion:NameAfterUserTurns", "1"));
        await using var first = new AnimaTestHost(settings: settings);
        await first.StartAsync(cancellationToken);
        using var client = await first.SignUpAsync("returning", "returning password");
        var token = (await (await client.PostAsJsonAsync("/api/auth/signin", new { username = "returning", password = "returning password", session = "token" }, cancellationToken))
            .Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("token").GetString();
        using (var response = await client.PostAsJsonAsync("/api/companion/messages", new { text = "Remember this: I love the ocean." }, cancellationToken))
        {
            await ServerSentEvents.ReadAllAsync(response, cancellationToken);
        }

        await first.StopAsync();

        await using var second = new AnimaTestHost(first.DataDirectory, settings);
        await second.StartAsync(cancellationToken);
        using var again = new HttpClient { BaseAddress = second.BaseAddress };
        again.DefaultRequestHeaders.Authorization = new("Bearer", token);
        var history = await again.GetFromJsonAsync<JsonElement>("/api/companion/history", cancellationToken);
        var turns = history.GetProperty("turns").EnumerateArray().ToArray();
        Assert.Equal(2, turns.Length);
        Assert.Equal("Remember this: I love the ocean.", turns[0].GetProperty("text").GetString());
        Assert.Equal("complete", turns[1].GetProperty("status").GetString());
        var companion = await again.GetFromJsonAsync<JsonElement>("/api/companion/", cancellationToken);
        Assert.Equal("Sol", companion.GetProperty("profile").GetProperty("name").GetString());
        Assert.Equal(2, companion.GetProperty("turnCount").GetInt32());
    }

    [Fact]
    public async Task Start_CorruptDatabaseFile_FailsWithClearMessageAndKeepsTheFile()
    {
        var directory = Path.Combine(Path.GetTempPath(), "anima-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var database = Path.Combine(directory, "anima.db");
        await File.WriteAllTextAsync(database, "this is not a database, but it might be someone's data", TestContext.Current.CancellationToken);
        await using var host = new AnimaTestHost(directory);

        var exception = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains("not a valid Anima database", exception.ToString(), StringComparison.Ordinal);
        Assert.Equal("this is not a database, but it might be someone's data", await File.ReadAllTextAsync(database, TestContext.Current.CancellationToken));
    }
}
