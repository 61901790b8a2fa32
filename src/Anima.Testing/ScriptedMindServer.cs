using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Anima.Testing;

/// <summary>
/// A real OpenAI-compatible chat-completions server on 127.0.0.1 whose answers come from a script, with
/// a configurable first-token delay and token rate, and faults on demand (an error status, a stream that
/// breaks midway, a server that never answers). Tests use it to exercise the real HTTP path of the mind;
/// load benchmarks use it so that what they measure is the platform's own cost.
/// </summary>
public sealed class ScriptedMindServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private long _requests;

    private long _embeddingRequests;

    private ScriptedMindServer(WebApplication app) => _app = app;

    /// <summary>The base URL to configure as the OpenAI-compatible endpoint, ending in /v1.</summary>
    public string Endpoint { get; private set; } = string.Empty;

    /// <summary>Makes the reply for a request: the messages (role, text) → the reply's text.</summary>
    public Func<IReadOnlyList<(string Role, string Text)>, string> Script { get; set; } = DefaultScript;

    /// <summary>Delay before the first token.</summary>
    public TimeSpan FirstTokenDelay { get; set; }

    /// <summary>Tokens per second after the first (0 = as fast as possible).</summary>
    public double TokensPerSecond { get; set; }

    /// <summary>The fault to inject into the next requests.</summary>
    public MindFault Fault { get; set; }

    /// <summary>The requests received so far.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>The embedding requests received so far (<c>POST /v1/embeddings</c>; not counted in <see cref="Requests"/>).</summary>
    public long EmbeddingRequests => Interlocked.Read(ref _embeddingRequests);

    /// <summary>The messages of the most recent request.</summary>
    public IReadOnlyList<(string Role, string Text)> LastMessages { get; private set; } = [];

    public static async Task<ScriptedMindServer> StartAsync(int port = 0, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var server = new ScriptedMindServer(app);
        app.MapPost("/v1/chat/completions", server.HandleAsync);
        app.MapPost("/v1/embeddings", server.HandleEmbeddingsAsync);
        app.MapGet("/v1/models", () => Results.Json(new { @object = "list", data = new[] { new { id = "scripted", @object = "model" } } }));
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Endpoint = address.TrimEnd('/') + "/v1";
        return server;
    }

    /// <summary>Replies with a deterministic sentence about the last user message, long enough to stream.</summary>
    public static string DefaultScript(IReadOnlyList<(string Role, string Text)> messages)
    {
        var last = messages.LastOrDefault(message => message.Role == "user").Text ?? string.Empty;
        if (last.Contains("Answer with JSON only", StringComparison.Ordinal))
        {
            return """{"name": "Sol", "reason": "Our first talk felt warm and bright, like morning light."}""";
        }

        return $"I hear you. You said {last.Length} characters, and I'm thinking about them carefully. Tell me more?";
    }

    /// <summary>
    /// The scripted embedding of <paramref name="text"/>: the counts of the letters a–z plus a constant 1 (27 values, never
    /// all zero), so texts sharing letters are similar. Deterministic; not a language model.
    /// </summary>
    public static float[] LetterVector(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var vector = new float[27];
        vector[26] = 1;
        foreach (var letter in text.ToLowerInvariant())
        {
            if (letter is >= 'a' and <= 'z')
            {
                vector[letter - 'a']++;
            }
        }

        return vector;
    }

    private async Task HandleEmbeddingsAsync(HttpContext context)
    {
        Interlocked.Increment(ref _embeddingRequests);
        using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        var inputs = body.RootElement.GetProperty("input").EnumerateArray().Select(input => input.GetString() ?? string.Empty).ToList();
        await context.Response.WriteAsJsonAsync(new
        {
            @object = "list",
            model = body.RootElement.TryGetProperty("model", out var model) ? model.GetString() : "scripted",
            data = inputs.Select((text, index) => new { @object = "embedding", index, embedding = LetterVector(text) }).ToArray(),
            usage = new { prompt_tokens = inputs.Count, total_tokens = inputs.Count },
        });
    }

    /// <summary>Splits text into word-sized tokens (each keeps its leading space), as a model streams it.</summary>
    public static IEnumerable<string> Tokenize(string text)
    {
        var start = 0;
        for (var index = 1; index <= text.Length; index++)
        {
            if (index == text.Length || text[index] == ' ')
            {
                yield return text[start..index];
                start = index;
            }
        }
    }

    private readonly System.Collections.Concurrent.ConcurrentQueue<double> _lateness = new();

    /// <summary>
    /// For each streamed reply, how much later than its schedule (first-token delay, then the tokens per second) the
    /// last chunk was written, in milliseconds, from the moment the request arrived: this mind's own delay, which a
    /// caller that subtracts only the schedule would count as its own.
    /// </summary>
    public IReadOnlyCollection<double> Lateness => _lateness;

    private async Task HandleAsync(HttpContext context)
    {
        var arrived = System.Diagnostics.Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _requests);
        using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        var messages = body.RootElement.GetProperty("messages").EnumerateArray()
            .Select(message => (message.GetProperty("role").GetString() ?? "user", ReadContent(message)))
            .ToList();
        LastMessages = messages;
        var stream = body.RootElement.TryGetProperty("stream", out var streamElement) && streamElement.ValueKind == JsonValueKind.True;
        var fault = Fault;
        if (fault == MindFault.ServerError)
        {
            context.Response.StatusCode = 500;
            await context.Response.WriteAsJsonAsync(new { error = new { message = "scripted failure", type = "server_error" } });
            return;
        }

        if (fault == MindFault.Hang)
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
            return;
        }

        var reply = Script(messages);
        if (FirstTokenDelay > TimeSpan.Zero)
        {
            await Task.Delay(FirstTokenDelay, context.RequestAborted);
        }

        if (!stream)
        {
            await context.Response.WriteAsJsonAsync(new
            {
                id = "chatcmpl-scripted",
                @object = "chat.completion",
                created = 0,
                model = "scripted",
                choices = new[] { new { index = 0, message = new { role = "assistant", content = reply }, finish_reason = "stop" } },
                usage = new { prompt_tokens = 1, completion_tokens = 1, total_tokens = 2 },
            });
            return;
        }

        context.Response.ContentType = "text/event-stream";
        var tokens = Tokenize(reply).ToList();
        var clock = Stopwatch.StartNew();
        for (var index = 0; index < tokens.Count; index++)
        {
            if (fault == MindFault.BreakMidway && index == tokens.Count / 2)
            {
                // Drop the connection without the final chunk or [DONE], as a crashed server would,
                // after giving the chunks already written time to leave Kestrel's output buffer.
                await Task.Delay(100, context.RequestAborted);
                context.Abort();
                return;
            }

            if (TokensPerSecond > 0 && index > 0)
            {
                var due = TimeSpan.FromSeconds(index / TokensPerSecond);
                var wait = due - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, context.RequestAborted);
                }
            }

            await WriteChunkAsync(context.Response, tokens[index], first: index == 0, null, context.RequestAborted);
        }

        var scheduled = FirstTokenDelay + (TokensPerSecond > 0 && tokens.Count > 1 ? TimeSpan.FromSeconds((tokens.Count - 1) / TokensPerSecond) : TimeSpan.Zero);
        _lateness.Enqueue((System.Diagnostics.Stopwatch.GetElapsedTime(arrived) - scheduled).TotalMilliseconds);
        await WriteChunkAsync(context.Response, null, first: false, "stop", context.RequestAborted);
        await context.Response.WriteAsync("data: [DONE]\n\n", context.RequestAborted);
    }

    /// <summary>
    /// One <c>chat.completion.chunk</c> event, written with a UTF-8 JSON writer straight into the response: in a load
    /// test this mind runs inside the load generator, and its own garbage would delay the clients it measures.
    /// </summary>
    private static async Task WriteChunkAsync(HttpResponse response, string? content, bool first, string? finishReason, CancellationToken cancellationToken)
    {
        var writer = response.BodyWriter;
        "data: "u8.CopyTo(writer.GetSpan(6));
        writer.Advance(6);
        using (var json = new Utf8JsonWriter(writer))
        {
            json.WriteStartObject();
            json.WriteString("id"u8, "chatcmpl-scripted"u8);
            json.WriteString("object"u8, "chat.completion.chunk"u8);
            json.WriteNumber("created"u8, 0);
            json.WriteString("model"u8, "scripted"u8);
            json.WriteStartArray("choices"u8);
            json.WriteStartObject();
            json.WriteNumber("index"u8, 0);
            json.WriteStartObject("delta"u8);
            if (first)
            {
                json.WriteString("role"u8, "assistant"u8);
            }

            if (content is not null)
            {
                json.WriteString("content"u8, content);
            }

            json.WriteEndObject();
            if (finishReason is null)
            {
                json.WriteNull("finish_reason"u8);
            }
            else
            {
                json.WriteString("finish_reason"u8, finishReason);
            }

            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        "\n\n"u8.CopyTo(writer.GetSpan(2));
        writer.Advance(2);
        await writer.FlushAsync(cancellationToken);
    }

    private static string ReadContent(JsonElement message)
    {
        if (!message.TryGetProperty("content", out var content))
        {
            return string.Empty;
        }

        return content.ValueKind switch
        {
            JsonValueKind.String => content.GetString() ?? string.Empty,
            JsonValueKind.Array => string.Concat(content.EnumerateArray().Where(part => part.TryGetProperty("text", out _)).Select(part => part.GetProperty("text").GetString())),
            _ => string.Empty,
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Faults the scripted mind can inject.</summary>
public enum MindFault
{
    None = 0,

    /// <summary>Answer HTTP 500 with an error body.</summary>
    ServerError = 1,

    /// <summary>Stream half the reply, then drop the connection.</summary>
    BreakMidway = 2,

    /// <summary>Accept the request and never answer.</summary>
    Hang = 3,
}
