using System.Net.Http.Json;
using System.Text.Json;
using Anima.Testing;

namespace Anima.Server.Tests;

/// <summary>Every user turn is perceived, stored with the message, and shapes the prompt; the user can switch it off.</summary>
public sealed class PerceptionInTurnTests : IAsyncLifetime
{
    private ScriptedMindServer _mind = null!;
    private AnimaTestHost _host = null!;

    public async ValueTask InitializeAsync()
    {
        _mind = await ScriptedMindServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        _host = new AnimaTestHost(settings: AnimaTestHost.MindSettings(_mind, "scripted"));
        await _host.StartAsync(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _mind.DisposeAsync();
    }

    private static async Task<List<(string Event, JsonElement Data)>> SendAsync(HttpClient client, string text) =>
        await ServerSentEvents.ReadAllAsync(await client.PostAsJsonAsync("/api/companion/messages", new { text }, TestContext.Current.CancellationToken), TestContext.Current.CancellationToken);

    [Theory]
    [InlineData("I'm so happy and grateful, thank you so much!", "en")]
    [InlineData("오늘 정말 행복하고 고마워요!", "ko")]
    public async Task Send_JoyfulMessage_PerceivedPositiveStoredAndInPrompt(string text, string language)
    {
        using var client = await _host.SignUpAsync("happy-" + language);
        var events = await SendAsync(client, text);

        var perceived = Assert.Single(events, e => e.Event == "perceived").Data;
        Assert.True(perceived.GetProperty("valence").GetSingle() > 0.2f, perceived.ToString());
        Assert.Equal(language, perceived.GetProperty("language").GetString());
        Assert.NotEmpty(perceived.GetProperty("labels").EnumerateArray());
        Assert.Contains("## How the user seems", _mind.LastMessages[0].Text, StringComparison.Ordinal);

        var history = await client.GetFromJsonAsync<JsonElement>("/api/companion/history", TestContext.Current.CancellationToken);
        var stored = history.GetProperty("turns")[0].GetProperty("emotion");
        Assert.Equal(perceived.GetProperty("valence").GetSingle(), stored.GetProperty("valence").GetSingle());
        var mood = await client.GetFromJsonAsync<JsonElement>("/api/companion/mood?days=1", TestContext.Current.CancellationToken);
        Assert.Equal(1, mood.GetArrayLength());
    }

    [Fact]
    public async Task Send_SadMessage_NegativeValenceAndMoodDescribedInPrompt()
    {
        using var client = await _host.SignUpAsync("sad");
        await SendAsync(client, "I feel so sad and lonely, I miss her terribly.");
        var events = await SendAsync(client, "Everything is awful and I'm exhausted.");

        Assert.True(Assert.Single(events, e => e.Event == "perceived").Data.GetProperty("valence").GetSingle() < 0);
        var system = _mind.LastMessages[0].Text;
        var section = system[system.IndexOf("## How the user seems", StringComparison.Ordinal)..];
        Assert.Matches("(down|low|sad|upset|distress|unhappy)", section);
    }

    [Fact]
    public async Task Send_PerceptionSwitchedOff_NothingPerceivedOrStored()
    {
        using var client = await _host.SignUpAsync("private");
        using var update = await client.PutAsJsonAsync("/api/companion/settings", new { perceptionEnabled = false }, TestContext.Current.CancellationToken);
        update.EnsureSuccessStatusCode();

        var events = await SendAsync(client, "I'm furious about this!");

        Assert.DoesNotContain(events, e => e.Event == "perceived");
        Assert.DoesNotContain("How the user seems", _mind.LastMessages[0].Text, StringComparison.Ordinal);
        var history = await client.GetFromJsonAsync<JsonElement>("/api/companion/history", TestContext.Current.CancellationToken);
        Assert.Equal(JsonValueKind.Null, history.GetProperty("turns")[0].GetProperty("emotion").ValueKind);
    }

    [Fact]
    public async Task Send_OtherLanguage_NotGuessed()
    {
        using var client = await _host.SignUpAsync("polyglot");
        var events = await SendAsync(client, "Сегодня я очень счастлив");

        Assert.DoesNotContain(events, e => e.Event == "perceived");
        Assert.Equal("accepted", events[0].Event);
    }
}

/// <summary>The companion can say truthfully how many people it is talking with.</summary>
public sealed class HonestyTests
{
    [Fact]
    public async Task Prompt_ThreeUsersTalking_SaysThreeConversations()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var mind = await ScriptedMindServer.StartAsync(cancellationToken: cancellationToken);
        await using var host = new AnimaTestHost(settings: AnimaTestHost.MindSettings(mind, "m"));
        await host.StartAsync(cancellationToken);
        foreach (var name in new[] { "one", "two" })
        {
            using var other = await host.SignUpAsync(name);
            await ServerSentEvents.ReadAllAsync(await other.PostAsJsonAsync("/api/companion/messages", new { text = "hello" }, cancellationToken), cancellationToken);
        }

        // The count is cached for a few seconds; the third user's own message makes it three.
        await Task.Delay(TimeSpan.FromSeconds(5.5), cancellationToken);
        using var asker = await host.SignUpAsync("asker");
        await ServerSentEvents.ReadAllAsync(await asker.PostAsJsonAsync("/api/companion/messages", new { text = "How many people are you talking to right now?" }, cancellationToken), cancellationToken);

        Assert.Contains("right now you are in 3 conversations on this Anima installation (this one and 2 others)", mind.LastMessages[0].Text, StringComparison.Ordinal);
        var presence = await asker.GetFromJsonAsync<JsonElement>("/api/presence", cancellationToken);
        Assert.Equal(3, presence.GetProperty("activeConversations").GetInt32());
    }
}
