using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Anima.Memory.Embeddings;
using Anima.Memory.Recall;
using Anima.Memory.Storage;
using Anima.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace Anima.Memory.Tests;

/// <summary>Against a scripted HTTP server on 127.0.0.1 that answers like an OpenAI-compatible embeddings API.</summary>
public sealed class OpenAiCompatibleEmbeddingGeneratorTests : IAsyncDisposable
{
    private readonly ScriptedServer _server = new();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    private OpenAiCompatibleEmbeddingGenerator Generator(int batchSize = 64, string? apiKey = null, TimeSpan? timeout = null) => new(new OpenAiEmbeddingOptions
    {
        Endpoint = new Uri(_server.BaseAddress + "v1/"),
        Model = "test-embed",
        ApiKey = apiKey,
        BatchSize = batchSize,
        Timeout = timeout ?? TimeSpan.FromSeconds(10),
    });

    /// <summary>A deterministic "embedding": letter counts a..z of the text (so texts sharing letters are similar).</summary>
    private static float[] Letters(string text)
    {
        var vector = new float[26];
        foreach (var letter in text.ToLowerInvariant())
        {
            if (letter is >= 'a' and <= 'z')
            {
                vector[letter - 'a']++;
            }
        }

        return vector;
    }

    /// <summary>Answers every request with letter vectors, in reverse order (indices tell the order), and records it.</summary>
    private void AnswerWithLetters() => _server.Respond = request =>
    {
        var inputs = request.Body.RootElement.GetProperty("input").EnumerateArray().Select(item => item.GetString()!).ToList();
        var data = inputs.Select((text, index) => new { index, embedding = Letters(text), @object = "embedding" }).Reverse().ToList();
        return (200, JsonSerializer.Serialize(new { @object = "list", data, model = "test-embed", usage = new { prompt_tokens = inputs.Count * 3, total_tokens = inputs.Count * 3 } }));
    };

    [Fact]
    public async Task Generate_SendsOpenAiRequestsInBatches_ReturnsVectorsInTextOrder()
    {
        AnswerWithLetters();
        using var generator = Generator(batchSize: 2, apiKey: "sk-test");
        string[] texts = ["abc", "zzz", "hello", "a", "b"];

        var embeddings = await generator.GenerateAsync(texts, cancellationToken: Token);

        Assert.Equal(texts.Length, embeddings.Count);
        for (var index = 0; index < texts.Length; index++)
        {
            Assert.Equal(Letters(texts[index]), embeddings[index].Vector.ToArray());
        }

        Assert.Equal(3, _server.Requests.Count);
        var first = _server.Requests.First();
        Assert.Equal("/v1/embeddings", first.Path);
        Assert.Equal("POST", first.Method);
        Assert.Equal("Bearer sk-test", first.Authorization);
        Assert.Equal("test-embed", first.Body.RootElement.GetProperty("model").GetString());
        Assert.Equal("float", first.Body.RootElement.GetProperty("encoding_format").GetString());
        Assert.Equal(2, first.Body.RootElement.GetProperty("input").GetArrayLength());
        Assert.Equal(15, embeddings.Usage?.InputTokenCount);
    }

