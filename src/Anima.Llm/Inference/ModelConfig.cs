using Anima.Llm.Gguf;

namespace Anima.Llm.Inference;

/// <summary>How rotary position embedding pairs the dimensions of a head.</summary>
public enum RopeStyle
{
    /// <summary>Adjacent pairs (x[2i], x[2i+1]): llama in GGUF (its converter permutes q/k for this).</summary>
    Normal,

    /// <summary>Halves (x[i], x[i + d/2]): GPT-NeoX, Qwen2, Qwen3.</summary>
    Neox,
}

/// <summary>The hyper-parameters of a Llama-family model, read from GGUF metadata.</summary>
public sealed record ModelConfig
{
    public static readonly IReadOnlyList<string> SupportedArchitectures = ["llama", "qwen2", "qwen3"];

    public required string Architecture { get; init; }

    public required int EmbeddingLength { get; init; }

    public required int LayerCount { get; init; }

    public required int FeedForwardLength { get; init; }

    public required int HeadCount { get; init; }

    public required int KeyValueHeadCount { get; init; }

    public required int HeadDimension { get; init; }

    public required float RmsEpsilon { get; init; }

    public required float RopeBase { get; init; }

    public required int RopeDimensions { get; init; }

    public required RopeStyle RopeStyle { get; init; }

    /// <summary>The context the model was trained for.</summary>
    public required int ContextLength { get; init; }

    public required int VocabularySize { get; init; }

    public int QueryDimension => HeadCount * HeadDimension;

    public int KeyValueDimension => KeyValueHeadCount * HeadDimension;

    public static ModelConfig FromGguf(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var architecture = file.TryGetString("general.architecture")
            ?? throw new GgufFormatException($"'{file.Path}' has no general.architecture; it is not a model file (a vocabulary-only GGUF?).");
        if (!SupportedArchitectures.Contains(architecture))
        {
            throw new NotSupportedException($"Model architecture '{architecture}' is not supported; supported: {string.Join(", ", SupportedArchitectures)}.");
        }

        int Integer(string key) => checked((int)file.GetInteger($"{architecture}.{key}"));
        var embedding = Integer("embedding_length");
        var heads = Integer("attention.head_count");
        var kvHeads = (int?)file.TryGetInteger($"{architecture}.attention.head_count_kv") ?? heads;
        var headDimension = (int?)file.TryGetInteger($"{architecture}.attention.key_length") ?? embedding / Math.Max(1, heads);
        var vocabulary = file.TryGetArray<string>("tokenizer.ggml.tokens")?.Length
            ?? (int?)file.TryGetInteger($"{architecture}.vocab_size")
            ?? file.GetTensor("token_embd.weight").Rows;
        var config = new ModelConfig
        {
            Architecture = architecture,
            EmbeddingLength = embedding,
            LayerCount = Integer("block_count"),
            FeedForwardLength = Integer("feed_forward_length"),
            HeadCount = heads,
            KeyValueHeadCount = kvHeads,
            HeadDimension = headDimension,
            RmsEpsilon = (float)(file.TryGetFloat($"{architecture}.attention.layer_norm_rms_epsilon") ?? 1e-5),
            RopeBase = (float)(file.TryGetFloat($"{architecture}.rope.freq_base") ?? 10000.0),
            RopeDimensions = (int?)file.TryGetInteger($"{architecture}.rope.dimension_count") ?? headDimension,
            RopeStyle = architecture == "llama" ? RopeStyle.Normal : RopeStyle.Neox,
            ContextLength = (int?)file.TryGetInteger($"{architecture}.context_length") ?? 2048,
            VocabularySize = vocabulary,
        };
        config.Validate(file.Path);
        return config;
    }

    private void Validate(string path)
    {
        if (EmbeddingLength <= 0 || LayerCount <= 0 || FeedForwardLength <= 0 || HeadCount <= 0 || KeyValueHeadCount <= 0
            || HeadDimension <= 0 || HeadCount % KeyValueHeadCount != 0 || RopeDimensions > HeadDimension || RopeDimensions % 2 != 0
            || ContextLength <= 0 || VocabularySize <= 0)
        {
            throw new GgufFormatException($"'{path}' has inconsistent hyper-parameters: {this}.");
        }
    }
}
