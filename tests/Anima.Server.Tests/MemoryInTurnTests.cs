using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Anima.Testing;

namespace Anima.Server.Tests;

/// <summary>Memory end to end: every turn remembered, recalled into the prompt, consolidated when idle, owned by the user.</summary>
public sealed class MemoryInTurnTests : IAsyncLifetime
{
    private ScriptedMindServer _mind = null!;
    private AnimaTestHost _host = null!;

    public async ValueTask InitializeAsync()
    {
        _mind = await ScriptedMindServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        _mind.Script = messages =>
        {
            var last = messages.Last(message => message.Role == "user").Text;
            return last.Contains("long-term memory of a companion", StringComparison.Ordinal) || messages[0].Text.Contains("long-term memory of a companion", StringComparison.Ordinal)
                ? """{"memories":[{"kind":"event","text":"The user has a job interview at the aquarium on Friday.","importance":0.9,"confidence":0.9,"eventDate":null,"supersedes":[],"turns":["t1"]}],"reflection":"They trusted me with something that makes them nervous."}"""
                : ScriptedMindServer.DefaultScript(messages);
        };
        _host = new AnimaTestHost(settings: AnimaTestHost.MindSettings(_mind, "scripted", ("Anima:Companion:ConsolidateAfterIdle", "00:00:01")));
        await _host.StartAsync(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _mind.DisposeAsync();
    }

    private static async Task SendAsync(HttpClient client, string text) =>
        await ServerSentEvents.ReadAllAsync(await client.PostAsJsonAsync("/api/companion/messages", new { text }, TestContext.Current.CancellationToken), TestContext.Current.CancellationToken);

    private static async Task<JsonElement> MemoriesAsync(HttpClient client, string query = "") =>
        await client.GetFromJsonAsync<JsonElement>("/api/memories/" + query, TestContext.Current.CancellationToken);

    [Fact]
    public async Task Turn_EarlierMessage_IsRecalledIntoThePromptWhenRelevant()
    {
        using var client = await _host.SignUpAsync("recaller");
        await SendAsync(client, "My interview at the aquarium is on Friday and I'm nervous.");
        await SendAsync(client, "I had pasta for lunch.");
        await SendAsync(client, "Any advice for the aquarium interview?");

        var system = _mind.LastMessages.First(message => message.Role == "system").Text;
        var section = system[system.IndexOf("## What you remember", StringComparison.Ordinal)..];
        Assert.Contains("interview at the aquarium is on Friday", section, StringComparison.Ordinal);
        Assert.DoesNotContain("Any advice for the aquarium interview?", section, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Idle_AfterConversation_ConsolidatesFactsTheUserCanSeeCorrectAndDelete()
    {
        using var client = await _host.SignUpAsync("consolidator");
        await SendAsync(client, "I have a job interview at the aquarium on Friday.");

        // The conversation goes quiet; the grain's idle timer asks the mind to extract memories.
        var items = await WaitForAsync(async () => (await MemoriesAsync(client, "?kind=event")).GetProperty("items"), items => items.GetArrayLength() > 0);
        var memory = Assert.Single(items.EnumerateArray());
        Assert.Equal("The user has a job interview at the aquarium on Friday.", memory.GetProperty("text").GetString());
        var id = memory.GetProperty("id").GetString();

        using var corrected = await client.PutAsJsonAsync($"/api/memories/{id}", new { text = "The user has a job interview at the zoo on Friday." }, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, corrected.StatusCode);
        Assert.Equal("The user has a job interview at the zoo on Friday.", (await MemoriesAsync(client, "?q=zoo")).GetProperty("items")[0].GetProperty("text").GetString());
        Assert.Equal(0, (await MemoriesAsync(client, "?q=aquarium&kind=event")).GetProperty("items").GetArrayLength());

        using var deleted = await client.DeleteAsync($"/api/memories/{id}", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(0, (await MemoriesAsync(client, "?q=zoo")).GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Turn_IsStoredOnceWithItsReplyAsContext()
    {
        using var client = await _host.SignUpAsync("neighbours");
        await SendAsync(client, "My cat is called Biscuit.");

        // "carefully" is only in the companion's reply; the user's turn is found by it once it was stored again with the reply.
        var items = await WaitForAsync(async () => (await MemoriesAsync(client, "?q=carefully&kind=episodic")).GetProperty("items"),
            items => items.EnumerateArray().Any(item => item.GetProperty("text").GetString() == "User: My cat is called Biscuit."));
        Assert.Contains(items.EnumerateArray(), item => item.GetProperty("text").GetString()!.StartsWith("Companion: I hear you.", StringComparison.Ordinal));
        var biscuit = (await MemoriesAsync(client, "?q=Biscuit&kind=episodic")).GetProperty("items");
        Assert.Single(biscuit.EnumerateArray(), item => item.GetProperty("text").GetString() == "User: My cat is called Biscuit.");
    }

    [Fact]
    public async Task Memories_AreScopedExportableAndDeletable()
    {
        using var alice = await _host.SignUpAsync("mem-alice");
        using var bob = await _host.SignUpAsync("mem-bob");
        await SendAsync(alice, "My cat is called Biscuit.");

        Assert.Equal(0, (await MemoriesAsync(bob, "?q=Biscuit&kind=episodic")).GetProperty("items").GetArrayLength());
        Assert.NotEqual(0, (await MemoriesAsync(alice, "?q=Biscuit&kind=episodic")).GetProperty("items").GetArrayLength());

        using var export = await alice.GetAsync("/api/memories/export", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        Assert.Contains("Biscuit", await export.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);

        using var wipe = await alice.DeleteAsync("/api/memories/", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, wipe.StatusCode);
        Assert.Equal(0, (await MemoriesAsync(alice, "?q=Biscuit&kind=episodic")).GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Memories_UnknownKind_Returns400()
    {
        using var client = await _host.SignUpAsync("mem-typo");
        using var response = await client.GetAsync("/api/memories/?kind=dreams", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    private static async Task<T> WaitForAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        // Consolidation runs on the grain's idle timer (1 s here); poll within a bound.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
    }
}
