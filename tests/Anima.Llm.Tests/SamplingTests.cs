using Anima.Llm.Inference;

namespace Anima.Llm.Tests;

public sealed class SamplingTests
{
    private static float[] VocabularyLogits(int seed)
    {
        var random = new Random(seed);
        var logits = new float[151_936];
        for (var i = 0; i < logits.Length; i++)
        {
            // Coarse values so that ties occur, as they do in real logits.
            logits[i] = MathF.Round((float)(random.NextDouble() * 20 - 10), 2);
        }

        return logits;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(40)]
    [InlineData(1000)]
    public void SelectTop_MatchesFullSort(int count)
    {
        var logits = VocabularyLogits(count);
        logits[77] = float.NaN;
        logits[5] = logits[6] = logits[100_000] = 12f; // a three-way tie at the top: lower token first
        var top = new (int Token, float Logit)[count];

        Sampler.SelectTop(logits, count, top);

        var expected = logits.Select((logit, token) => (Token: token, Logit: float.IsNaN(logit) ? float.NegativeInfinity : logit))
            .OrderByDescending(c => c.Logit).ThenBy(c => c.Token).Take(count).ToArray();
        Assert.Equal(expected, top);
    }

    [Fact]
    public void SelectTop_WholeSmallVocabulary_SortsWithNaNLast()
    {
        float[] logits = [1f, float.NaN, 3f, 3f, -2f];
        var top = new (int Token, float Logit)[5];
        Sampler.SelectTop(logits, 5, top);
        Assert.Equal([2, 3, 0, 4, 1], top.Select(c => c.Token));
    }

    /// <summary>
    /// The sampler against a plain transcription of its rules (penalty, temperature, full sort, top-k, min-p, top-p,
    /// one uniform draw per token): the same seed must give the same tokens.
    /// </summary>
    [Fact]
    public void Sample_SeededSampler_MatchesPlainReference()
    {
        var options = new SamplingOptions { Temperature = 0.8f, TopK = 40, TopP = 0.9f, MinP = 0.02f, RepetitionPenalty = 1.3f, RepetitionWindow = 8, Seed = 21 };
        var sampler = new Sampler(options);
        var reference = new Random(21);
        var history = new List<int>();
        var logitsRandom = new Random(5);
        for (var step = 0; step < 30; step++)
        {
            var logits = new float[151_936];
            for (var i = 0; i < logits.Length; i++)
            {
                logits[i] = (float)(logitsRandom.NextDouble() * 4);
            }

            // Make recent tokens attractive so that the penalty matters.
            foreach (var token in history.TakeLast(3))
            {
                logits[token] = 6f;
            }

            var sampled = sampler.Sample(logits, history);
            Assert.Equal(ReferenceSample(logits, history, options, reference), sampled);
            history.Add(sampled);
        }

        Assert.True(history.Distinct().Count() > 10, "the sampler kept picking the same tokens");
    }

    private static int ReferenceSample(float[] logits, List<int> history, SamplingOptions options, Random random)
    {
        var adjusted = (float[])logits.Clone();
        foreach (var token in history.Skip(Math.Max(0, history.Count - options.RepetitionWindow)).Distinct())
        {
            adjusted[token] = adjusted[token] > 0 ? adjusted[token] / options.RepetitionPenalty : adjusted[token] * options.RepetitionPenalty;
        }

        var candidates = adjusted.Select((logit, token) => (Token: token, Logit: logit))
            .OrderByDescending(c => c.Logit).ThenBy(c => c.Token).Take(options.TopK)
            .Select(c => (c.Token, Logit: c.Logit * (1 / options.Temperature))).ToArray();
        var probabilities = candidates.Select(c => Math.Exp(c.Logit - candidates[0].Logit)).ToArray();
        var sum = probabilities.Sum();
        var kept = 0;
        double cumulative = 0;
        for (; kept < candidates.Length; kept++)
        {
            var probability = probabilities[kept] / sum;
            if (kept > 0 && (probability < options.MinP * probabilities[0] / sum || cumulative >= options.TopP))
            {
                break;
            }

            cumulative += probability;
        }

        var draw = random.NextDouble() * cumulative * sum;
        for (var i = 0; i < kept; i++)
        {
            draw -= probabilities[i];
            if (draw <= 0)
            {
                return candidates[i].Token;
            }
        }

        return candidates[kept - 1].Token;
    }
}
