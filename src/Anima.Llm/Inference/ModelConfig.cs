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

/// <summary>The activation of the gated feed-forward block: act(gate) · up.</summary>
public enum FeedForwardActivation
{
    /// <summary>SwiGLU: silu(g) · u (llama, qwen2, qwen3).</summary>
    Silu,

    /// <summary>GeGLU with the tanh approximation of GELU (gemma3).</summary>
    GeluTanh,
}

/// <summary>The hyper-parameters of a Llama-family model, read from GGUF metadata.</summary>
public sealed record ModelConfig
{
    public static readonly IReadOnlyList<string> SupportedArchitectures = ["llama", "qwen2", "qwen3", "gemma3"];

    /// <summary>gemma3's rotary base of its sliding-window (local) layers, fixed by the architecture (llama.cpp hard-codes it too).</summary>
    public const float Gemma3LocalRopeBase = 10_000f;

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

    /// <summary>Factor applied to the embedding rows (gemma3: √EmbeddingLength; else 1).</summary>
    public float EmbeddingScale { get; init; } = 1f;

    /// <summary>Factor applied to q·k before the softmax (default 1/√HeadDimension).</summary>
    public required float AttentionScale { get; init; }

    public FeedForwardActivation Activation { get; init; } = FeedForwardActivation.Silu;

    /// <summary>
    /// Sliding-window attention (gemma3): a layer for which <see cref="IsSlidingLayer"/> is true sees only
    /// the last <see cref="SlidingWindow"/> positions (itself included). Null: every layer is global.
    /// </summary>
    public int? SlidingWindow { get; init; }

    /// <summary>In each run of this many layers the last one is global and the others sliding (gemma3: 6).</summary>
    public int SlidingWindowPattern { get; init; }

    /// <summary>Rotary base of the sliding-window layers (gemma3: 10,000; the global layers use <see cref="RopeBase"/>).</summary>
    public float LocalRopeBase { get; init; }

    /// <summary>Linear RoPE scaling of the global layers: positions are multiplied by this (1 / rope.scaling.factor).</summary>
    public float RopePositionScale { get; init; } = 1f;

    /// <summary>Whether layer <paramref name="layer"/> attends over a sliding window rather than the whole context.</summary>
    public bool IsSlidingLayer(int layer) => SlidingWindow is not null && SlidingWindowPattern > 0 && layer % SlidingWindowPattern < SlidingWindowPattern - 1;

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
        var gemma3 = architecture == "gemma3";
        var layers = Integer("block_count");
        var ropeScale = 1f;
        if (file.TryGetString($"{architecture}.rope.scaling.type") is { } scalingType && scalingType != "none")
        {
            if (scalingType != "linear")
            {
                throw new NotSupportedException($"RoPE scaling '{scalingType}' of '{file.Path}' is not supported (only linear).");
            }

            var factor = (float)(file.TryGetFloat($"{architecture}.rope.scaling.factor") ?? 1.0);
            ropeScale = factor > 0 ? 1f / factor : 1f;
        }

        var config = new ModelConfig
        {
            Architecture = architecture,
            EmbeddingLength = embedding,
            LayerCount = layers,
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
            RopePositionScale = ropeScale,
            // gemma3 27B scales queries by 1/√(embedding/heads) rather than 1/√head_dim (as llama.cpp does, by its layer count).
            AttentionScale = 1f / MathF.Sqrt(gemma3 && layers == 62 ? embedding / heads : headDimension),
            EmbeddingScale = gemma3 ? MathF.Sqrt(embedding) : 1f,
            Activation = gemma3 ? FeedForwardActivation.GeluTanh : FeedForwardActivation.Silu,
            SlidingWindow = gemma3 ? (int?)file.TryGetInteger($"{architecture}.attention.sliding_window") : null,
            SlidingWindowPattern = gemma3 ? (int?)file.TryGetInteger($"{architecture}.attention.sliding_window_pattern") ?? 6 : 0,
            LocalRopeBase = gemma3 ? Gemma3LocalRopeBase : 0f,
        };
        config.Validate(file.Path);
        return config;
    }

    private void Validate(string path)
    {
        if (EmbeddingLength <= 0 || LayerCount <= 0 || FeedForwardLength <= 0 || HeadCount <= 0 || KeyValueHeadCount <= 0
            || HeadDimension <= 0 || HeadCount % KeyValueHeadCount != 0 || RopeDimensions > HeadDimension || RopeDimensions % 2 != 0
            || ContextLength <= 0 || VocabularySize <= 0 || SlidingWindow <= 0 || SlidingWindowPattern < 0)
        {
            throw new GgufFormatException($"'{path}' has inconsistent hyper-parameters: {this}.");
        }
    }
}
