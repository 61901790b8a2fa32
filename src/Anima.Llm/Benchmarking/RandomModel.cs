using Anima.Llm.Gguf;
using Anima.Llm.Kernels;

namespace Anima.Llm.Benchmarking;

/// <summary>How the weight matrices of a generated model are stored.</summary>
public enum QuantizationScheme
{
    /// <summary>Every matrix Q8_0.</summary>
    Q8_0,

    /// <summary>llama.cpp's Q4_K_M recipe: Q4_K, with Q6_K for the output/embedding and for attn_v and ffn_down of some layers; rows not a multiple of 256 fall back to Q5_0 (for Q4_K) and Q8_0 (for Q6_K).</summary>
    Q4_K_M,

    /// <summary>Every matrix F32 (small test models).</summary>
    F32,
}

/// <summary>The shape of a Llama-family model.</summary>
public sealed record ModelShape(string Architecture, int EmbeddingLength, int LayerCount, int HeadCount, int KeyValueHeadCount, int FeedForwardLength, int VocabularySize, bool TiedEmbeddings, float RopeBase = 1_000_000f, int? HeadDimension = null, int? SlidingWindow = null, float? RopeScalingFactor = null)
{
    /// <summary>Qwen2.5-0.5B(-Instruct).</summary>
    public static ModelShape Qwen25_05B { get; } = new("qwen2", 896, 24, 14, 2, 4864, 151936, TiedEmbeddings: true);

    /// <summary>Qwen2.5-1.5B(-Instruct).</summary>
    public static ModelShape Qwen25_15B { get; } = new("qwen2", 1536, 28, 12, 2, 8960, 151936, TiedEmbeddings: true);

    /// <summary>Gemma-3-1B(-it): 256-wide heads, one key/value head, 512-token sliding windows on five layers of six.</summary>
    public static ModelShape Gemma3_1B { get; } = new("gemma3", 1152, 26, 4, 1, 6912, 262144, TiedEmbeddings: true, RopeBase: 1_000_000f, HeadDimension: 256, SlidingWindow: 512);

    public static ModelShape? FromName(string name) => name.ToLowerInvariant() switch
    {
        "qwen2.5-0.5b" => Qwen25_05B,
        "qwen2.5-1.5b" => Qwen25_15B,
        "gemma3-1b" => Gemma3_1B,
        _ => null,
    };

    public int HeadSize => HeadDimension ?? EmbeddingLength / HeadCount;
}

