using System.Numerics.Tensors;
using Anima.Llm.Chat;
using Anima.Llm.Inference;
using Microsoft.Extensions.AI;

namespace Anima.Llm.Embeddings;

/// <summary>Options of <see cref="LocalEmbeddingGenerator"/>.</summary>
public sealed class LocalEmbeddingGeneratorOptions
{
    /// <summary>Tokens of a text that are embedded (default 512, 8..32768); a longer text is cut at the end.</summary>
    public int MaxTokens { get; init; } = 512;

    /// <summary>Whether the end-of-sequence token is appended and pooled (Qwen3-Embedding's "last token"; default true).</summary>
    public bool AppendEndOfSequence { get; init; } = true;

    /// <summary>Threads for the matrix products; null = the model's current setting.</summary>
    public int? Threads { get; init; }

    internal void Validate()
    {
        if (MaxTokens is < 8 or > 32768 || Threads is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxTokens), "LocalEmbeddingGeneratorOptions: MaxTokens 8..32768, Threads ≥ 1.");
        }
    }
}

/// <summary>
/// Embeddings from a GGUF model run by the in-process engine (qwen2/qwen3/llama architectures), for embedding models
/// such as Qwen3-Embedding-0.6B: each text is tokenized (the end-of-sequence token appended), run through the
/// transformer in a fresh session, and the last token's final hidden state (after the output norm) is the embedding,
/// L2-normalised. One text at a time (the engine runs one forward pass at a time); vectors have the model's
/// embedding length.
/// </summary>
public sealed class LocalEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly LocalModel _model;
    private readonly bool _ownsModel;
    private readonly LocalEmbeddingGeneratorOptions _options;
    private readonly EmbeddingGeneratorMetadata _metadata;

    public LocalEmbeddingGenerator(LocalModel model, LocalEmbeddingGeneratorOptions? options = null, bool ownsModel = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        _options = options ?? new LocalEmbeddingGeneratorOptions();
        _options.Validate();
        _model = model;
        _ownsModel = ownsModel;
        if (_options.Threads is { } threads)
        {
            model.Transformer.Threads = threads;
        }

        _metadata = new EmbeddingGeneratorMetadata("anima-gguf", null, model.Name, model.Transformer.Config.EmbeddingLength);
    }

    /// <summary>Opens a GGUF embedding model; the generator owns and disposes it.</summary>
    public static LocalEmbeddingGenerator Open(string path, LocalEmbeddingGeneratorOptions? options = null) =>
        new(LocalModel.Open(path), options, ownsModel: true);

    /// <summary>The length of every vector.</summary>
    public int Dimensions => _model.Transformer.Config.EmbeddingLength;

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var texts = values.ToList();
        if (texts.Exists(text => text is null))
        {
            throw new ArgumentException("A text to embed is null.", nameof(values));
        }

        if (options?.Dimensions is { } dimensions && dimensions != Dimensions)
        {
            throw new ArgumentException($"This model gives {Dimensions}-dimensional embeddings, not {dimensions}.", nameof(options));
        }

        // The forward passes are CPU-bound and long; keep them off the caller's thread.
        return Task.Run(() =>
        {
            var result = new GeneratedEmbeddings<Embedding<float>>(texts.Count);
            var tokensUsed = 0L;
            foreach (var text in texts)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var tokens = Tokens(text);
                tokensUsed += tokens.Count;
                var vector = new float[Dimensions];
                var session = _model.Transformer.CreateSession(Math.Max(16, tokens.Count));
                _model.Transformer.FinalHiddenState(session, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(tokens), vector, cancellationToken);
                var norm = TensorPrimitives.Norm(vector);
                if (!float.IsFinite(norm) || norm == 0)
                {
                    throw new InvalidOperationException("The model produced a zero or non-finite embedding.");
                }

                TensorPrimitives.Divide(vector, norm, vector);
                result.Add(new Embedding<float>(vector) { ModelId = _model.Name, CreatedAt = DateTimeOffset.UtcNow });
            }

            result.Usage = new UsageDetails { InputTokenCount = tokensUsed, TotalTokenCount = tokensUsed };
            return result;
        }, cancellationToken);
    }

    /// <summary>The tokens embedded for <paramref name="text"/>: the text (cut to fit) and the end-of-sequence token.</summary>
    public List<int> Tokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokenizer = _model.Tokenizer;
        var tokens = tokenizer.Encode(text, addSpecial: true);
        var endOfSequence = _options.AppendEndOfSequence ? tokenizer.EndOfSequence : null;
        var room = _options.MaxTokens - (endOfSequence is null ? 0 : 1);
        if (tokens.Count > room)
        {
            tokens.RemoveRange(room, tokens.Count - room);
        }

        if (endOfSequence is { } eos)
        {
            tokens.Add(eos);
        }

        if (tokens.Count == 0)
        {
            throw new ArgumentException("The text gives no tokens to embed and the model has no end-of-sequence token.", nameof(text));
        }

        return tokens;
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
        if (_ownsModel)
        {
            _model.Dispose();
        }
    }
}
