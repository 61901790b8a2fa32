using Anima.Llm.Benchmarking;
using Anima.Llm.Gguf;
using Anima.Llm.Inference;

namespace Anima.Llm.Tests;

public sealed class TransformerModelTests
{
    public static TheoryData<string, QuantizationScheme> Models => new()
    {
        { "qwen2", QuantizationScheme.Q8_0 },
        { "qwen2", QuantizationScheme.Q4_K_M },
        { "qwen3", QuantizationScheme.Q4_K_M },
        { "llama", QuantizationScheme.Q8_0 },
        { "llama", QuantizationScheme.F32 },
        // gemma3 quantized: 8-bit activation rounding flips between the one- and four-token kernels
        // move its random logits by ~1% (both stay ~2.5% from the exact reference; see Gemma3Tests).
        { "gemma3", QuantizationScheme.F32 },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void Forward_BatchedPrompt_MatchesTokenByToken(string architecture, QuantizationScheme scheme)
    {
        using var model = TransformerModel.Load(ModelFixtures.Tiny(architecture, scheme));
        var tokens = Enumerable.Range(0, 70).Select(i => (i * 37 + 11) % model.Config.VocabularySize).ToArray();
        var batched = model.CreateSession();
        model.Forward(batched, tokens, cancellationToken: TestContext.Current.CancellationToken);
        var stepwise = model.CreateSession();
        foreach (var token in tokens)
        {
            model.Forward(stepwise, [token], cancellationToken: TestContext.Current.CancellationToken);
        }

        Assert.All(batched.Logits, value => Assert.True(float.IsFinite(value)));
        var difference = batched.Logits.Zip(stepwise.Logits, (a, b) => Math.Abs(a - b)).Max();
        var magnitude = batched.Logits.Max(Math.Abs);
        Assert.True(magnitude > 0);
        Assert.True(difference <= 1e-4 * Math.Max(1, magnitude), $"max abs diff {difference} of {magnitude}");
    }

    [Fact]
    public void Forward_TruncatedSessionReplayed_GivesSameLogits()
    {
        using var model = TransformerModel.Load(ModelFixtures.Tiny("qwen2", QuantizationScheme.Q4_K_M));
        var session = model.CreateSession();
        model.Forward(session, [1, 2, 3, 4, 5, 6], cancellationToken: TestContext.Current.CancellationToken);
        var expected = session.Logits.ToArray();
        model.Forward(session, [9, 9, 9], cancellationToken: TestContext.Current.CancellationToken);
        session.Truncate(5);
        model.Forward(session, [6], cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(expected, session.Logits);
    }

    [Fact]
    public void Forward_BeyondContext_ThrowsContextOverflow()
    {
        using var model = TransformerModel.Load(ModelFixtures.Tiny("llama", QuantizationScheme.Q8_0));
        var session = model.CreateSession(contextLength: 8);
        model.Forward(session, [1, 2, 3, 4, 5, 6], cancellationToken: TestContext.Current.CancellationToken);
        var exception = Assert.Throws<ContextOverflowException>(() => model.Forward(session, [1, 2, 3], cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(9, exception.Requested);
        Assert.Equal(6, session.Length);
    }

    [Fact]
    public void Forward_TokenOutsideVocabulary_Throws()
    {
        using var model = TransformerModel.Load(ModelFixtures.Tiny("llama", QuantizationScheme.Q8_0));
        var session = model.CreateSession();
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward(session, [model.Config.VocabularySize], cancellationToken: TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Load_UnsupportedArchitecture_ThrowsNotSupported()
    {
        using var directory = new TemporaryDirectory();
        var path = directory.File("mamba.gguf");
        new GgufWriter().AddMetadata("general.architecture", "mamba").AddTensor("x", [4], [1f, 2f, 3f, 4f]).Write(path);
        var exception = Assert.Throws<NotSupportedException>(() => TransformerModel.Load(path));
        Assert.Contains("mamba", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnsupportedTensorType_ThrowsNotSupported()
    {
        using var directory = new TemporaryDirectory();
        var source = ModelFixtures.Tiny("llama", QuantizationScheme.Q8_0);
        var path = directory.File("q2k.gguf");
        var bytes = File.ReadAllBytes(source);
        using (var file = GgufFile.Open(source))
        {
            // Retype blk.0.attn_q.weight (Q8_0, 34 bytes/32 values) as Q4_1 (20 bytes/32 values): smaller, so still inside the file.
            var index = System.Text.Encoding.UTF8.GetBytes("blk.0.attn_q.weight").AsSpan();
            var position = bytes.AsSpan().IndexOf(index) + index.Length + 4 + 16;
            Assert.Equal((uint)GgmlType.Q8_0, BitConverter.ToUInt32(bytes, position));
            BitConverter.GetBytes((uint)GgmlType.Q4_1).CopyTo(bytes, position);
        }

        File.WriteAllBytes(path, bytes);
        var exception = Assert.Throws<NotSupportedException>(() => TransformerModel.Load(path));
        Assert.Contains("Q4_1", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_TinyModel_ReportsPositiveThroughputAndFiniteLogits()
    {
        using var model = TransformerModel.Load(ModelFixtures.Tiny("qwen2", QuantizationScheme.Q4_K_M));
        var result = LlmBenchmark.Run(model, threads: 2, promptTokens: 40, decodeTokens: 8, repetitions: 1, cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(result.PrefillTokensPerSecond > 0);
        Assert.True(result.DecodeTokensPerSecond > 0);
        Assert.True(result.LogitsFinite);
        Assert.True(result.WeightBytes > 0);
    }
}
