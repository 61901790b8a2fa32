using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Anima.Testing;

namespace Anima.Server.Tests;

/// <summary>The core loop over real HTTP: a real server, a real OpenAI-compatible mind server on loopback.</summary>
public sealed class ConversationApiTests : IAsyncLifetime
{
    private ScriptedMindServer _mind = null!;
    private AnimaTestHost _host = null!;

    public async ValueTask InitializeAsync()
    {
        _mind = await ScriptedMindServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        _host = new AnimaTestHost(settings: AnimaTestHost.MindSettings(_mind, "scripted", ("Anima:Companion:FirstTokenTimeout", "00:00:03"), ("Anima:Companion:TokenGapTimeout", "00:00:03")));
        await _host.StartAsync(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _mind.DisposeAsync();
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, string text) =>
        client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/companion/messages") { Content = JsonContent.Create(new { text }) }, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);

    private static async Task<JsonElement[]> HistoryAsync(HttpClient client)
    {
        var page = await client.GetFromJsonAsync<JsonElement>("/api/companion/history?limit=100", TestContext.Current.CancellationToken);
        return page.GetProperty("turns").EnumerateArray().ToArray();
    }

    [Fact]
    public async Task SendMessage_MindConnected_StreamsReplyAndStoresBothTurns()
    {
        using var client = await _host.SignUpAsync("theodore");
        _mind.TokensPerSecond = 20; // slower than the companion's shortest event interval (50 ms), so every piece is its own event
        using var response = await SendAsync(client, "I wrote a letter today.");

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = await ServerSentEvents.ReadAllAsync(response, TestContext.Current.CancellationToken);
        Assert.Equal("accepted", events[0].Event);
        var tokens = events.Where(e => e.Event == "token").Select(e => e.Data.GetProperty("text").GetString()).ToList();
        var expected = ScriptedMindServer.DefaultScript([("user", "I wrote a letter today.")]);
        Assert.True(tokens.Count > 5, "the reply should arrive in many pieces");
        Assert.Equal(expected, string.Concat(tokens));
        Assert.Equal("done", events[^1].Event);
        Assert.Equal("complete", events[^1].Data.GetProperty("status").GetString());

        var history = await HistoryAsync(client);
        Assert.Equal(2, history.Length);
        Assert.Equal(("user", "I wrote a letter today."), (history[0].GetProperty("role").GetString(), history[0].GetProperty("text").GetString()));
        Assert.Equal(("companion", expected), (history[1].GetProperty("role").GetString(), history[1].GetProperty("text").GetString()));
    }

    [Fact]
    public async Task SendMessage_PromptContainsPersonaHistoryAndMessage()
    {
        using var client = await _host.SignUpAsync("amy");
        await ServerSentEvents.ReadAllAsync(await SendAsync(client, "First thing."), TestContext.Current.CancellationToken);
        await ServerSentEvents.ReadAllAsync(await SendAsync(client, "Second thing."), TestContext.Current.CancellationToken);

        var messages = _mind.LastMessages;
        Assert.Equal("system", messages[0].Role);
        Assert.Contains("AI companion", messages[0].Text, StringComparison.Ordinal);
        Assert.Contains("honest", messages[0].Text, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(("user", "First thing."), messages[1]);
        Assert.Equal("assistant", messages[2].Role);
        Assert.Equal(("user", "Second thing."), messages[^1]);
    }

    [Fact]
    public async Task SendMessage_Empty_Returns400AndStoresNothing()
    {
        using var client = await _host.SignUpAsync("empty-sender");
        using var response = await SendAsync(client, "   ");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        Assert.Equal("https://anima.dev/problems/empty-message", problem.GetProperty("type").GetString());
        Assert.Empty(await HistoryAsync(client));
    }

    [Fact]
    public async Task SendMessage_Oversized_Returns413WithTheLimit()
    {
        using var client = await _host.SignUpAsync("long-writer");
        using var response = await SendAsync(client, new string('a', 16_001));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        Assert.Contains("16000", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(await HistoryAsync(client));
    }

    [Fact]
    public async Task SendMessage_AtTheLimit_IsAccepted()
    {
        using var client = await _host.SignUpAsync("limit-writer");
        var events = await ServerSentEvents.ReadAllAsync(await SendAsync(client, new string('가', 16_000)), TestContext.Current.CancellationToken);

        Assert.Equal("accepted", events[0].Event);
        Assert.Equal(16_000, (await HistoryAsync(client))[0].GetProperty("text").GetString()!.Length);
    }

    [Fact]
    public async Task SendMessage_InvalidJson_Returns400ProblemDetails()
    {
        using var client = await _host.SignUpAsync("json-breaker");
        using var content = new StringContent("{\"text\": ", System.Text.Encoding.UTF8, "application/json");
        using var response = await client.PostAsync("/api/companion/messages", content, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        Assert.StartsWith("The request body is not valid JSON", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    private static Task<HttpResponseMessage> SendWithIdAsync(HttpClient client, string text, string messageId) =>
        client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/companion/messages") { Content = JsonContent.Create(new { text, messageId }) }, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);

    [Fact]
    public async Task SendMessage_RetriedWithTheSameId_IsStoredOnceAndGetsTheSameReply()
    {
        using var client = await _host.SignUpAsync("retrier");
        var first = await ServerSentEvents.ReadAllAsync(await SendWithIdAsync(client, "Did you miss me?", "msg-42"), TestContext.Current.CancellationToken);
        var requestsAfterFirst = _mind.Requests;
        var retry = await ServerSentEvents.ReadAllAsync(await SendWithIdAsync(client, "Did you miss me?", "msg-42"), TestContext.Current.CancellationToken);

        Assert.Equal(first[0].Data.GetProperty("turnId").GetInt64(), retry[0].Data.GetProperty("turnId").GetInt64());
        Assert.Equal(
            string.Concat(first.Where(e => e.Event == "token").Select(e => e.Data.GetProperty("text").GetString())),
            string.Concat(retry.Where(e => e.Event == "token").Select(e => e.Data.GetProperty("text").GetString())));
        Assert.Equal("complete", retry[^1].Data.GetProperty("status").GetString());
        Assert.Equal(requestsAfterFirst, _mind.Requests);
        Assert.Equal(2, (await HistoryAsync(client)).Length);
    }

    [Fact]
    public async Task SendMessage_RetryAfterAFailedReply_KeepsOneMessageAndAnswersAgain()
    {
        using var client = await _host.SignUpAsync("second-chance");
        _mind.Fault = MindFault.ServerError;
        await ServerSentEvents.ReadAllAsync(await SendWithIdAsync(client, "Are you awake?", "wake-1"), TestContext.Current.CancellationToken);
        _mind.Fault = MindFault.None;
        var retry = await ServerSentEvents.ReadAllAsync(await SendWithIdAsync(client, "Are you awake?", "wake-1"), TestContext.Current.CancellationToken);

        Assert.Equal("complete", retry[^1].Data.GetProperty("status").GetString());
        var history = await HistoryAsync(client);
        Assert.Single(history, turn => turn.GetProperty("role").GetString() == "user");
        Assert.Equal(["failed", "complete"], history.Where(turn => turn.GetProperty("role").GetString() == "companion").Select(turn => turn.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task SendMessage_InvalidMessageId_Returns400AndStoresNothing()
    {
        using var client = await _host.SignUpAsync("bad-id");
        using var response = await SendWithIdAsync(client, "hello", "has spaces; and 'quotes'");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        Assert.Equal("invalid-message-id", problem.GetProperty("title").GetString());
        Assert.Empty(await HistoryAsync(client));
    }

    [Fact]
    public async Task SendMessage_MindFails_KeepsUserMessageAndReportsError()
    {
        using var client = await _host.SignUpAsync("unlucky");
        _mind.Fault = MindFault.ServerError;
        var events = await ServerSentEvents.ReadAllAsync(await SendAsync(client, "Are you there?"), TestContext.Current.CancellationToken);

        Assert.Equal("accepted", events[0].Event);
        var error = Assert.Single(events, e => e.Event == "error");
        Assert.Equal("https://anima.dev/problems/mind-failed", error.Data.GetProperty("type").GetString());
        Assert.Equal("failed", events[^1].Data.GetProperty("status").GetString());
        var history = await HistoryAsync(client);
        Assert.Equal("Are you there?", history[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task SendMessage_StreamBreaksMidway_StoresPartialReplyAsFailed()
    {
        using var client = await _host.SignUpAsync("broken-stream");
        _mind.Fault = MindFault.BreakMidway;
        var events = await ServerSentEvents.ReadAllAsync(await SendAsync(client, "Tell me a story."), TestContext.Current.CancellationToken);

        var received = string.Concat(events.Where(e => e.Event == "token").Select(e => e.Data.GetProperty("text").GetString()));
        Assert.NotEmpty(received);
        Assert.Contains(events, e => e.Event == "error");
        var reply = (await HistoryAsync(client))[1];
        Assert.Equal("failed", reply.GetProperty("status").GetString());
        Assert.Equal(received.Trim(), reply.GetProperty("text").GetString());
    }

    [Fact]
    public async Task SendMessage_MindNeverAnswers_TimesOutWithClearError()
    {
        using var client = await _host.SignUpAsync("patient");
        _mind.Fault = MindFault.Hang;
        var events = await ServerSentEvents.ReadAllAsync(await SendAsync(client, "Hello?"), TestContext.Current.CancellationToken);

        var error = Assert.Single(events, e => e.Event == "error");
        Assert.Equal("https://anima.dev/problems/mind-timeout", error.Data.GetProperty("type").GetString());
        Assert.Equal("Hello?", (await HistoryAsync(client))[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task SendMessage_UserLeavesMidReply_StoresPartialReplyAsInterrupted()
    {
        using var client = await _host.SignUpAsync("leaver");
        _mind.TokensPerSecond = 20;
        var tokensSeen = 0;
        using (var response = await SendAsync(client, "Talk slowly please."))
        {
            await foreach (var (name, _) in ServerSentEvents.ReadAsync(response, TestContext.Current.CancellationToken))
            {
                if (name == "token" && ++tokensSeen == 3)
                {
                    break;
                }
            }
        }

        // Disposing the response closes the connection; the server cancels and stores what it had.
        var reply = await WaitForAsync(async () => (await HistoryAsync(client)).Skip(1).FirstOrDefault(), turn => turn.ValueKind == JsonValueKind.Object);
        Assert.Equal("interrupted", reply.GetProperty("status").GetString());
        var full = ScriptedMindServer.DefaultScript([("user", "Talk slowly please.")]);
        var partial = reply.GetProperty("text").GetString()!;
        Assert.StartsWith(partial, full, StringComparison.Ordinal);
        Assert.True(partial.Length < full.Length, "the stored reply is the part written before the user left");
    }

    [Fact]
    public async Task SendMessage_TwoAtOnce_SecondGets409AndFirstCompletes()
    {
        using var client = await _host.SignUpAsync("double-sender");
        _mind.FirstTokenDelay = TimeSpan.FromMilliseconds(500);
        using var first = await SendAsync(client, "one");
        using var second = await SendAsync(client, "two");

        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        var problem = await second.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        Assert.Equal("https://anima.dev/problems/busy", problem.GetProperty("type").GetString());
        var events = await ServerSentEvents.ReadAllAsync(first, TestContext.Current.CancellationToken);
        Assert.Equal("complete", events[^1].Data.GetProperty("status").GetString());
        Assert.Equal(["one", ScriptedMindServer.DefaultScript([("user", "one")])], (await HistoryAsync(client)).Select(turn => turn.GetProperty("text").GetString()));
    }

    [Fact]
    public async Task History_IsScopedToTheSignedInUser()
    {
        using var alice = await _host.SignUpAsync("alice");
        using var bob = await _host.SignUpAsync("bob");
        await ServerSentEvents.ReadAllAsync(await SendAsync(alice, "alice's secret"), TestContext.Current.CancellationToken);

        Assert.Empty(await HistoryAsync(bob));
        Assert.Equal("alice's secret", (await HistoryAsync(alice))[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task FirstMeeting_CompanionGreetsThenChoosesItsNameAndKeepsIt()
    {
        using var client = await _host.SignUpAsync("newcomer");
        var greeting = await ServerSentEvents.ReadAllAsync(
            await client.PostAsJsonAsync("/api/companion/begin", new { language = "ko" }, TestContext.Current.CancellationToken), TestContext.Current.CancellationToken);
        Assert.Contains(greeting, e => e.Event == "token");
        Assert.Contains("Reply in Korean", _mind.LastMessages[0].Text, StringComparison.Ordinal);

        var first = await ServerSentEvents.ReadAllAsync(await SendAsync(client, "민아예요"), TestContext.Current.CancellationToken);
        Assert.DoesNotContain(first, e => e.Event == "named");
        var second = await ServerSentEvents.ReadAllAsync(await SendAsync(client, "요즘 편지를 많이 써요."), TestContext.Current.CancellationToken);
        Assert.Equal("Sol", Assert.Single(second, e => e.Event == "named").Data.GetProperty("name").GetString());
        Assert.Contains("You have just chosen your own name: Sol", _mind.LastMessages[0].Text, StringComparison.Ordinal);

        var companion = await client.GetFromJsonAsync<JsonElement>("/api/companion/", TestContext.Current.CancellationToken);
        Assert.Equal("Sol", companion.GetProperty("profile").GetProperty("name").GetString());
        Assert.Equal("민아", companion.GetProperty("profile").GetProperty("userName").GetString());
        await ServerSentEvents.ReadAllAsync(await SendAsync(client, "고마워요"), TestContext.Current.CancellationToken);
        Assert.StartsWith("You are Sol", _mind.LastMessages[0].Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Begin_Twice_Returns409()
    {
        using var client = await _host.SignUpAsync("twice");
        await ServerSentEvents.ReadAllAsync(await client.PostAsJsonAsync("/api/companion/begin", new { language = "en" }, TestContext.Current.CancellationToken), TestContext.Current.CancellationToken);
        using var again = await client.PostAsJsonAsync("/api/companion/begin", new { language = "en" }, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    private static async Task<T> WaitForAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        // The server finishes storing an abandoned reply on its own schedule; poll within a bound.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }
}
