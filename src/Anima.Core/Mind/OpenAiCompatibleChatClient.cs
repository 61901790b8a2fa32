using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Anima.Core.Mind;

/// <summary>
/// A text chat client for any OpenAI-compatible <c>POST {endpoint}/chat/completions</c>: OpenAI, Ollama, llama.cpp's
/// server, vLLM, LM Studio. It writes the request with a UTF-8 JSON writer into a pooled buffer and reads the
/// server-sent events line by line from a pooled buffer, so a streamed piece of text costs one small update, where a
/// general SDK deserialised a tree of objects for every chunk (a fifth of the server's allocations under load).
/// </summary>
/// <remarks>
/// Text only: a message with other content (images, tool calls) is refused with <see cref="NotSupportedException"/>.
/// The request timeout covers the wait for the response headers, a whole non-streamed answer, and each silence
/// between streamed chunks. A server that answers with an error status throws <see cref="MindRequestException"/>
/// with the status and the server's own message; a stream that ends before the reply is finished throws
/// <see cref="IOException"/>.
/// </remarks>
public sealed class OpenAiCompatibleChatClient : IChatClient
{
    /// <summary>The longest server-sent line accepted (a chunk is a few hundred bytes).</summary>
    public const int MaximumLineBytes = 1 << 20;

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly Uri _completions;
    private readonly string _model;
    private readonly AuthenticationHeaderValue? _authorization;
    private readonly TimeSpan _timeout;
    private readonly ChatClientMetadata _metadata;

    /// <param name="endpoint">The API's base address, such as <c>https://api.openai.com/v1</c> or <c>http://127.0.0.1:11434/v1</c>.</param>
    /// <param name="model">The model to ask.</param>
    /// <param name="apiKey">Sent as a bearer token when given.</param>
    /// <param name="requestTimeout">How long to wait for the headers, a whole answer, or the next streamed chunk.</param>
    /// <param name="handler">The HTTP handler to use (tests); by default a pooled one of its own.</param>
    public OpenAiCompatibleChatClient(Uri endpoint, string model, string? apiKey, TimeSpan requestTimeout, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(requestTimeout, TimeSpan.Zero);
        if (!endpoint.IsAbsoluteUri || endpoint.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"The endpoint '{endpoint}' is not an http(s) URL.", nameof(endpoint));
        }

