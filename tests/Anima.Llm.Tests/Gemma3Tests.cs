using Anima.Llm.Benchmarking;
using Anima.Llm.Gguf;
using Anima.Llm.Inference;

namespace Anima.Llm.Tests;

/// <summary>
/// gemma3 on a tiny random-weight model written by the engine's own writer, against a plain reference
/// forward pass written here from the architecture's definition (Hugging Face's Gemma3 text model as
/// llama.cpp runs it): double-precision loops over the F32 tensors, sharing no code with the engine.
/// </summary>
public sealed class Gemma3Tests
{
    private static readonly int[] Prompt = [2, 17, 400, 33, 1000, 5, 77, 901, 12, 640, 3, 250, 48, 700];

    [Fact]
    public void Forward_TinyGemma3_MatchesPlainReferenceAtEveryPosition()
    {
        var path = ModelFixtures.Tiny("gemma3", QuantizationScheme.F32);
        using var model = TransformerModel.Load(path);
        Assert.Equal("gemma3", model.Config.Architecture);
        Assert.True(model.Config.IsSlidingLayer(0));
        Assert.False(model.Config.IsSlidingLayer(5));
        Assert.True(model.Config.IsSlidingLayer(6));
        Assert.True(Prompt.Length > 2 * ModelFixtures.Gemma3Shape.SlidingWindow!.Value, "the prompt must be longer than the window for the test to see it");

        var reference = new ReferenceGemma3(model.File);
        var expected = reference.Forward(Prompt);
        foreach (var threads in new[] { 1, 2 })
        {
            model.Threads = threads;
            var session = model.CreateSession();
            for (var position = 0; position < Prompt.Length; position++)
            {
                model.Forward(session, [Prompt[position]], cancellationToken: TestContext.Current.CancellationToken);
                AssertClose(expected[position], session.Logits, $"position {position}, {threads} thread(s)");
            }

            // The whole prompt in one batch gives the last position's logits too.
            var batched = model.CreateSession();
            model.Forward(batched, Prompt, cancellationToken: TestContext.Current.CancellationToken);
            AssertClose(expected[^1], batched.Logits, $"batched, {threads} thread(s)");
        }
    }