/// <summary>
/// Writes GGUF models with random weights and the exact tensor shapes, types and metadata of a real
/// architecture, with a byte-level BPE vocabulary, so that the engine and llama.cpp can both be
/// benchmarked on the same file. The weights are random: the text they produce is meaningless.
/// </summary>
public static class RandomModel
{
    public static void Write(string path, ModelShape shape, QuantizationScheme scheme, int seed = 1, IProgress<double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var arch = shape.Architecture;
        var random = new Random(seed);
        var writer = new GgufWriter();
        writer.AddMetadata("general.architecture", arch)
            .AddMetadata("general.name", $"random-{arch}-{shape.EmbeddingLength}x{shape.LayerCount}-{scheme}")
            .AddMetadata($"{arch}.context_length", 32768u)
            .AddMetadata($"{arch}.embedding_length", (uint)shape.EmbeddingLength)
            .AddMetadata($"{arch}.block_count", (uint)shape.LayerCount)
            .AddMetadata($"{arch}.feed_forward_length", (uint)shape.FeedForwardLength)
            .AddMetadata($"{arch}.attention.head_count", (uint)shape.HeadCount)
            .AddMetadata($"{arch}.attention.head_count_kv", (uint)shape.KeyValueHeadCount)
            .AddMetadata($"{arch}.rope.freq_base", shape.RopeBase)
            .AddMetadata($"{arch}.attention.layer_norm_rms_epsilon", 1e-6f);
        if (shape.HeadDimension is { } headDimension)
        {
            writer.AddMetadata($"{arch}.attention.key_length", (uint)headDimension)
                .AddMetadata($"{arch}.attention.value_length", (uint)headDimension);
        }

        if (shape.SlidingWindow is { } window)
        {
            writer.AddMetadata($"{arch}.attention.sliding_window", (uint)window);
        }

        if (shape.RopeScalingFactor is { } factor)
        {
            writer.AddMetadata($"{arch}.rope.scaling.type", "linear").AddMetadata($"{arch}.rope.scaling.factor", factor);
        }

        AddVocabulary(writer, shape.VocabularySize);
        // Gemma's norms are stored as 1 + w (the converters add the 1): random values around 1 test where each is applied.
        var gemma = arch == "gemma3";
        var normRandom = gemma ? random : null;

        var dim = shape.EmbeddingLength;
        var qDim = shape.HeadCount * shape.HeadSize;
        var kvDim = shape.KeyValueHeadCount * shape.HeadSize;
        var ff = shape.FeedForwardLength;
        var outputType = Pick(scheme, GgmlType.Q6_K, dim);
        if (shape.TiedEmbeddings)
        {
            AddMatrix(writer, "token_embd.weight", dim, shape.VocabularySize, outputType, random.Next());
        }
        else
        {
            AddMatrix(writer, "token_embd.weight", dim, shape.VocabularySize, Pick(scheme, GgmlType.Q4_K, dim), random.Next());
            AddMatrix(writer, "output.weight", dim, shape.VocabularySize, outputType, random.Next());
        }

        AddNorm(writer, "output_norm.weight", dim, normRandom);
        for (var layer = 0; layer < shape.LayerCount; layer++)
        {
            var prefix = $"blk.{layer}.";
            // llama.cpp's use_more_bits: the first and last eighth of the layers and every third one between.
            var moreBits = layer < shape.LayerCount / 8 || layer >= 7 * shape.LayerCount / 8 || (layer - shape.LayerCount / 8) % 3 == 2;
            var vType = moreBits ? GgmlType.Q6_K : GgmlType.Q4_K;
            AddNorm(writer, prefix + "attn_norm.weight", dim, normRandom);
            AddMatrix(writer, prefix + "attn_q.weight", dim, qDim, Pick(scheme, GgmlType.Q4_K, dim), random.Next());
            AddMatrix(writer, prefix + "attn_k.weight", dim, kvDim, Pick(scheme, GgmlType.Q4_K, dim), random.Next());
            AddMatrix(writer, prefix + "attn_v.weight", dim, kvDim, Pick(scheme, vType, dim), random.Next());
            AddMatrix(writer, prefix + "attn_output.weight", qDim, dim, Pick(scheme, GgmlType.Q4_K, qDim), random.Next());
            if (arch == "qwen2")
            {
                AddVector(writer, prefix + "attn_q.bias", qDim, random);
                AddVector(writer, prefix + "attn_k.bias", kvDim, random);
                AddVector(writer, prefix + "attn_v.bias", kvDim, random);
            }

            if (arch is "qwen3" or "gemma3")
            {
                AddNorm(writer, prefix + "attn_q_norm.weight", shape.HeadSize, normRandom);
                AddNorm(writer, prefix + "attn_k_norm.weight", shape.HeadSize, normRandom);
            }

            if (gemma)
            {
                AddNorm(writer, prefix + "post_attention_norm.weight", dim, normRandom);
                AddNorm(writer, prefix + "post_ffw_norm.weight", dim, normRandom);
            }

            AddNorm(writer, prefix + "ffn_norm.weight", dim, normRandom);
            AddMatrix(writer, prefix + "ffn_gate.weight", dim, ff, Pick(scheme, GgmlType.Q4_K, dim), random.Next());
            AddMatrix(writer, prefix + "ffn_up.weight", dim, ff, Pick(scheme, GgmlType.Q4_K, dim), random.Next());
            AddMatrix(writer, prefix + "ffn_down.weight", ff, dim, Pick(scheme, vType, ff), random.Next());
        }

        writer.Write(path, progress);
    }