        _completions = new Uri(endpoint.AbsoluteUri.TrimEnd('/') + "/chat/completions");
        _model = model;
        _authorization = string.IsNullOrEmpty(apiKey) ? null : new AuthenticationHeaderValue("Bearer", apiKey);
        _timeout = requestTimeout;
        _ownsHttp = true;
        _http = new HttpClient(handler ?? new SocketsHttpHandler
        {
            // Many replies stream at once to the same server: no cap on connections, and a connection is renewed
            // now and then so a changed address is picked up.
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            ConnectTimeout = requestTimeout,
        }, disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Anima", "1.0"));
        _metadata = new ChatClientMetadata("openai-compatible", endpoint, model);
    }

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        using var body = WriteRequest(messages, options, stream: false);
        try
        {
            using var response = await SendAsync(body, timeout.Token);
            await using var content = await response.Content.ReadAsStreamAsync(timeout.Token);
            using var document = await JsonDocument.ParseAsync(content, cancellationToken: timeout.Token);
            return ReadCompletion(document.RootElement);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The mind at {_completions} did not answer within {_timeout.TotalSeconds:0.#} s.");
        }
        catch (JsonException exception)
        {
            throw new InvalidDataException($"The mind at {_completions} answered with JSON that is not a chat completion: {exception.Message}", exception);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        var body = WriteRequest(messages, options, stream: true);
        HttpResponseMessage response;
        try
        {
            response = await SendAsync(body, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            body.Dispose();
            throw new TimeoutException($"The mind at {_completions} did not answer within {_timeout.TotalSeconds:0.#} s.");
        }
        catch
        {
            body.Dispose();
            throw;
        }

        using var lines = new SseLineReader();
        try
        {
            if (response.Content.Headers.ContentType?.MediaType is "application/json")
            {
                // A server that ignores "stream": the whole answer at once, as one update.
                await using var whole = await response.Content.ReadAsStreamAsync(timeout.Token);
                using var document = await JsonDocument.ParseAsync(whole, cancellationToken: timeout.Token);
                var completion = ReadCompletion(document.RootElement);
                yield return new ChatResponseUpdate(ChatRole.Assistant, completion.Text)
                {
                    FinishReason = completion.FinishReason,
                    ModelId = completion.ModelId,
                    ResponseId = completion.ResponseId,
                };
                yield break;
            }

            await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
            var lastReset = Environment.TickCount64;
            var finished = false;
            while (true)
            {
                // Events already read into the buffer are returned without touching the stream, so a cancelled
                // reader would otherwise still get them: stop at the first update after cancellation.
                cancellationToken.ThrowIfCancellationRequested();
                SseEvent sse;
                try
                {
                    sse = await lines.ReadEventAsync(stream, timeout.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException($"The mind at {_completions} sent nothing for {_timeout.TotalSeconds:0.#} s in the middle of a reply.");
                }

                if (sse.Kind == SseEventKind.EndOfStream)
                {
                    if (finished)
                    {
                        yield break;
                    }

                    throw new IOException($"The mind at {_completions} ended its stream before the reply was finished.");
                }

                if (sse.Kind == SseEventKind.Done)
                {
                    yield break;
                }

                // The silence allowed is counted from the latest chunk; the timer is pushed back at most once a
                // second, not for every piece of text.
                if (Environment.TickCount64 - lastReset > 1000)
                {
                    timeout.CancelAfter(_timeout);
                    lastReset = Environment.TickCount64;
                }

                var chunk = ParseChunk(lines.Data, sse.IsErrorEvent);
                finished |= chunk.FinishReason is not null;
                if (string.IsNullOrEmpty(chunk.Text) && chunk.FinishReason is null)
                {
                    continue;
                }

                yield return new ChatResponseUpdate(ChatRole.Assistant, chunk.Text)
                {
                    FinishReason = chunk.FinishReason is { } reason ? new ChatFinishReason(reason) : null,
                    ModelId = chunk.Model,
                    ResponseId = chunk.Id,
                };
            }
        }
        finally
        {
            response.Dispose();
            body.Dispose();
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private async Task<HttpResponseMessage> SendAsync(PooledJsonBody body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _completions) { Content = body.ToContent(new MediaTypeHeaderValue("application/json", "utf-8")) };
        request.Headers.Authorization = _authorization;
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException exception) when (exception.StatusCode is null)
        {
            throw new HttpRequestException(exception.HttpRequestError, $"The mind at {_completions} cannot be reached: {exception.Message}", exception);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            throw new MindRequestException(response.StatusCode, _completions, await ReadErrorAsync(response, cancellationToken));
        }
    }

    /// <summary>The server's own words for an error status: <c>error.message</c> of an OpenAI-style body, else the start of the body.</summary>
    private static async Task<string?> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(8192);
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var length = 0;
            int read;
            while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
            {
                length += read;
            }

            var bytes = buffer.AsSpan(0, length);
            try
            {
                var reader = new Utf8JsonReader(bytes);
                if (reader.Read() && reader.TokenType == JsonTokenType.StartObject && FindErrorMessage(ref reader) is { } message)
                {
                    return message;
                }
            }
            catch (JsonException)
            {
                // Not JSON (or cut at 8 KiB): the start of the text will do.
            }

            var text = Encoding.UTF8.GetString(bytes).Trim();
            return text.Length == 0 ? null : text.Length > 300 ? text[..300] + "…" : text;
        }
        catch (Exception exception) when (exception is IOException or HttpRequestException)
        {
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private PooledJsonBody WriteRequest(IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream)
    {
        if (options?.Tools is { Count: > 0 })
        {
            throw new NotSupportedException("The OpenAI-compatible mind client sends text only; tools are not supported.");
        }

        var body = new PooledJsonBody();
        try
        {
            using var json = new Utf8JsonWriter(body, new JsonWriterOptions { SkipValidation = true });
            json.WriteStartObject();
            json.WriteString("model"u8, options?.ModelId ?? _model);
            json.WriteStartArray("messages"u8);
            foreach (var message in messages)
            {
                json.WriteStartObject();
                json.WriteString("role"u8, message.Role.Value);
                json.WritePropertyName("content"u8);
                WriteText(json, message);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            if (stream)
            {
                json.WriteBoolean("stream"u8, true);
            }

            if (options is not null)
            {
                WriteOptions(json, options);
            }

            json.WriteEndObject();
            json.Flush();
            return body;
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    private static void WriteText(Utf8JsonWriter json, ChatMessage message)
    {
        var contents = message.Contents;
        if (contents.Count == 1 && contents[0] is TextContent only)
        {
            json.WriteStringValue(only.Text);
            return;
        }

        foreach (var content in contents)
        {
            if (content is not TextContent)
            {
                throw new NotSupportedException($"The OpenAI-compatible mind client sends text only; a {message.Role} message holds {content.GetType().Name}.");
            }
        }

        json.WriteStringValue(message.Text);
    }

    private static void WriteOptions(Utf8JsonWriter json, ChatOptions options)
    {
        if (options.Temperature is { } temperature)
        {
            json.WriteNumber("temperature"u8, temperature);
        }

        if (options.TopP is { } topP)
        {
            json.WriteNumber("top_p"u8, topP);
        }

        if (options.MaxOutputTokens is { } maxTokens)
        {
            // The name OpenAI's current API takes (and its SDK sends); Ollama, llama.cpp and vLLM accept it as well.
            json.WriteNumber("max_completion_tokens"u8, maxTokens);
        }

        if (options.FrequencyPenalty is { } frequencyPenalty)
        {
            json.WriteNumber("frequency_penalty"u8, frequencyPenalty);
        }

        if (options.PresencePenalty is { } presencePenalty)
        {
            json.WriteNumber("presence_penalty"u8, presencePenalty);
        }

        if (options.Seed is { } seed)
        {
            json.WriteNumber("seed"u8, seed);
        }

        if (options.StopSequences is { Count: > 0 } stops)
        {
            json.WriteStartArray("stop"u8);
            foreach (var stop in stops)
            {
                json.WriteStringValue(stop);
            }

            json.WriteEndArray();
        }

        switch (options.ResponseFormat)
        {
            case ChatResponseFormatJson { Schema: { } schema } structured:
                json.WriteStartObject("response_format"u8);
                json.WriteString("type"u8, "json_schema"u8);
                json.WriteStartObject("json_schema"u8);
                json.WriteString("name"u8, structured.SchemaName ?? "response");
                if (structured.SchemaDescription is { } description)
                {
                    json.WriteString("description"u8, description);
                }

                json.WritePropertyName("schema"u8);
                schema.WriteTo(json);
                json.WriteEndObject();
                json.WriteEndObject();
                break;
            case ChatResponseFormatJson:
                json.WriteStartObject("response_format"u8);
                json.WriteString("type"u8, "json_object"u8);
                json.WriteEndObject();
                break;
        }
    }

    private ChatResponse ReadCompletion(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"The mind at {_completions} answered with JSON that is not a chat completion.");
        }

        if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
        {
            throw new MindRequestException(HttpStatusCode.OK, _completions, error.TryGetProperty("message", out var errorMessage) ? errorMessage.GetString() : null);
        }

        if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
        {
            throw new InvalidDataException($"The mind at {_completions} answered without any choice.");
        }

        var choice = choices[0];
        var text = choice.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object
            && message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String
            ? content.GetString()
            : null;
        var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, text))
        {
            FinishReason = choice.TryGetProperty("finish_reason", out var finish) && finish.ValueKind == JsonValueKind.String ? new ChatFinishReason(finish.GetString()!) : null,
            ModelId = root.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String ? model.GetString() : null,
            ResponseId = root.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null,
        };
        if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            response.Usage = new UsageDetails
            {
                InputTokenCount = usage.TryGetProperty("prompt_tokens", out var input) && input.TryGetInt64(out var inputCount) ? inputCount : null,
                OutputTokenCount = usage.TryGetProperty("completion_tokens", out var output) && output.TryGetInt64(out var outputCount) ? outputCount : null,
                TotalTokenCount = usage.TryGetProperty("total_tokens", out var total) && total.TryGetInt64(out var totalCount) ? totalCount : null,
            };
        }

        return response;
    }

    /// <summary>One streamed chunk: the text of its first choice's delta, its finish reason, or the server's error.</summary>
    private Chunk ParseChunk(ReadOnlySpan<byte> data, bool errorEvent)
    {
        string? text = null, finishReason = null, id = null, model = null;
        try
        {
            var reader = new Utf8JsonReader(data);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new InvalidDataException($"The mind at {_completions} streamed a chunk that is not a JSON object.");
            }

            if (errorEvent)
            {
                throw new MindRequestException(HttpStatusCode.OK, _completions, FindErrorMessage(ref reader) ?? Encoding.UTF8.GetString(data));
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartArray && reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                    {
                        ReadChoice(ref reader, ref text, ref finishReason);
                        // Only the first choice is asked for; skip the rest of the array.
                        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                        {
                            reader.Skip();
                        }
                    }
                    else if (reader.TokenType is JsonTokenType.StartArray or JsonTokenType.StartObject)
                    {
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    reader.Read();
                    var message = reader.TokenType == JsonTokenType.StartObject ? FindErrorMessage(ref reader) : reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    throw new MindRequestException(HttpStatusCode.OK, _completions, message);
                }
                else if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    id = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else if (reader.ValueTextEquals("model"u8))
                {
                    reader.Read();
                    model = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException exception)
        {
            throw new InvalidDataException($"The mind at {_completions} streamed a chunk that is not valid JSON: {exception.Message}", exception);
        }

        return new Chunk(text, finishReason, id, model);
    }

    /// <summary>Reads a choice object (the reader on its start) up to its end: <c>delta.content</c> and <c>finish_reason</c>.</summary>
    private static void ReadChoice(ref Utf8JsonReader reader, ref string? text, ref string? finishReason)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("delta"u8) || reader.ValueTextEquals("message"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("content"u8))
                    {
                        reader.Read();
                        text = reader.TokenType == JsonTokenType.String ? reader.GetString() : text;
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            else if (reader.ValueTextEquals("finish_reason"u8))
            {
                reader.Read();
                finishReason = reader.TokenType == JsonTokenType.String ? reader.GetString() : finishReason;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    /// <summary>The <c>message</c> of an <c>{"error": {"message": …}}</c> body or of an error object itself (the reader inside an object).</summary>
    private static string? FindErrorMessage(ref Utf8JsonReader reader)
    {
        var depth = reader.CurrentDepth;
        string? message = null;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            if (reader.ValueTextEquals("message"u8))
            {
                reader.Read();
                message ??= reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (!reader.ValueTextEquals("error"u8))
            {
                reader.Read();
                reader.Skip();
            }
        }

        return message;
    }

    private readonly record struct Chunk(string? Text, string? FinishReason, string? Id, string? Model);
}

/// <summary>An OpenAI-compatible mind answered with an error (an HTTP status, or an error object in its stream).</summary>
public sealed class MindRequestException : HttpRequestException
{
    public MindRequestException(HttpStatusCode statusCode, Uri endpoint, string? serverMessage)
        : base(Describe(statusCode, endpoint, serverMessage), null, statusCode == HttpStatusCode.OK ? null : statusCode)
    {
        ServerMessage = serverMessage;
    }

    /// <summary>What the server said, if anything.</summary>
    public string? ServerMessage { get; }

    private static string Describe(HttpStatusCode statusCode, Uri endpoint, string? serverMessage)
    {
        var what = statusCode == HttpStatusCode.OK ? $"The mind at {endpoint} reported an error" : $"The mind at {endpoint} answered {(int)statusCode} ({statusCode})";
        return serverMessage is { Length: > 0 } ? $"{what}: {serverMessage}" : what + ".";
    }
}