    [Fact]
    public void Forward_WithoutSlidingWindow_DiffersFromReference()
    {
        // The reference itself must be sensitive to the window: with every layer global it gives other logits.
        var path = ModelFixtures.Tiny("gemma3", QuantizationScheme.F32);
        using var file = GgufFile.Open(path);
        var windowed = new ReferenceGemma3(file).Forward(Prompt)[^1];
        var global = new ReferenceGemma3(file, windowOverride: int.MaxValue).Forward(Prompt)[^1];
        var difference = windowed.Zip(global, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(difference > 1e-3, $"max abs diff {difference}");
    }

    [Theory]
    [InlineData(QuantizationScheme.Q8_0)]
    [InlineData(QuantizationScheme.Q4_K_M)]
    public void Forward_QuantizedGemma3_StaysCloseToReference(QuantizationScheme scheme)
    {
        // Quantized weights and 8-bit activations: close to the exact product of the same weights, not
        // bit-exact; the whole prompt at once (four-token kernels) and token by token (one-token kernels).
        using var model = TransformerModel.Load(ModelFixtures.Tiny("gemma3", scheme));
        var expected = new ReferenceGemma3(model.File).Forward(Prompt)[^1];
        var magnitude = expected.Max(Math.Abs);
        var batched = model.CreateSession();
        model.Forward(batched, Prompt, cancellationToken: TestContext.Current.CancellationToken);
        var stepwise = model.CreateSession();
        foreach (var token in Prompt)
        {
            model.Forward(stepwise, [token], cancellationToken: TestContext.Current.CancellationToken);
        }

        foreach (var actual in new[] { batched.Logits, stepwise.Logits })
        {
            var difference = expected.Zip(actual, (a, b) => Math.Abs(a - (double)b)).Max();
            Assert.True(difference <= 0.1 * magnitude, $"max abs diff {difference} of {magnitude}");
        }
    }

    [Fact]
    public void Load_Gemma3WithoutPostNorms_ThrowsFormatError()
    {
        using var directory = new TemporaryDirectory();
        var path = directory.File("broken-gemma3.gguf");
        using (var source = GgufFile.Open(ModelFixtures.Tiny("gemma3", QuantizationScheme.F32)))
        {
            var writer = new GgufWriter();
            foreach (var (key, value) in source.Metadata)
            {
                writer.AddMetadata(key, value);
            }

            foreach (var tensor in source.Tensors)
            {
                if (tensor.Name != "blk.3.post_ffw_norm.weight")
                {
                    writer.AddTensor(tensor.Name, [.. tensor.Dimensions], tensor.ToFloatArray());
                }
            }

            writer.Write(path);
        }

        var exception = Assert.Throws<GgufFormatException>(() => TransformerModel.Load(path));
        Assert.Contains("post_ffw_norm", exception.Message, StringComparison.Ordinal);
    }

    private static void AssertClose(double[] expected, float[] actual, string where)
    {
        Assert.Equal(expected.Length, actual.Length);
        var magnitude = expected.Max(Math.Abs);
        var difference = expected.Zip(actual, (a, b) => Math.Abs(a - (double)b)).Max();
        Assert.True(magnitude > 0.1, $"{where}: logits are all near zero ({magnitude})");
        Assert.True(difference <= 2e-3 * Math.Max(1, magnitude), $"{where}: max abs diff {difference} of {magnitude}");
    }

    /// <summary>
    /// Gemma 3's text decoder, written from its definition with plain loops: embeddings × √dim; per layer
    /// RMSNorm → q/k/v → per-head RMSNorm of q and k → NeoX RoPE (base 10,000 on sliding layers, the file's
    /// base and linear scaling on every sixth, global, layer) → softmax(q·k/√head_dim) over the window →
    /// output projection → RMSNorm → residual; RMSNorm → GELU(tanh)(gate)·up → down → RMSNorm → residual;
    /// final RMSNorm and the tied embedding matrix. Norm tensors are used as stored (GGUF holds 1 + w).
    /// </summary>
    internal sealed class ReferenceGemma3
    {
        private readonly GgufFile _file;
        private readonly int _dim;
        private readonly int _layers;
        private readonly int _heads;
        private readonly int _kvHeads;
        private readonly int _headDim;
        private readonly int _hidden;
        private readonly double _epsilon;
        private readonly double _globalBase;
        private readonly double _globalScale;
        private readonly int _window;
        private readonly int _vocabulary;

        public ReferenceGemma3(GgufFile file, int? windowOverride = null)
        {
            _file = file;
            _dim = (int)file.GetInteger("gemma3.embedding_length");
            _layers = (int)file.GetInteger("gemma3.block_count");
            _heads = (int)file.GetInteger("gemma3.attention.head_count");
            _kvHeads = (int)file.GetInteger("gemma3.attention.head_count_kv");
            _headDim = (int)file.GetInteger("gemma3.attention.key_length");
            _hidden = (int)file.GetInteger("gemma3.feed_forward_length");
            _epsilon = file.TryGetFloat("gemma3.attention.layer_norm_rms_epsilon")!.Value;
            _globalBase = file.TryGetFloat("gemma3.rope.freq_base")!.Value;
            _globalScale = 1.0 / file.TryGetFloat("gemma3.rope.scaling.factor")!.Value;
            _window = windowOverride ?? (int)file.GetInteger("gemma3.attention.sliding_window");
            _vocabulary = file.GetTensor("token_embd.weight").Rows;
        }

        /// <summary>The logits after each position of <paramref name="tokens"/>.</summary>
        public double[][] Forward(int[] tokens)
        {
            var n = tokens.Length;
            var embedding = _file.GetTensor("token_embd.weight").ToFloatArray();
            var x = new double[n][];
            for (var t = 0; t < n; t++)
            {
                x[t] = new double[_dim];
                for (var i = 0; i < _dim; i++)
                {
                    x[t][i] = embedding[(long)tokens[t] * _dim + i] * Math.Sqrt(_dim);
                }
            }

            for (var layer = 0; layer < _layers; layer++)
            {
                var p = $"blk.{layer}.";
                var sliding = layer % 6 < 5;
                var ropeBase = sliding ? 10000.0 : _globalBase;
                var positionScale = sliding ? 1.0 : _globalScale;
                var q = new double[n][];
                var k = new double[n][];
                var v = new double[n][];
                for (var t = 0; t < n; t++)
                {
                    var normed = Norm(x[t], T(p + "attn_norm.weight"));
                    q[t] = MatVec(p + "attn_q.weight", normed);
                    k[t] = MatVec(p + "attn_k.weight", normed);
                    v[t] = MatVec(p + "attn_v.weight", normed);
                    for (var h = 0; h < _heads; h++)
                    {
                        NormHead(q[t], h, T(p + "attn_q_norm.weight"));
                        Rotate(q[t], h, t * positionScale, ropeBase);
                    }

                    for (var h = 0; h < _kvHeads; h++)
                    {
                        NormHead(k[t], h, T(p + "attn_k_norm.weight"));
                        Rotate(k[t], h, t * positionScale, ropeBase);
                    }
                }

                for (var t = 0; t < n; t++)
                {
                    var attended = new double[_heads * _headDim];
                    var first = sliding ? Math.Max(0, t - _window + 1) : 0;
                    for (var h = 0; h < _heads; h++)
                    {
                        var kvHead = h / (_heads / _kvHeads);
                        var scores = new double[t + 1 - first];
                        for (var s = first; s <= t; s++)
                        {
                            double dot = 0;
                            for (var i = 0; i < _headDim; i++)
                            {
                                dot += q[t][h * _headDim + i] * k[s][kvHead * _headDim + i];
                            }

                            scores[s - first] = dot / Math.Sqrt(_headDim);
                        }

                        var max = scores.Max();
                        var total = scores.Sum(score => Math.Exp(score - max));
                        for (var s = first; s <= t; s++)
                        {
                            var weight = Math.Exp(scores[s - first] - max) / total;
                            for (var i = 0; i < _headDim; i++)
                            {
                                attended[h * _headDim + i] += weight * v[s][kvHead * _headDim + i];
                            }
                        }
                    }

                    var projected = Norm(MatVec(p + "attn_output.weight", attended), T(p + "post_attention_norm.weight"));
                    for (var i = 0; i < _dim; i++)
                    {
                        x[t][i] += projected[i];
                    }

                    var ffnIn = Norm(x[t], T(p + "ffn_norm.weight"));
                    var gate = MatVec(p + "ffn_gate.weight", ffnIn);
                    var up = MatVec(p + "ffn_up.weight", ffnIn);
                    var activated = new double[_hidden];
                    for (var i = 0; i < _hidden; i++)
                    {
                        var g = gate[i];
                        activated[i] = 0.5 * g * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (g + 0.044715 * g * g * g))) * up[i];
                    }

                    var down = Norm(MatVec(p + "ffn_down.weight", activated), T(p + "post_ffw_norm.weight"));
                    for (var i = 0; i < _dim; i++)
                    {
                        x[t][i] += down[i];
                    }
                }
            }

            var logits = new double[n][];
            for (var t = 0; t < n; t++)
            {
                var final = Norm(x[t], T("output_norm.weight"));
                logits[t] = new double[_vocabulary];
                for (var r = 0; r < _vocabulary; r++)
                {
                    double sum = 0;
                    for (var i = 0; i < _dim; i++)
                    {
                        sum += embedding[(long)r * _dim + i] * final[i];
                    }

                    logits[t][r] = sum;
                }
            }

            return logits;
        }

