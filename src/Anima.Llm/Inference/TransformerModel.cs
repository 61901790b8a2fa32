using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Anima.Llm.Gguf;
using Anima.Llm.Kernels;

namespace Anima.Llm.Inference;

/// <summary>
/// A Llama-family decoder (llama, qwen2, qwen3, gemma3) over the memory-mapped tensors of a GGUF file:
/// RMSNorm, rotary embeddings (normal or NeoX pairing, optional per-dimension frequency factors),
/// grouped-query attention over a per-session KV cache, SwiGLU feed-forward, q/k/v biases (qwen2),
/// per-head q/k RMSNorm (qwen3, gemma3) and tied embeddings. gemma3 adds: embeddings scaled by
/// √dim, GeGLU, RMSNorm after the attention and feed-forward blocks as well as before, and
/// sliding-window layers with their own rotary base between the global ones. (Gemma's (1 + w)
/// RMSNorm needs nothing here: GGUF converters store 1 + w in the norm tensors.) Forward passes on
/// one model are serialized.
/// </summary>
public sealed unsafe class TransformerModel : IDisposable
{
    /// <summary>Tokens processed per forward step of a long prompt; bounds the scratch memory.</summary>
    public const int MaximumBatch = 64;

    private readonly GgufFile _file;
    private readonly bool _ownsFile;
    private readonly Layer[] _layers;
    private readonly WeightMatrix _embedding;
    private readonly WeightMatrix _output;
    private readonly float[] _outputNorm;
    private readonly float[] _ropeFrequencies;
    private readonly float[] _localRopeFrequencies;
    private readonly Lock _gate = new();

    // Scratch, [MaximumBatch, width] each, pinned.
    private readonly float[] _x;
    private readonly float[] _normed;
    private readonly float[] _query;
    private readonly float[] _key;
    private readonly float[] _value;
    private readonly float[] _attention;
    private readonly float[] _projected;
    private readonly float[] _gateBuffer;
    private readonly float[] _upBuffer;
    private readonly QuantizedActivations _quantizedEmbedding;
    private readonly QuantizedActivations _quantizedAttention;
    private readonly QuantizedActivations _quantizedHidden;

    public TransformerModel(GgufFile file, bool ownsFile = true)
    {
        ArgumentNullException.ThrowIfNull(file);
        _file = file;
        _ownsFile = ownsFile;
        Config = ModelConfig.FromGguf(file);
        var config = Config;
        _embedding = new WeightMatrix(file.GetTensor("token_embd.weight"));
        _output = file.TryGetTensor("output.weight") is { } output ? new WeightMatrix(output) : _embedding;
        _outputNorm = Vector(file, "output_norm.weight", config.EmbeddingLength);
        CheckShape(_embedding, config.EmbeddingLength, config.VocabularySize);
        CheckShape(_output, config.EmbeddingLength, config.VocabularySize);
        _layers = new Layer[config.LayerCount];
        for (var index = 0; index < config.LayerCount; index++)
        {
            _layers[index] = new Layer(file, index, config);
        }

        _ropeFrequencies = new float[config.RopeDimensions / 2];
        var factors = file.TryGetTensor("rope_freqs.weight")?.ToFloatArray();
        for (var i = 0; i < _ropeFrequencies.Length; i++)
        {
            var frequency = MathF.Pow(config.RopeBase, -2f * i / config.RopeDimensions) * config.RopePositionScale;
            _ropeFrequencies[i] = factors is not null && i < factors.Length ? frequency / factors[i] : frequency;
        }

        // Sliding-window layers (gemma3) rotate with their own base and without the global layers' scaling.
        _localRopeFrequencies = new float[config.RopeDimensions / 2];
        for (var i = 0; i < _localRopeFrequencies.Length; i++)
        {
            _localRopeFrequencies[i] = config.SlidingWindow is null ? _ropeFrequencies[i] : MathF.Pow(config.LocalRopeBase, -2f * i / config.RopeDimensions);
        }

        float[] Scratch(int width) => GC.AllocateArray<float>(MaximumBatch * width, pinned: true);
        _x = Scratch(config.EmbeddingLength);
        _normed = Scratch(config.EmbeddingLength);
        _query = Scratch(config.QueryDimension);
        _key = Scratch(config.KeyValueDimension);
        _value = Scratch(config.KeyValueDimension);
        _attention = Scratch(config.QueryDimension);
        _projected = Scratch(config.EmbeddingLength);
        _gateBuffer = Scratch(config.FeedForwardLength);
        _upBuffer = Scratch(config.FeedForwardLength);
        _quantizedEmbedding = new QuantizedActivations(MaximumBatch, RoundUp32(config.EmbeddingLength));
        _quantizedAttention = new QuantizedActivations(MaximumBatch, RoundUp32(config.QueryDimension));
        _quantizedHidden = new QuantizedActivations(MaximumBatch, RoundUp32(config.FeedForwardLength));
        Threads = Environment.ProcessorCount;
    }

