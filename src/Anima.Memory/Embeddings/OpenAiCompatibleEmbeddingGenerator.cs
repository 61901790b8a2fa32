using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Anima.Memory.Embeddings;

/// <summary>Where and how <see cref="OpenAiCompatibleEmbeddingGenerator"/> asks for embeddings.</summary>
public sealed class OpenAiEmbeddingOptions
{
    /// <summary>The API's base address, e.g. <c>http://127.0.0.1:8080/v1</c> (llama.cpp server, vLLM, Ollama, OpenAI); <c>/embeddings</c> is appended.</summary>
    public required Uri Endpoint { get; init; }

    /// <summary>The model name sent with each request.</summary>
    public required string Model { get; init; }

    /// <summary>Sent as a bearer token when set.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Asked-for vector length (only models that can shorten their vectors accept it); null = the model's own.</summary>
    public int? Dimensions { get; init; }

    /// <summary>Texts per request (default 64, 1..2048).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Time allowed for one request (default 30 s).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Throws when a value is out of range.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Endpoint);
        if (!Endpoint.IsAbsoluteUri || (Endpoint.Scheme != Uri.UriSchemeHttp && Endpoint.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"The embeddings endpoint must be an absolute http(s) address, not '{Endpoint}'.", nameof(Endpoint));
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(Model);
        if (Dimensions is < 1 or > 65536 || BatchSize is < 1 or > 2048 || Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(Dimensions), "OpenAiEmbeddingOptions: Dimensions 1..65536, BatchSize 1..2048, Timeout positive.");
        }
    }
}

/// <summary>The embeddings service answered with an error or with something that is not a usable embeddings response.</summary>
public sealed class EmbeddingServiceException(string message, Exception? inner = null, int? statusCode = null, string? serviceMessage = null) : Exception(message, inner)
{
    /// <summary>The HTTP status of an error answer.</summary>
    public int? StatusCode { get; } = statusCode;

    /// <summary>The service's own error message (shortened). Kept out of <see cref="Exception.Message"/>: a service may quote the input, which is user content.</summary>
    public string? ServiceMessage { get; } = serviceMessage;
}

