using System.Net.Http.Json;
using System.Text.Json;
using Anima.Testing;

namespace Anima.Server.Tests;

/// <summary>With Anima:Embeddings pointing at an OpenAI-compatible service, every turn's memory is stored with its vector.</summary>
public sealed class EmbeddingsInTurnTests : IAsyncLifetime
{
    private ScriptedMindServer _mind = null!;
    private AnimaTestHost _host = null!;

    public async ValueTask InitializeAsync()
    {
        _mind = await ScriptedMindServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        _host = new AnimaTestHost(settings: AnimaTestHost.MindSettings(_mind, "scripted",
            ("Anima:Embeddings:Endpoint", _mind.Endpoint), ("Anima:Embeddings:Model", "scripted-embed")));
        await _host.StartAsync(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _mind.DisposeAsync();
    }

    [Fact]
    public async Task Turn_IsStoredWithItsEmbedding()
    {
        using var client = await _host.SignUpAsync("embedder");
        await ServerSentEvents.ReadAllAsync(await client.PostAsJsonAsync("/api/companion/messages", new { text = "My cat is called Biscuit." }, TestContext.Current.CancellationToken), TestContext.Current.CancellationToken);

        var export = await client.GetFromJsonAsync<JsonElement>("/api/memories/export", TestContext.Current.CancellationToken);
        var memory = export.GetProperty("memories").EnumerateArray().Single(item => item.GetProperty("text").GetString() == "User: My cat is called Biscuit.");
        var embedding = memory.GetProperty("embedding").EnumerateArray().Select(value => value.GetSingle()).ToArray();

        Assert.Equal(ScriptedMindServer.LetterVector("User: My cat is called Biscuit."), embedding);
        Assert.True(_mind.EmbeddingRequests > 0);
    }
}