    /// <summary>Opens a GGUF model file.</summary>
    public static TransformerModel Load(string path)
    {
        var file = GgufFile.Open(path);
        try
        {
            return new TransformerModel(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public ModelConfig Config { get; }

    public GgufFile File => _file;

    /// <summary>Threads used by the matrix products and attention (default: all cores).</summary>
    public int Threads
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            field = value;
        }
    }

    /// <summary>A new conversation state holding at most <paramref name="contextLength"/> tokens (default: the model's, capped at 4096).</summary>
    public InferenceSession CreateSession(int? contextLength = null)
    {
        var length = contextLength ?? Math.Min(Config.ContextLength, 4096);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1, nameof(contextLength));
        return new InferenceSession(Config, length);
    }

    /// <summary>
    /// Appends <paramref name="tokens"/> to the session, computing their keys and values; with
    /// <paramref name="computeLogits"/> fills <see cref="InferenceSession.Logits"/> for the last one.
    /// </summary>
    public void Forward(InferenceSession session, ReadOnlySpan<int> tokens, bool computeLogits = true, CancellationToken cancellationToken = default) =>
        Forward(session, tokens, computeLogits, cancellationToken, default);

    private void Forward(InferenceSession session, ReadOnlySpan<int> tokens, bool computeLogits, CancellationToken cancellationToken, Span<float> finalHidden)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (session.Config != Config)
        {
            throw new ArgumentException("The session belongs to another model.", nameof(session));
        }

        if (tokens.IsEmpty)
        {
            throw new ArgumentException("No tokens to process.", nameof(tokens));
        }

        foreach (var token in tokens)
        {
            if ((uint)token >= (uint)Config.VocabularySize)
            {
                throw new ArgumentOutOfRangeException(nameof(tokens), $"Token id {token} is outside the vocabulary of {Config.VocabularySize}.");
            }
        }

