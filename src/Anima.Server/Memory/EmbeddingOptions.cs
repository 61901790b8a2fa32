using Anima.Llm.Embeddings;
using Anima.Memory.Embeddings;
using Microsoft.Extensions.AI;

namespace Anima.Server.Memory;

/// <summary>
/// The embedding model that makes memory recall semantic (optional; without one recall is lexical). Either an
/// OpenAI-compatible service (<c>Anima__Embeddings__Endpoint</c> = <c>http://127.0.0.1:8080/v1</c>, <c>__Model</c>,
/// optional <c>__ApiKey</c>, <c>__Dimensions</c>) or a GGUF embedding model run in-process
/// (<c>Anima__Embeddings__ModelPath</c> = a Qwen3-Embedding GGUF file, optional <c>__Threads</c>), not both.
/// </summary>
public sealed class EmbeddingOptions
{
    public const string SectionName = "Anima:Embeddings";

    public Uri? Endpoint { get; set; }

    public string? Model { get; set; }

    public string? ApiKey { get; set; }

    public int? Dimensions { get; set; }

    public string? ModelPath { get; set; }

    public int? Threads { get; set; }

    /// <summary>Whether an embedding model is configured.</summary>
    public bool IsEnabled => Endpoint is not null || !string.IsNullOrWhiteSpace(ModelPath);

    /// <summary>The configured generator, or null when none is configured; throws naming the setting when the settings are wrong.</summary>
    public IEmbeddingGenerator<string, Embedding<float>>? CreateGenerator(HttpClient? http = null)
    {
        if (Endpoint is not null && !string.IsNullOrWhiteSpace(ModelPath))
        {
            throw new InvalidOperationException("Anima:Embeddings: set Endpoint (an embeddings service) or ModelPath (a local GGUF model), not both.");
        }

        if (Endpoint is not null)
        {
            if (string.IsNullOrWhiteSpace(Model))
            {
                throw new InvalidOperationException("Anima:Embeddings:Model must name the embedding model when Anima:Embeddings:Endpoint is set.");
            }

            return new OpenAiCompatibleEmbeddingGenerator(new OpenAiEmbeddingOptions { Endpoint = Endpoint, Model = Model, ApiKey = ApiKey, Dimensions = Dimensions }, http);
        }

        if (!string.IsNullOrWhiteSpace(ModelPath))
        {
            if (!File.Exists(ModelPath))
            {
                throw new FileNotFoundException($"Anima:Embeddings:ModelPath: the embedding model '{ModelPath}' does not exist.", ModelPath);
            }

            return LocalEmbeddingGenerator.Open(ModelPath, new LocalEmbeddingGeneratorOptions { Threads = Threads });
        }

        return null;
    }
}
