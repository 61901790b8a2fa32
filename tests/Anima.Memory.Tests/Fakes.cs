using Microsoft.Extensions.AI;

namespace Anima.Memory.Tests;

/// <summary>A chat client whose answer is set by the test; records the messages it was sent.</summary>
internal sealed class FakeChatClient(Func<IReadOnlyList<ChatMessage>, string> respond) : IChatClient
{
    public List<IReadOnlyList<ChatMessage>> Requests { get; } = [];

    public ChatOptions? LastOptions { get; private set; }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        Requests.Add(list);
        LastOptions = options;
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, respond(list))));
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The consolidator does not stream.");

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}

/// <summary>Embeds a text as a bag of "concepts": each dimension counts the text's words that belong to one concept.</summary>
internal sealed class FakeEmbeddingGenerator(params string[][] concepts) : IEmbeddingGenerator<string, Embedding<float>>
{
    public int Calls { get; private set; }

    public float[] Embed(string text)
    {
        var words = text.ToLowerInvariant().Split([' ', '.', ',', '?', '!'], StringSplitOptions.RemoveEmptyEntries);
        return [.. concepts.Select(concept => (float)words.Count(word => concept.Contains(word)))];
    }

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        Calls++;
        return Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(values.Select(value => new Embedding<float>(Embed(value)))));
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
