using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Anima.Core.Mind;
using Anima.Testing;
using Microsoft.Extensions.AI;

namespace Anima.Server.Tests;

/// <summary>
/// Anima's own OpenAI-compatible client, against a real loopback server that answers what a test writes byte for byte:
/// what it sends, how it reads server-sent events (pieces split anywhere, CRLF, comments, multi-line data, no [DONE]),
/// and how it fails.
/// </summary>
public sealed class OpenAiCompatibleChatClientTests
{
    private static readonly JsonSerializerOptions RawUtf8 = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Stream_PiecesSplitAcrossReads_YieldsTheTextInOrderWithKorean()
    {
        var pieces = new[] { "안녕", "하세요", ", ", "Mira", "! 😊" };
        var events = new StringBuilder();
        events.Append(": keep-alive comment\r\n\r\n");
        events.Append("data: {\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\r\n\r\n");
        foreach (var piece in pieces)
        {
            // Raw UTF-8 (not \u escapes), as most servers send it.
            events.Append("data: ").Append(JsonSerializer.Serialize(new { id = "c1", choices = new[] { new { index = 0, delta = new { content = piece } } } }, RawUtf8)).Append("\n\n");
        }

        events.Append("data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
        // Written a few bytes at a time, so lines and multi-byte characters are cut between reads.
        await using var server = new LoopbackHttpServer(context => WriteSlowlyAsync(context, "text/event-stream", Encoding.UTF8.GetBytes(events.ToString()), chunk: 7));
        using var client = Client(server);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hi")], cancellationToken: Token))
        {
            updates.Add(update);
        }

        Assert.Contains("\"안녕\"", events.ToString(), StringComparison.Ordinal);
        Assert.Equal(string.Concat(pieces), string.Concat(updates.Select(update => update.Text)));
        Assert.Equal(ChatFinishReason.Stop, updates[^1].FinishReason);
        Assert.All(updates, update => Assert.Equal(ChatRole.Assistant, update.Role));
        Assert.Equal("c1", updates[0].ResponseId);
    }

    [Fact]
    public async Task Stream_MultiLineDataAndNoDoneMarker_EndsAfterTheFinishReason()
    {
        const string Events = "event: message\ndata: {\"choices\":[{\"delta\":\ndata: {\"content\":\"one\"}}]}\n\n"
            + "data: {\"choices\":[{\"delta\":{\"content\":\" two\"},\"finish_reason\":\"length\"}]}\n\n";
        await using var server = new LoopbackHttpServer(context => WriteSlowlyAsync(context, "text/event-stream", Encoding.UTF8.GetBytes(Events), chunk: 1000));
        using var client = Client(server);

        var response = await client.GetStreamingResponseAsync("hi", cancellationToken: Token).ToChatResponseAsync(Token);

        Assert.Equal("one two", response.Text);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
    }

    [Fact]
    public async Task Stream_EndsBeforeTheReplyIsFinished_Throws()
    {
        const string Events = "data: {\"choices\":[{\"delta\":{\"content\":\"half a rep\"}}]}\n\n";
        await using var server = new LoopbackHttpServer(context => WriteSlowlyAsync(context, "text/event-stream", Encoding.UTF8.GetBytes(Events), chunk: 1000));
        using var client = Client(server);
        var received = new StringBuilder();

        var exception = await Assert.ThrowsAsync<IOException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync("hi", cancellationToken: Token))
            {
                received.Append(update.Text);
            }
        });

        Assert.Equal("half a rep", received.ToString());
        Assert.Contains("ended its stream before the reply was finished", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stream_ErrorObjectInTheStream_ThrowsWithTheServersMessage()
    {
        const string Events = "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
            + "data: {\"error\":{\"message\":\"the model crashed\",\"type\":\"server_error\"}}\n\n";
        await using var server = new LoopbackHttpServer(context => WriteSlowlyAsync(context, "text/event-stream", Encoding.UTF8.GetBytes(Events), chunk: 1000));
        using var client = Client(server);

        var exception = await Assert.ThrowsAsync<MindRequestException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync("hi", cancellationToken: Token))
            {
                Assert.Equal("Hel", update.Text);
            }
        });

        Assert.Equal("the model crashed", exception.ServerMessage);
    }

    [Fact]
    public async Task Stream_MalformedChunk_ThrowsInvalidData()
    {
        await using var server = new LoopbackHttpServer(context => WriteSlowlyAsync(context, "text/event-stream", "data: {\"choices\": [ oops\n\n"u8.ToArray(), chunk: 1000));
        using var client = Client(server);

        await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync("hi", cancellationToken: Token))
            {
                Assert.Fail("nothing expected: " + update.Text);
            }
        });
    }

    [Fact]
    public async Task Stream_LineLongerThanTheLimit_IsRefusedNotBuffered()
    {
        var huge = new byte[OpenAiCompatibleChatClient.MaximumLineBytes + 10];
        Array.Fill(huge, (byte)'x');
        await using var server = new LoopbackHttpServer(context => WriteSlowlyAsync(context, "text/event-stream", [.. "data: "u8.ToArray(), .. huge, .. "\n\n"u8.ToArray()], chunk: 65536));
        using var client = Client(server);

        var exception = await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync("hi", cancellationToken: Token))
            {
                Assert.Fail("nothing expected: " + update.Text);
            }
        });
        Assert.Contains("longer than", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stream_ServerThatIgnoresStreaming_GivesTheWholeAnswerAsOneUpdate()
    {
        await using var server = new LoopbackHttpServer(context => WriteSlowlyAsync(context, "application/json", Encoding.UTF8.GetBytes(Completion("통째로 온 답")), chunk: 1000));
        using var client = Client(server);

        var updates = await ToListAsync(client.GetStreamingResponseAsync("hi", cancellationToken: Token));

        var update = Assert.Single(updates);
        Assert.Equal("통째로 온 답", update.Text);
        Assert.Equal(ChatFinishReason.Stop, update.FinishReason);
    }

    [Fact]
    public async Task Request_CarriesTheModelMessagesOptionsAndKey()
    {
        JsonDocument? sent = null;
        string? authorization = null;
        await using var server = new LoopbackHttpServer(async context =>
        {
            authorization = context.Request.Headers["Authorization"];
            sent = await JsonDocument.ParseAsync(context.Request.InputStream, cancellationToken: Token);
            await WriteSlowlyAsync(context, "application/json", Encoding.UTF8.GetBytes(Completion("{\"ok\":true}")), chunk: 1000);
        });
        using var client = new OpenAiCompatibleChatClient(new Uri(server.BaseAddress, "v1/"), "qwen2.5:3b", "secret-key", TimeSpan.FromSeconds(5));

        var response = await client.GetResponseAsync(
            [new ChatMessage(ChatRole.System, "You are kind."), new ChatMessage(ChatRole.User, "\"따옴표\" and a\nnewline")],
            new ChatOptions { Temperature = 0.25f, MaxOutputTokens = 123, ResponseFormat = ChatResponseFormat.Json, StopSequences = ["END"], Seed = 7 },
            Token);

        Assert.Equal("{\"ok\":true}", response.Text);
        Assert.Equal(3, response.Usage?.TotalTokenCount);
        Assert.Equal("Bearer secret-key", authorization);
        var root = sent!.RootElement;
        Assert.Equal("qwen2.5:3b", root.GetProperty("model").GetString());
        Assert.False(root.TryGetProperty("stream", out _));
        Assert.Equal(0.25, root.GetProperty("temperature").GetDouble(), 3);
        Assert.Equal(123, root.GetProperty("max_completion_tokens").GetInt32());
        Assert.Equal("json_object", root.GetProperty("response_format").GetProperty("type").GetString());
        Assert.Equal("END", root.GetProperty("stop")[0].GetString());
        Assert.Equal(7, root.GetProperty("seed").GetInt64());
        var messages = root.GetProperty("messages");
        Assert.Equal(2, messages.GetArrayLength());
        Assert.Equal("system", messages[0].GetProperty("role").GetString());
        Assert.Equal("\"따옴표\" and a\nnewline", messages[1].GetProperty("content").GetString());
    }

    [Fact]
    public async Task ErrorStatus_ThrowsWithTheStatusAndTheServersMessage()
    {
        await using var server = new LoopbackHttpServer(async context =>
        {
            context.Response.StatusCode = 404;
            await WriteSlowlyAsync(context, "application/json", "{\"error\":{\"message\":\"model 'nope' not found\",\"type\":\"invalid_request_error\"}}"u8.ToArray(), chunk: 1000);
        });
        using var client = Client(server);

        var exception = await Assert.ThrowsAsync<MindRequestException>(() => client.GetResponseAsync("hi", cancellationToken: Token));

        Assert.Equal(HttpStatusCode.NotFound, exception.StatusCode);
        Assert.Equal("model 'nope' not found", exception.ServerMessage);
        Assert.Contains("404", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SilentServer_TimesOutWithAClearMessage()
    {
        await using var server = new LoopbackHttpServer(async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.OutputStream.WriteAsync("data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"u8.ToArray(), Token);
            await context.Response.OutputStream.FlushAsync(Token);
            await Task.Delay(TimeSpan.FromSeconds(10), Token);
        });
        using var client = new OpenAiCompatibleChatClient(new Uri(server.BaseAddress, "v1"), "m", null, TimeSpan.FromMilliseconds(500));
        var received = 0;

        var exception = await Assert.ThrowsAsync<TimeoutException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync("hi", cancellationToken: Token))
            {
                received++;
            }
        });

        Assert.Equal(1, received);
        Assert.Contains("sent nothing", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NonTextContent_IsRefusedBeforeAnythingIsSent()
    {
        await using var server = new LoopbackHttpServer(context => Task.CompletedTask);
        using var client = Client(server);
        var message = new ChatMessage(ChatRole.User, [new TextContent("look"), new DataContent(new byte[] { 1, 2, 3 }, "image/png")]);

        await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync([message], cancellationToken: Token));
        Assert.Equal(0, server.RequestCount);
    }

    [Fact]
    public async Task AgainstTheScriptedMind_StreamsWhatItScripts()
    {
        await using var mind = await ScriptedMindServer.StartAsync(cancellationToken: Token);
        mind.TokensPerSecond = 0;
        using var client = new OpenAiCompatibleChatClient(new Uri(mind.Endpoint), "scripted", null, TimeSpan.FromSeconds(5));
        var expected = ScriptedMindServer.DefaultScript([("user", "오늘 바다에 갔어요")]);

        var streamed = await client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "오늘 바다에 갔어요")], cancellationToken: Token).ToChatResponseAsync(Token);
        var whole = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "오늘 바다에 갔어요")], cancellationToken: Token);

        Assert.Equal(expected, streamed.Text);
        Assert.Equal(expected, whole.Text);
    }

    private static OpenAiCompatibleChatClient Client(LoopbackHttpServer server) =>
        new(new Uri(server.BaseAddress, "v1"), "m", null, TimeSpan.FromSeconds(5));

    private static string Completion(string text) => JsonSerializer.Serialize(new
    {
        id = "c2",
        model = "m",
        choices = new[] { new { index = 0, message = new { role = "assistant", content = text }, finish_reason = "stop" } },
        usage = new { prompt_tokens = 1, completion_tokens = 2, total_tokens = 3 },
    });

    private static async Task WriteSlowlyAsync(HttpListenerContext context, string contentType, byte[] body, int chunk)
    {
        context.Response.ContentType = contentType;
        context.Response.SendChunked = true;
        for (var offset = 0; offset < body.Length; offset += chunk)
        {
            await context.Response.OutputStream.WriteAsync(body.AsMemory(offset, Math.Min(chunk, body.Length - offset)), Token);
            await context.Response.OutputStream.FlushAsync(Token);
        }
    }

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