    /// <summary>The type the scheme gives a matrix whose rows hold <paramref name="columns"/> values.</summary>
    public static GgmlType Pick(QuantizationScheme scheme, GgmlType kQuant, int columns) => scheme switch
    {
        QuantizationScheme.F32 => GgmlType.F32,
        QuantizationScheme.Q8_0 => GgmlType.Q8_0,
        _ when columns % 256 == 0 => kQuant,
        _ => kQuant == GgmlType.Q6_K ? GgmlType.Q8_0 : GgmlType.Q5_0,
    };

    private static void AddMatrix(GgufWriter writer, string name, int columns, int rows, GgmlType type, int seed)
    {
        var rowBytes = (int)GgmlTypeInfo.ByteCount(type, columns);
        writer.AddTensor(name, [columns, rows], type, stream =>
        {
            var random = new Random(seed);
            const int RowsPerChunk = 256;
            var buffer = new byte[rowBytes * Math.Min(rows, RowsPerChunk)];
            for (var row = 0; row < rows; row += RowsPerChunk)
            {
                var count = Math.Min(RowsPerChunk, rows - row);
                var chunk = buffer.AsSpan(0, count * rowBytes);
                RandomWeights.Fill(type, chunk, random);
                stream.Write(chunk);
            }
        });
    }

    private static void AddNorm(GgufWriter writer, string name, int length, Random? random = null)
    {
        var values = new float[length];
        for (var i = 0; i < length; i++)
        {
            values[i] = random is null ? 1f : 1f + 0.2f * RandomWeights.Gaussian(random);
        }

        writer.AddTensor(name, [length], values);
    }

    private static void AddVector(GgufWriter writer, string name, int length, Random random)
    {
        var values = new float[length];
        for (var i = 0; i < length; i++)
        {
            values[i] = RandomWeights.Gaussian(random) * 0.02f;
        }

        writer.AddTensor(name, [length], values);
    }

    /// <summary>A byte-level BPE vocabulary: the 256 byte symbols, a few merges, filler tokens and ChatML control tokens.</summary>
    private static void AddVocabulary(GgufWriter writer, int size)
    {
        var tokens = new string[size];
        var types = new int[size];
        var byteSymbols = new List<string>();
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            byteSymbols.Add(printable ? ((char)b).ToString() : ((char)(256 + byteSymbols.Count(s => s[0] >= 256))).ToString());
        }

        string[] merges = ["Ġ t", "Ġ a", "h e", "i n", "r e", "o n"];
        var index = 0;
        foreach (var symbol in byteSymbols)
        {
            tokens[index] = symbol;
            types[index++] = 1;
        }

        foreach (var merge in merges)
        {
            tokens[index] = merge.Replace(" ", string.Empty, StringComparison.Ordinal);
            types[index++] = 1;
        }

        string[] controls = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
        var firstControl = size - controls.Length;
        for (; index < firstControl; index++)
        {
            tokens[index] = $"[filler{index}]";
            types[index] = 1;
        }

        for (var c = 0; c < controls.Length; c++)
        {
            tokens[firstControl + c] = controls[c];
            types[firstControl + c] = 3;
        }

        writer.AddMetadata("tokenizer.ggml.model", "gpt2")
            .AddMetadata("tokenizer.ggml.pre", "qwen2")
            .AddMetadata("tokenizer.ggml.tokens", tokens)
            .AddMetadata("tokenizer.ggml.token_type", types)
            .AddMetadata("tokenizer.ggml.merges", merges)
            .AddMetadata("tokenizer.ggml.bos_token_id", (uint)firstControl)
            .AddMetadata("tokenizer.ggml.eos_token_id", (uint)(firstControl + 2))
            .AddMetadata("tokenizer.ggml.padding_token_id", (uint)firstControl)
            .AddMetadata("tokenizer.ggml.add_bos_token", false)
            .AddMetadata("tokenizer.chat_template", "{% for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endfor %}<|im_start|>assistant\n");
    }
}