/// <summary>
/// An <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over any OpenAI-compatible <c>POST {endpoint}/embeddings</c>
/// API: sends <c>{"model","input":[…],"encoding_format":"float"[,"dimensions"]}</c> in batches and reads
/// <c>{"data":[{"index","embedding":[…]}]}</c>. The response is checked before anything is returned: one finite vector
/// per text, every index present once, all vectors of one length. Error messages name the address and the status,
/// never the texts (user content); the service's own error text is kept apart in <see cref="EmbeddingServiceException.ServiceMessage"/>.
/// </summary>
public sealed class OpenAiCompatibleEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private const int MaxErrorLength = 300;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly OpenAiEmbeddingOptions _options;
    private readonly Uri _address;
    private readonly EmbeddingGeneratorMetadata _metadata;

    public OpenAiCompatibleEmbeddingGenerator(OpenAiEmbeddingOptions options, HttpClient? http = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _ownsHttp = http is null;
        _http = http ?? new HttpClient();
        var baseText = options.Endpoint.AbsoluteUri.TrimEnd('/');
        _address = new Uri(baseText + "/embeddings");
        _metadata = new EmbeddingGeneratorMetadata("openai-compatible", options.Endpoint, options.Model, options.Dimensions);
    }

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var texts = values.ToList();
        if (texts.Exists(text => text is null))
        {
            throw new ArgumentException("A text to embed is null.", nameof(values));
        }

        var result = new GeneratedEmbeddings<Embedding<float>>(texts.Count);
        var dimensions = options?.Dimensions ?? _options.Dimensions;
        var model = options?.ModelId ?? _options.Model;
        long inputTokens = 0;
        var width = -1;
        for (var start = 0; start < texts.Count; start += _options.BatchSize)
        {
            var batch = texts.GetRange(start, Math.Min(_options.BatchSize, texts.Count - start));
            var (vectors, tokens) = await RequestAsync(batch, model, dimensions, cancellationToken);
            inputTokens += tokens;
            foreach (var vector in vectors)
            {
                if (width >= 0 && vector.Length != width)
                {
                    throw new EmbeddingServiceException($"The embeddings service returned vectors of {width} and {vector.Length} values.");
                }

                width = vector.Length;
                result.Add(new Embedding<float>(vector) { ModelId = model, CreatedAt = DateTimeOffset.UtcNow });
            }
        }

        if (inputTokens > 0)
        {
            result.Usage = new UsageDetails { InputTokenCount = inputTokens, TotalTokenCount = inputTokens };
        }

        return result;
    }

    private async Task<(float[][] Vectors, long Tokens)> RequestAsync(List<string> batch, string model, int? dimensions, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream();
        await using (var writer = new Utf8JsonWriter(body))
        {
            writer.WriteStartObject();
            writer.WriteString("model", model);
            writer.WriteStartArray("input");
            foreach (var text in batch)
            {
                writer.WriteStringValue(text);
            }

            writer.WriteEndArray();
            writer.WriteString("encoding_format", "float");
            if (dimensions is { } value)
            {
                writer.WriteNumber("dimensions", value);
            }

            writer.WriteEndObject();
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, _address)
        {
            Content = new ByteArrayContent(body.ToArray()) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        if (!string.IsNullOrEmpty(_options.ApiKey))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.ApiKey);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token);
        }
        catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw new EmbeddingServiceException($"The embeddings service at {_address} did not answer within {_options.Timeout.TotalSeconds:0.#} s.", exception);
        }
        catch (HttpRequestException exception)
        {
            throw new EmbeddingServiceException($"The embeddings service at {_address} could not be reached: {exception.Message}", exception);
        }

        using (response)
        {
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new EmbeddingServiceException($"The embeddings service at {_address} answered {(int)response.StatusCode} {response.ReasonPhrase}.",
                    statusCode: (int)response.StatusCode, serviceMessage: ErrorMessage(bytes));
            }

            return Parse(bytes, batch.Count);
        }
    }

    /// <summary>Reads an embeddings response for <paramref name="expected"/> texts, in the order of the texts.</summary>
    public static (float[][] Vectors, long Tokens) Parse(ReadOnlySpan<byte> json, int expected)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
            {
                throw new EmbeddingServiceException("The embeddings response has no \"data\" list.");
            }

            if (data.GetArrayLength() != expected)
            {
                throw new EmbeddingServiceException($"The embeddings response has {data.GetArrayLength()} vectors for {expected} texts.");
            }

            var vectors = new float[expected][];
            var position = 0;
            foreach (var item in data.EnumerateArray())
            {
                var index = item.TryGetProperty("index", out var indexElement) && indexElement.TryGetInt32(out var value) ? value : position;
                if (index < 0 || index >= expected || vectors[index] is not null)
                {
                    throw new EmbeddingServiceException($"The embeddings response has a missing, repeated or out-of-range index {index}.");
                }

                if (!item.TryGetProperty("embedding", out var embedding) || embedding.ValueKind != JsonValueKind.Array || embedding.GetArrayLength() == 0)
                {
                    throw new EmbeddingServiceException($"Vector {index} of the embeddings response is not a list of numbers (a base64 answer is not asked for and not read).");
                }

                var vector = new float[embedding.GetArrayLength()];
                var at = 0;
                foreach (var number in embedding.EnumerateArray())
                {
                    if (number.ValueKind != JsonValueKind.Number || !float.IsFinite(vector[at] = number.GetSingle()))
                    {
                        throw new EmbeddingServiceException($"Vector {index} of the embeddings response holds a value that is not a finite number.");
                    }

                    at++;
                }

                vectors[index] = vector;
                position++;
            }

            var tokens = root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object
                && usage.TryGetProperty("prompt_tokens", out var prompt) && prompt.TryGetInt64(out var count) ? count : 0;
            return (vectors, tokens);
        }
        catch (JsonException exception)
        {
            throw new EmbeddingServiceException("The embeddings response is not valid JSON.", exception);
        }
    }

    private static string ErrorMessage(byte[] bytes)
    {
        try
        {
            using var document = JsonDocument.Parse(bytes);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var error))
            {
                var message = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var inner) ? inner.ToString() : error.ToString();
                return Shorten(message);
            }
        }
        catch (JsonException)
        {
            // Not JSON: the start of the text.
        }

        return Shorten(Encoding.UTF8.GetString(bytes));
    }

    private static string Shorten(string text)
    {
        text = text.ReplaceLineEndings(" ").Trim();
        return text.Length <= MaxErrorLength ? text : text[..MaxErrorLength] + "…";
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
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
}