        session.EnsureCapacity(session.Length + tokens.Length);
        lock (_gate)
        {
            for (var start = 0; start < tokens.Length; start += MaximumBatch)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var count = Math.Min(MaximumBatch, tokens.Length - start);
                var last = start + count == tokens.Length;
                ForwardBatch(session, tokens.Slice(start, count), computeLogits && last, last ? finalHidden : default);
                session.Append(tokens.Slice(start, count));
            }
        }
    }

    /// <summary>
    /// The last token's hidden state after the final norm (the vector the output layer turns into logits), for
    /// embedding models that pool the last token (Qwen3-Embedding): appends <paramref name="tokens"/> to the session
    /// like <see cref="Forward"/> without computing logits and writes <see cref="ModelConfig.EmbeddingLength"/> values.
    /// </summary>
    public void FinalHiddenState(InferenceSession session, ReadOnlySpan<int> tokens, Span<float> hidden, CancellationToken cancellationToken = default)
    {
        if (hidden.Length != Config.EmbeddingLength)
        {
            throw new ArgumentException($"The hidden state has {Config.EmbeddingLength} values, not {hidden.Length}.", nameof(hidden));
        }

        Forward(session, tokens, computeLogits: false, cancellationToken, hidden);
    }

    private void ForwardBatch(InferenceSession session, ReadOnlySpan<int> tokens, bool computeLogits, Span<float> finalHidden)
    {
        var config = Config;
        var n = tokens.Length;
        var dimension = config.EmbeddingLength;
        var position = session.Length;
        for (var i = 0; i < n; i++)
        {
            _embedding.DequantizeRow(tokens[i], _x.AsSpan(i * dimension, dimension));
        }

        if (config.EmbeddingScale != 1f)
        {
            TensorPrimitives.Multiply(_x.AsSpan(0, n * dimension), config.EmbeddingScale, _x.AsSpan(0, n * dimension));
        }

        fixed (float* x = _x, normed = _normed, query = _query, key = _key, value = _value, attention = _attention, projected = _projected, gate = _gateBuffer, up = _upBuffer)
        {
            for (var l = 0; l < _layers.Length; l++)
            {
                var layer = _layers[l];
                var mark = ForwardProfile.Start();
                RmsNorm(x, layer.AttentionNorm, normed, n, dimension, config.RmsEpsilon);
                var quantized = Prepare(_quantizedEmbedding, normed, n, dimension, Threads, layer.Query, layer.Key, layer.Value);
                ForwardProfile.Record(ForwardPhase.NormAndQuantize, ref mark);
                MatMul.Multiply(
                    [new(layer.Query, query, config.QueryDimension), new(layer.Key, key, config.KeyValueDimension), new(layer.Value, value, config.KeyValueDimension)],
                    normed,
                    quantized,
                    n,
                    Threads);
                ForwardProfile.Record(ForwardPhase.QueryKeyValue, ref mark);
                AddBias(query, layer.QueryBias, n, config.QueryDimension);
                AddBias(key, layer.KeyBias, n, config.KeyValueDimension);
                AddBias(value, layer.ValueBias, n, config.KeyValueDimension);
                if (layer.QueryNorm is not null)
                {
                    RmsNorm(query, layer.QueryNorm, query, n * config.HeadCount, config.HeadDimension, config.RmsEpsilon);
                }

                if (layer.KeyNorm is not null)
                {
                    RmsNorm(key, layer.KeyNorm, key, n * config.KeyValueHeadCount, config.HeadDimension, config.RmsEpsilon);
                }

                var sliding = config.IsSlidingLayer(l);
                var frequencies = sliding ? _localRopeFrequencies : _ropeFrequencies;
                for (var i = 0; i < n; i++)
                {
                    Rope(query + i * config.QueryDimension, config.HeadCount, position + i, frequencies);
                    Rope(key + i * config.KeyValueDimension, config.KeyValueHeadCount, position + i, frequencies);
                }

                var kvDimension = config.KeyValueDimension;
                new ReadOnlySpan<float>(key, n * kvDimension).CopyTo(session.Keys[l].AsSpan(position * kvDimension));
                new ReadOnlySpan<float>(value, n * kvDimension).CopyTo(session.Values[l].AsSpan(position * kvDimension));
                ForwardProfile.Record(ForwardPhase.Rope, ref mark);
                Attend(session, l, query, attention, n, position, sliding ? config.SlidingWindow!.Value : int.MaxValue);
                ForwardProfile.Record(ForwardPhase.Attention, ref mark);

                var attentionQuantized = Prepare(_quantizedAttention, attention, n, config.QueryDimension, Threads, layer.AttentionOutput);
                ForwardProfile.Record(ForwardPhase.NormAndQuantize, ref mark);
                MatMul.Multiply(layer.AttentionOutput, attention, attentionQuantized, projected, n, dimension, Threads);
                if (layer.PostAttentionNorm is not null)
                {
                    RmsNorm(projected, layer.PostAttentionNorm, projected, n, dimension, config.RmsEpsilon);
                }

                ForwardProfile.Record(ForwardPhase.AttentionOutput, ref mark);
                TensorPrimitives.Add(new ReadOnlySpan<float>(x, n * dimension), new ReadOnlySpan<float>(projected, n * dimension), new Span<float>(x, n * dimension));

                RmsNorm(x, layer.FeedForwardNorm, normed, n, dimension, config.RmsEpsilon);
                quantized = Prepare(_quantizedEmbedding, normed, n, dimension, Threads, layer.Gate, layer.Up);
                var hidden = config.FeedForwardLength;
                ForwardProfile.Record(ForwardPhase.NormAndQuantize, ref mark);
                MatMul.Multiply([new(layer.Gate, gate, hidden), new(layer.Up, up, hidden)], normed, quantized, n, Threads);
                ForwardProfile.Record(ForwardPhase.GateUp, ref mark);
                // The activation is per value, so a prompt's rows run on all threads (a single row runs inline).
                var gateStart = (nint)gate;
                var upStart = (nint)up;
                var activation = config.Activation;
                ParallelWork.For(n, Threads, row => GatedActivation(
                    new Span<float>((float*)gateStart + (long)row * hidden, hidden), new Span<float>((float*)upStart + (long)row * hidden, hidden), activation));

                var hiddenQuantized = Prepare(_quantizedHidden, gate, n, hidden, Threads, layer.Down);
                ForwardProfile.Record(ForwardPhase.SwiGluAndQuantize, ref mark);
                MatMul.Multiply(layer.Down, gate, hiddenQuantized, projected, n, dimension, Threads);
                if (layer.PostFeedForwardNorm is not null)
                {
                    RmsNorm(projected, layer.PostFeedForwardNorm, projected, n, dimension, config.RmsEpsilon);
                }

                ForwardProfile.Record(ForwardPhase.Down, ref mark);
                TensorPrimitives.Add(new ReadOnlySpan<float>(x, n * dimension), new ReadOnlySpan<float>(projected, n * dimension), new Span<float>(x, n * dimension));
            }

            if (!finalHidden.IsEmpty)
            {
                fixed (float* hidden = finalHidden)
                {
                    RmsNorm(x + (n - 1) * dimension, _outputNorm, hidden, 1, dimension, config.RmsEpsilon);
                }
            }

            if (computeLogits)
            {
                var lastRow = x + (n - 1) * dimension;
                fixed (float* logits = session.Logits)
                {
                    var mark = ForwardProfile.Start();
                    RmsNorm(lastRow, _outputNorm, normed, 1, dimension, config.RmsEpsilon);
                    var quantized = Prepare(_quantizedEmbedding, normed, 1, dimension, 1, _output);
                    MatMul.Multiply(_output, normed, quantized, logits, 1, config.VocabularySize, Threads);
                    ForwardProfile.Record(ForwardPhase.Logits, ref mark);
                }
            }
        }
    }

    /// <summary>The activation of a gated feed-forward layer, in place in <paramref name="gate"/>: act(gate)·up.</summary>
    private static void GatedActivation(Span<float> gate, Span<float> up, FeedForwardActivation activation)
    {
        if (activation == FeedForwardActivation.GeluTanh)
        {
            GeluTanh(gate);
            TensorPrimitives.Multiply(gate, up, gate);
        }
        else
        {
            // SwiGLU: silu(g)·u = sigmoid(g)·(g·u).
            TensorPrimitives.Multiply(up, gate, up);
            TensorPrimitives.Sigmoid(gate, gate);
            TensorPrimitives.Multiply(gate, up, gate);
        }
    }

    private static QuantizedActivations? Prepare(QuantizedActivations buffer, float* input, int rows, int columns, int threads, params ReadOnlySpan<WeightMatrix> consumers)
    {
        var quantized = false;
        var superBlock = false;
        foreach (var consumer in consumers)
        {
            quantized |= consumer.UsesQuantizedActivations;
            superBlock |= QuantizedDot.NeedsSuperBlockScales(consumer.Type);
        }

        if (!quantized)
        {
            return null;
        }

        buffer.Quantize(input, rows, superBlock, threads);
        return buffer;
    }

    private static void RmsNorm(float* input, float[] weight, float* output, int rows, int width, float epsilon)
    {
        for (var r = 0; r < rows; r++)
        {
            var source = new ReadOnlySpan<float>(input + r * width, width);
            var sumOfSquares = TensorPrimitives.SumOfSquares(source);
            var scale = 1f / MathF.Sqrt(sumOfSquares / width + epsilon);
            var target = new Span<float>(output + r * width, width);
            TensorPrimitives.Multiply(source, scale, target);
            TensorPrimitives.Multiply(target, weight, target);
        }
    }

    /// <summary>GELU with the tanh approximation (as ggml and Gemma use): x/2 · (1 + tanh(√(2/π)(x + 0.044715x³))), in place.</summary>
    internal static void GeluTanh(Span<float> values)
    {
        const float SqrtTwoOverPi = 0.7978845608028654f;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var half = Vector256.Create(0.5f);
            var one = Vector256.Create(1f);
            var two = Vector256.Create(2f);
            var coefficient = Vector256.Create(0.044715f);
            var root = Vector256.Create(SqrtTwoOverPi);
            var limit = Vector256.Create(20f);
            ref var start = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(values);
            for (; i + 8 <= values.Length; i += 8)
            {
                var x = Vector256.LoadUnsafe(ref start, (nuint)i);
                var inner = root * (x + coefficient * x * x * x);
                // tanh(u) = 1 - 2/(e^{2u} + 1), with u clamped so that e^{2u} stays finite.
                var u = Vector256.Min(Vector256.Max(inner, -limit), limit);
                var tanh = one - two / (Vector256.Exp(two * u) + one);
                (half * x * (one + tanh)).StoreUnsafe(ref start, (nuint)i);
            }
        }

        for (; i < values.Length; i++)
        {
            var x = values[i];
            values[i] = 0.5f * x * (1f + MathF.Tanh(SqrtTwoOverPi * (x + 0.044715f * x * x * x)));
        }
    }

    private static void AddBias(float* values, float[]? bias, int rows, int width)
    {
        if (bias is null)
        {
            return;
        }

        for (var r = 0; r < rows; r++)
        {
            var row = new Span<float>(values + r * width, width);
            TensorPrimitives.Add(row, bias, row);
        }
    }

    /// <summary>Rotates the first RopeDimensions of every head of one token at <paramref name="position"/>.</summary>
    private void Rope(float* vector, int heads, int position, float[] frequencies)
    {
        var headDimension = Config.HeadDimension;
        var pairs = frequencies.Length;
        Span<float> cosines = stackalloc float[pairs];
        Span<float> sines = stackalloc float[pairs];
        for (var i = 0; i < pairs; i++)
        {
            var angle = position * frequencies[i];
            (sines[i], cosines[i]) = MathF.SinCos(angle);
        }

        var neox = Config.RopeStyle == RopeStyle.Neox;
        for (var h = 0; h < heads; h++)
        {
            var head = vector + h * headDimension;
            for (var i = 0; i < pairs; i++)
            {
                var first = neox ? i : 2 * i;
                var second = neox ? i + pairs : 2 * i + 1;
                var a = head[first];
                var b = head[second];
                head[first] = a * cosines[i] - b * sines[i];
                head[second] = a * sines[i] + b * cosines[i];
            }
        }
    }

    /// <summary>Causal grouped-query attention of <paramref name="n"/> new tokens over the cache (the last <paramref name="window"/> positions of it).</summary>
    private void Attend(InferenceSession session, int layer, float* query, float* output, int n, int position, int window)
    {
        var config = Config;
        var headCount = config.HeadCount;
        var keys = session.Keys[layer];
        var values = session.Values[layer];
        var queryAddress = (nint)query;
        var outputAddress = (nint)output;
        ParallelWork.For(n * headCount, n * headCount >= 4 ? Threads : 1, item =>
        {
            var token = item / headCount;
            var head = item % headCount;
            fixed (float* keyCache = keys, valueCache = values)
            {
                AttendHead(config, (float*)queryAddress, keyCache, valueCache, (float*)outputAddress, token, head, position + token + 1, window);
            }
        });
    }

    /// <summary>
    /// One query head of one token over the first <paramref name="length"/> cached positions (only the
    /// last <paramref name="window"/> of them for a sliding-window layer): scores q·k·scale, softmax, and the weighted sum of values. Query and output are [tokens, QueryDimension],
    /// the caches [positions, KeyValueDimension]. Hand-vectorized because the vectors are short (64–128
    /// values) and there are tokens × heads × positions of them: a library call per dot product costs
    /// more than the dot product.
    /// </summary>
    private static void AttendHead(ModelConfig config, float* query, float* keyCache, float* valueCache, float* output, int token, int head, int end, int window)
    {
        var first = end > window ? end - window : 0;
        var length = end - first;
        var headDimension = config.HeadDimension;
        var kvDimension = config.KeyValueDimension;
        var kvOffset = head / (config.HeadCount / config.KeyValueHeadCount) * headDimension;
        var q = query + token * config.QueryDimension + head * headDimension;
        var result = output + token * config.QueryDimension + head * headDimension;
        var scale = config.AttentionScale;
        var scores = ArrayPool<float>.Shared.Rent(length);
        try
        {
            fixed (float* weights = scores)
            {
                AttentionKernels.Scores(q, keyCache + first * kvDimension + kvOffset, kvDimension, length, headDimension, scale, weights);

                var span = new Span<float>(weights, length);
                // Subtract the maximum first: exp of a large score would overflow to infinity.
                TensorPrimitives.Subtract(span, TensorPrimitives.Max(span), span);
                TensorPrimitives.SoftMax(span, span);
                AttentionKernels.WeightedSum(weights, valueCache + first * kvDimension + kvOffset, kvDimension, length, result, headDimension);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scores);
        }
    }

    private static int RoundUp32(int value) => (value + 31) / 32 * 32;

    private static void CheckShape(WeightMatrix matrix, int columns, int rows)
    {
        if (matrix.Columns != columns || matrix.Rows != rows)
        {
            throw new GgufFormatException($"Tensor '{matrix.Name}' is [{matrix.Columns}, {matrix.Rows}]; the model needs [{columns}, {rows}].");
        }
    }

    internal static float[] Vector(GgufFile file, string name, int length)
    {
        var tensor = file.GetTensor(name);
        if (tensor.ElementCount != length)
        {
            throw new GgufFormatException($"Tensor '{name}' has {tensor.ElementCount} values; the model needs {length}.");
        }

        return tensor.ToFloatArray();
    }

    public void Dispose()
    {
        if (_ownsFile)
        {
            _file.Dispose();
        }
    }

    private sealed class Layer
    {
        public Layer(GgufFile file, int index, ModelConfig config)
        {
            var prefix = $"blk.{index}.";
            WeightMatrix Matrix(string name, int columns, int rows)
            {
                var matrix = new WeightMatrix(file.GetTensor(prefix + name));
                CheckShape(matrix, columns, rows);
                return matrix;
            }

            float[]? Optional(string name, int length) => file.TryGetTensor(prefix + name) is null ? null : Vector(file, prefix + name, length);

            AttentionNorm = Vector(file, prefix + "attn_norm.weight", config.EmbeddingLength);
            Query = Matrix("attn_q.weight", config.EmbeddingLength, config.QueryDimension);
            Key = Matrix("attn_k.weight", config.EmbeddingLength, config.KeyValueDimension);
            Value = Matrix("attn_v.weight", config.EmbeddingLength, config.KeyValueDimension);
            AttentionOutput = Matrix("attn_output.weight", config.QueryDimension, config.EmbeddingLength);
            QueryBias = Optional("attn_q.bias", config.QueryDimension);
            KeyBias = Optional("attn_k.bias", config.KeyValueDimension);
            ValueBias = Optional("attn_v.bias", config.KeyValueDimension);
            QueryNorm = Optional("attn_q_norm.weight", config.HeadDimension);
            KeyNorm = Optional("attn_k_norm.weight", config.HeadDimension);
            FeedForwardNorm = Vector(file, prefix + "ffn_norm.weight", config.EmbeddingLength);
            var gemma3 = config.Architecture == "gemma3";
            PostAttentionNorm = gemma3 ? Vector(file, prefix + "post_attention_norm.weight", config.EmbeddingLength) : null;
            PostFeedForwardNorm = gemma3 ? Vector(file, prefix + "post_ffw_norm.weight", config.EmbeddingLength) : null;
            if (gemma3 && (QueryNorm is null || KeyNorm is null))
            {
                throw new GgufFormatException($"gemma3 layer {index} has no attn_q_norm/attn_k_norm tensors.");
            }
            Gate = Matrix("ffn_gate.weight", config.EmbeddingLength, config.FeedForwardLength);
            Up = Matrix("ffn_up.weight", config.EmbeddingLength, config.FeedForwardLength);
            Down = Matrix("ffn_down.weight", config.FeedForwardLength, config.EmbeddingLength);
        }

        public float[] AttentionNorm { get; }

        public WeightMatrix Query { get; }

        public WeightMatrix Key { get; }

        public WeightMatrix Value { get; }

        public WeightMatrix AttentionOutput { get; }

        public float[]? QueryBias { get; }

        public float[]? KeyBias { get; }

        public float[]? ValueBias { get; }

        public float[]? QueryNorm { get; }

        public float[]? KeyNorm { get; }

        public float[] FeedForwardNorm { get; }

        public float[]? PostAttentionNorm { get; }

        public float[]? PostFeedForwardNorm { get; }

        public WeightMatrix Gate { get; }

        public WeightMatrix Up { get; }

        public WeightMatrix Down { get; }
    }
}