    [Fact]
    public async Task Generate_ServiceError_ThrowsWithStatus_ServiceTextKeptOutOfTheMessage()
    {
        _server.Respond = _ => (503, """{"error":{"message":"model test-embed is loading, input was: my secret diary","type":"unavailable"}}""");
        using var generator = Generator();

        var error = await Assert.ThrowsAsync<EmbeddingServiceException>(() => generator.GenerateAsync(["my secret diary"], cancellationToken: Token));

        Assert.Equal(503, error.StatusCode);
        Assert.Contains("503", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error.Message, StringComparison.Ordinal);
        Assert.StartsWith("model test-embed is loading", error.ServiceMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"data":[]}""", "0 vectors for 1")]
    [InlineData("""{"data":[{"index":0,"embedding":"AAAA"}]}""", "not a list of numbers")]
    [InlineData("""{"data":[{"index":3,"embedding":[1,2]}]}""", "index 3")]
    [InlineData("""{"data":[{"index":0,"embedding":[1,"x"]}]}""", "not a finite number")]
    [InlineData("""{"data":[{"index":0,"embedding":[1,1e400]}]}""", "not a finite number")]
    [InlineData("""<html>gateway</html>""", "not valid JSON")]
    [InlineData("""{"object":"list"}""", "no \"data\" list")]
    public async Task Generate_MalformedResponse_ThrowsNamingWhatIsWrong(string body, string expected)
    {
        _server.Respond = _ => (200, body);
        using var generator = Generator();

        var error = await Assert.ThrowsAsync<EmbeddingServiceException>(() => generator.GenerateAsync(["one"], cancellationToken: Token));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_VectorsOfDifferentLengths_Throws()
    {
        _server.Respond = _ => (200, """{"data":[{"index":0,"embedding":[1,2,3]},{"index":1,"embedding":[1,2]}]}""");
        using var generator = Generator();

        await Assert.ThrowsAsync<EmbeddingServiceException>(() => generator.GenerateAsync(["one", "two"], cancellationToken: Token));
    }

    [Fact]
    public async Task Generate_SlowService_TimesOutWithClearError()
    {
        _server.Delay = TimeSpan.FromSeconds(5);
        AnswerWithLetters();
        using var generator = Generator(timeout: TimeSpan.FromMilliseconds(200));

        var error = await Assert.ThrowsAsync<EmbeddingServiceException>(() => generator.GenerateAsync(["one"], cancellationToken: Token));

        Assert.Contains("did not answer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_NoServer_ThrowsCouldNotBeReached()
    {
        using var generator = new OpenAiCompatibleEmbeddingGenerator(new OpenAiEmbeddingOptions { Endpoint = new Uri($"http://127.0.0.1:{LoopbackHttpServer.FreePort()}/v1"), Model = "m" });

        var error = await Assert.ThrowsAsync<EmbeddingServiceException>(() => generator.GenerateAsync(["one"], cancellationToken: Token));

        Assert.Contains("could not be reached", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ftp://example.com/v1", "m")]
    [InlineData("http://example.com/v1", " ")]
    public void Options_Invalid_Throw(string endpoint, string model) =>
        Assert.ThrowsAny<ArgumentException>(() => new OpenAiCompatibleEmbeddingGenerator(new OpenAiEmbeddingOptions { Endpoint = new Uri(endpoint), Model = model }));

    [Fact]
    public async Task Recall_WithServiceEmbeddings_StoresVectorsAndUsesThemToRank()
    {
        AnswerWithLetters();
        using var generator = Generator();
        var path = Path.Combine(Path.GetTempPath(), $"anima-embed-{Guid.NewGuid():N}.db");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));
        try
        {
            await using var store = new SqliteMemoryStore(new SqliteMemoryStoreOptions { DatabasePath = path }, time);
            await store.InitializeAsync(Token);
            // Both share the query's one content word; only the vectors can tell them apart.
            string[] texts = ["zebra zoo jazz buzz", "ocean boat sailing wave"];
            var vectors = await generator.GenerateAsync(texts.Select(text => text + " trip"), cancellationToken: Token);
            var memories = texts.Select((text, index) => new Memory
            {
                Id = Guid.NewGuid(),
                UserId = "u",
                Kind = MemoryKind.Fact,
                Text = text + " trip",
                CreatedAt = time.GetUtcNow().AddDays(-3),
                Importance = 0.5,
                Embedding = vectors[index].Vector.ToArray(),
            }).ToList();
            await store.UpsertManyAsync("u", memories, Token);
            var recall = new MemoryRecall(store, time, generator);

            var stored = await store.GetAsync("u", memories[1].Id, Token);
            var results = await recall.RecallAsync("u", "a coastal voyage trip", 2, Token);

            Assert.Equal(memories[1].Embedding, stored!.Embedding);
            Assert.True(recall.UsesEmbeddings);
            Assert.Equal(memories[1].Id, results[0].Memory.Id);
            Assert.True(results[0].Vector > results[1].Vector);
            Assert.Equal(results[0].Lexical, results[1].Lexical, 9);
        }
        finally
        {
            foreach (var suffix in new[] { "", "-wal", "-shm" })
            {
                File.Delete(path + suffix);
            }
        }
    }

    /// <summary>A tiny HTTP server: records each request and answers with <see cref="Respond"/>.</summary>
    private sealed class ScriptedServer : IAsyncDisposable
    {
        private readonly LoopbackHttpServer _server;

        public ScriptedServer() => _server = new LoopbackHttpServer(AnswerAsync);

        public string BaseAddress => _server.BaseAddress.ToString();

        public ConcurrentQueue<(string Method, string Path, string? Authorization, JsonDocument Body)> Requests { get; } = new();

        public Func<(string Method, string Path, string? Authorization, JsonDocument Body), (int Status, string Body)> Respond { get; set; } = _ => (500, "not scripted");

        public TimeSpan Delay { get; set; }

        private async Task AnswerAsync(HttpListenerContext context)
        {
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var text = await reader.ReadToEndAsync();
            var request = (context.Request.HttpMethod, context.Request.Url!.AbsolutePath, context.Request.Headers["Authorization"], JsonDocument.Parse(text));
            Requests.Enqueue(request);
            if (Delay > TimeSpan.Zero)
            {
                await Task.Delay(Delay);
            }

            var (status, body) = Respond(request);
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            await context.Response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(body));
        }

        public ValueTask DisposeAsync() => _server.DisposeAsync();
    }
}
