using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Anima.Llm.Conversion;
using Anima.Llm.Inference;
using Anima.Llm.Tokenization;
using Anima.Testing;

namespace Anima.Llm.Tests;

/// <summary>
/// The real 260K-parameter TinyStories model of llama2.c, converted to GGUF and run by the engine,
/// against a plain reference forward pass written here from llama2.c's run.c (independent of the
/// engine: scalar loops over the original checkpoint, llama2.c's own tokenizer algorithm).
/// </summary>
public sealed class Stories260KTests
{
    private const string Prompt = "Once upon a time";
    private const int Steps = 48;

    [Fact]
    public void GreedyDecode_ConvertedStories260K_MatchesReferenceImplementation()
    {
        var folder = SharedData.RequireDirectory("llama2c-stories260K");
        var checkpoint = Path.Combine(folder, "stories260K.bin");
        var tokenizerPath = Path.Combine(folder, "tok512.bin");
        var reference = new ReferenceLlama2c(checkpoint, tokenizerPath);
        var expected = reference.GenerateGreedy(Prompt, Steps);
        var expectedText = reference.Decode(expected).TrimStart();
        Assert.StartsWith("Once upon a time, there was a little girl named Lily", expectedText, StringComparison.Ordinal);

        using var directory = new TemporaryDirectory();
        var gguf = directory.File("stories260K.gguf");
        Llama2cConverter.Convert(checkpoint, tokenizerPath, gguf);
        using var model = TransformerModel.Load(gguf);
        var tokenizer = Tokenizer.FromGguf(model.File);
        var tokens = tokenizer.Encode(Prompt);
        Assert.Equal(reference.Encode(Prompt), tokens);

        foreach (var threads in new[] { 1, 2 })
        {
            model.Threads = threads;
            var session = model.CreateSession();
            var generated = new List<int>(tokens);
            model.Forward(session, tokens.ToArray(), cancellationToken: TestContext.Current.CancellationToken);
            while (generated.Count < expected.Count)
            {
                var next = Sampling.ArgMax(session.Logits);
                generated.Add(next);
                model.Forward(session, [next], cancellationToken: TestContext.Current.CancellationToken);
            }

            Assert.Equal(expected, generated);
            var text = tokenizer.Decode(generated);
            Assert.StartsWith("Once upon a time, there was a little girl named Lily", text.TrimStart(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Forward_WholePromptAtOnce_MatchesTokenByToken()
    {
        var folder = SharedData.RequireDirectory("llama2c-stories260K");
        using var directory = new TemporaryDirectory();
        var gguf = directory.File("stories260K.gguf");
        Llama2cConverter.Convert(Path.Combine(folder, "stories260K.bin"), Path.Combine(folder, "tok512.bin"), gguf);
        using var model = TransformerModel.Load(gguf);
        var tokens = Tokenizer.FromGguf(model.File).Encode("Once upon a time, there was a big dog. The dog was happy.");
        var batched = model.CreateSession();
        model.Forward(batched, tokens.ToArray(), cancellationToken: TestContext.Current.CancellationToken);
        var stepwise = model.CreateSession();
        foreach (var token in tokens)
        {
            model.Forward(stepwise, [token], cancellationToken: TestContext.Current.CancellationToken);
        }

        var difference = batched.Logits.Zip(stepwise.Logits, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(difference < 1e-4, $"max abs diff {difference}");
    }

    /// <summary>llama2.c run.c, transcribed as plainly as possible.</summary>
    private sealed class ReferenceLlama2c
    {
        private readonly int _dim, _hidden, _layers, _heads, _kvHeads, _vocab, _seqLen;
        private readonly float[] _embedding, _rmsAtt, _wq, _wk, _wv, _wo, _rmsFfn, _w1, _w2, _w3, _rmsFinal, _wcls;
        private readonly string[] _vocabulary;
        private readonly float[] _scores;

        public ReferenceLlama2c(string checkpointPath, string tokenizerPath)
        {
            var bytes = File.ReadAllBytes(checkpointPath);
            var header = MemoryMarshal.Cast<byte, int>(bytes.AsSpan(0, 28)).ToArray();
            (_dim, _hidden, _layers, _heads, _kvHeads, _vocab, _seqLen) = (header[0], header[1], header[2], header[3], header[4], Math.Abs(header[5]), header[6]);
            var shared = header[5] > 0;
            var weights = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(28)).ToArray();
            var headSize = _dim / _heads;
            var kvDim = _dim * _kvHeads / _heads;
            var offset = 0;
            float[] Take(int count)
            {
                var result = weights.AsSpan(offset, count).ToArray();
                offset += count;
                return result;
            }

            _embedding = Take(_vocab * _dim);
            _rmsAtt = Take(_layers * _dim);
            _wq = Take(_layers * _dim * _dim);
            _wk = Take(_layers * _dim * kvDim);
            _wv = Take(_layers * _dim * kvDim);
            _wo = Take(_layers * _dim * _dim);
            _rmsFfn = Take(_layers * _dim);
            _w1 = Take(_layers * _dim * _hidden);
            _w2 = Take(_layers * _hidden * _dim);
            _w3 = Take(_layers * _dim * _hidden);
            _rmsFinal = Take(_dim);
            offset += _seqLen * headSize;
            _wcls = shared ? _embedding : Take(_vocab * _dim);

            var tokenizerBytes = File.ReadAllBytes(tokenizerPath);
            _vocabulary = new string[_vocab];
            _scores = new float[_vocab];
            var position = 4;
            for (var i = 0; i < _vocab; i++)
            {
                _scores[i] = BinaryPrimitives.ReadSingleLittleEndian(tokenizerBytes.AsSpan(position));
                var length = BinaryPrimitives.ReadInt32LittleEndian(tokenizerBytes.AsSpan(position + 4));
                _vocabulary[i] = Encoding.UTF8.GetString(tokenizerBytes, position + 8, length);
                position += 8 + length;
            }
        }

        /// <summary>llama2.c encode(): BOS, a dummy space prefix, characters, then best-score merges.</summary>
        public List<int> Encode(string text)
        {
            var tokens = new List<int>();
            foreach (var character in " " + text)
            {
                tokens.Add(Array.IndexOf(_vocabulary, character.ToString()));
            }

            while (true)
            {
                var bestScore = float.NegativeInfinity;
                var bestId = -1;
                var bestIndex = -1;
                for (var i = 0; i + 1 < tokens.Count; i++)
                {
                    var id = Array.IndexOf(_vocabulary, _vocabulary[tokens[i]] + _vocabulary[tokens[i + 1]]);
                    if (id >= 0 && _scores[id] > bestScore)
                    {
                        (bestScore, bestId, bestIndex) = (_scores[id], id, i);
                    }
                }

                if (bestIndex < 0)
                {
                    break;
                }

                tokens[bestIndex] = bestId;
                tokens.RemoveAt(bestIndex + 1);
            }

            tokens.Insert(0, 1);
            return tokens;
        }

        public string Decode(IEnumerable<int> tokens) => string.Concat(tokens.Skip(1).Select(t => _vocabulary[t]));

        public List<int> GenerateGreedy(string prompt, int steps)
        {
            var tokens = Encode(prompt);
            var kvDim = _dim * _kvHeads / _heads;
            var keyCache = new float[_layers * _seqLen * kvDim];
            var valueCache = new float[_layers * _seqLen * kvDim];
            var output = new List<int> { tokens[0] };
            var token = tokens[0];
            for (var pos = 0; output.Count < steps; pos++)
            {
                var logits = Forward(token, pos, keyCache, valueCache);
                token = pos + 1 < tokens.Count ? tokens[pos + 1] : Sampling.ArgMax(logits);
                output.Add(token);
            }

            return output;
        }

        private static void RmsNorm(float[] o, float[] x, float[] weight, int weightOffset, int size)
        {
            double ss = 0;
            for (var j = 0; j < size; j++)
            {
                ss += x[j] * x[j];
            }

            var scale = 1.0 / Math.Sqrt(ss / size + 1e-5);
            for (var j = 0; j < size; j++)
            {
                o[j] = (float)(weight[weightOffset + j] * (scale * x[j]));
            }
        }

        private static void MatVec(float[] output, float[] x, float[] w, int wOffset, int n, int d)
        {
            for (var i = 0; i < d; i++)
            {
                double value = 0;
                for (var j = 0; j < n; j++)
                {
                    value += w[wOffset + i * n + j] * x[j];
                }

                output[i] = (float)value;
            }
        }

        private float[] Forward(int token, int pos, float[] keyCache, float[] valueCache)
        {
            var headSize = _dim / _heads;
            var kvDim = _dim * _kvHeads / _heads;
            var kvMul = _heads / _kvHeads;
            var x = _embedding.AsSpan(token * _dim, _dim).ToArray();
            var xb = new float[_dim];
            var xb2 = new float[_dim];
            var q = new float[_dim];
            var k = new float[kvDim];
            var v = new float[kvDim];
            var hb = new float[_hidden];
            var hb2 = new float[_hidden];
            var att = new float[_seqLen];
            for (var l = 0; l < _layers; l++)
            {
                RmsNorm(xb, x, _rmsAtt, l * _dim, _dim);
                MatVec(q, xb, _wq, l * _dim * _dim, _dim, _dim);
                MatVec(k, xb, _wk, l * _dim * kvDim, _dim, kvDim);
                MatVec(v, xb, _wv, l * _dim * kvDim, _dim, kvDim);
                for (var i = 0; i < _dim; i += 2)
                {
                    var headDim = i % headSize;
                    var frequency = 1.0 / Math.Pow(10000.0, headDim / (double)headSize);
                    var angle = pos * frequency;
                    var (fcr, fci) = (Math.Cos(angle), Math.Sin(angle));
                    var rotations = i < kvDim ? 2 : 1;
                    for (var r = 0; r < rotations; r++)
                    {
                        var vector = r == 0 ? q : k;
                        var (v0, v1) = (vector[i], vector[i + 1]);
                        vector[i] = (float)(v0 * fcr - v1 * fci);
                        vector[i + 1] = (float)(v0 * fci + v1 * fcr);
                    }
                }

                var layerOffset = l * _seqLen * kvDim;
                Array.Copy(k, 0, keyCache, layerOffset + pos * kvDim, kvDim);
                Array.Copy(v, 0, valueCache, layerOffset + pos * kvDim, kvDim);
                for (var h = 0; h < _heads; h++)
                {
                    for (var t = 0; t <= pos; t++)
                    {
                        double score = 0;
                        for (var i = 0; i < headSize; i++)
                        {
                            score += q[h * headSize + i] * keyCache[layerOffset + t * kvDim + h / kvMul * headSize + i];
                        }

                        att[t] = (float)(score / Math.Sqrt(headSize));
                    }

                    var max = att.Take(pos + 1).Max();
                    double sum = 0;
                    for (var t = 0; t <= pos; t++)
                    {
                        att[t] = (float)Math.Exp(att[t] - max);
                        sum += att[t];
                    }

                    for (var i = 0; i < headSize; i++)
                    {
                        double value = 0;
                        for (var t = 0; t <= pos; t++)
                        {
                            value += att[t] / sum * valueCache[layerOffset + t * kvDim + h / kvMul * headSize + i];
                        }

                        xb[h * headSize + i] = (float)value;
                    }
                }

                MatVec(xb2, xb, _wo, l * _dim * _dim, _dim, _dim);
                for (var i = 0; i < _dim; i++)
                {
                    x[i] += xb2[i];
                }

                RmsNorm(xb, x, _rmsFfn, l * _dim, _dim);
                MatVec(hb, xb, _w1, l * _dim * _hidden, _dim, _hidden);
                MatVec(hb2, xb, _w3, l * _dim * _hidden, _dim, _hidden);
                for (var i = 0; i < _hidden; i++)
                {
                    var value = hb[i];
                    hb[i] = (float)(value / (1.0 + Math.Exp(-value)) * hb2[i]);
                }

                MatVec(xb, hb, _w2, l * _hidden * _dim, _hidden, _dim);
                for (var i = 0; i < _dim; i++)
                {
                    x[i] += xb[i];
                }
            }

            RmsNorm(x, x.ToArray(), _rmsFinal, 0, _dim);
            var logits = new float[_vocab];
            MatVec(logits, x, _wcls, 0, _dim, _vocab);
            return logits;
        }
    }
}