        private float[] T(string name) => _file.GetTensor(name).ToFloatArray();

        private double[] MatVec(string name, double[] input)
        {
            var tensor = _file.GetTensor(name);
            var weights = tensor.ToFloatArray();
            Assert.Equal(input.Length, tensor.Columns);
            var output = new double[tensor.Rows];
            for (var r = 0; r < tensor.Rows; r++)
            {
                double sum = 0;
                for (var c = 0; c < tensor.Columns; c++)
                {
                    sum += weights[(long)r * tensor.Columns + c] * input[c];
                }

                output[r] = sum;
            }

            return output;
        }

        private double[] Norm(double[] input, float[] weight)
        {
            var meanSquare = input.Sum(value => value * value) / input.Length;
            var scale = 1 / Math.Sqrt(meanSquare + _epsilon);
            return [.. input.Select((value, i) => value * scale * weight[i])];
        }

        private void NormHead(double[] vector, int head, float[] weight)
        {
            var slice = vector.AsSpan(head * _headDim, _headDim);
            var normed = Norm(slice.ToArray(), weight);
            normed.CopyTo(slice);
        }

        /// <summary>NeoX pairing: dimension i with i + head_dim/2, angle position · base^(-2i/head_dim).</summary>
        private void Rotate(double[] vector, int head, double position, double ropeBase)
        {
            var half = _headDim / 2;
            for (var i = 0; i < half; i++)
            {
                var angle = position * Math.Pow(ropeBase, -2.0 * i / _headDim);
                var a = vector[head * _headDim + i];
                var b = vector[head * _headDim + i + half];
                vector[head * _headDim + i] = a * Math.Cos(angle) - b * Math.Sin(angle);
                vector[head * _headDim + i + half] = a * Math.Sin(angle) + b * Math.Cos(angle);
            }
        }
    }
}
