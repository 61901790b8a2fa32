namespace Anima.Llm.Inference;

/// <summary>How the next token is chosen. A temperature of 0 is greedy decoding.</summary>
public sealed record SamplingOptions
{
    public const float DefaultTemperature = 0.7f;
    public const int DefaultTopK = 40;
    public const float DefaultTopP = 0.95f;
    public const float DefaultMinP = 0.05f;
    public const float DefaultRepetitionPenalty = 1.1f;
    public const int DefaultRepetitionWindow = 64;

    /// <summary>0 = greedy; higher is more random. Range 0..5.</summary>
    public float Temperature { get; init; } = DefaultTemperature;

    /// <summary>Keep only the K most likely tokens; 0 = no limit.</summary>
    public int TopK { get; init; } = DefaultTopK;

    /// <summary>Keep the smallest set of tokens whose probability sums to at least P (0..1]; 1 = no limit.</summary>
    public float TopP { get; init; } = DefaultTopP;

    /// <summary>Drop tokens less likely than MinP times the most likely one (0..1); 0 = off.</summary>
    public float MinP { get; init; } = DefaultMinP;

    /// <summary>Divide positive logits (multiply negative ones) of recently seen tokens by this (≥ 1; 1 = off).</summary>
    public float RepetitionPenalty { get; init; } = DefaultRepetitionPenalty;

    /// <summary>How many recent tokens the repetition penalty looks at.</summary>
    public int RepetitionWindow { get; init; } = DefaultRepetitionWindow;

    /// <summary>Seed of the random choice; null = a fresh seed per generation.</summary>
    public int? Seed { get; init; }

    public static SamplingOptions Greedy { get; } = new() { Temperature = 0, RepetitionPenalty = 1 };

    public void Validate()
    {
        if (!(Temperature >= 0 && Temperature <= 5) || TopK < 0 || !(TopP > 0 && TopP <= 1) || !(MinP >= 0 && MinP < 1)
            || !(RepetitionPenalty >= 1 && RepetitionPenalty <= 10) || RepetitionWindow < 0)
        {
            throw new ArgumentException($"Invalid sampling options: {this}. Temperature 0..5, TopK ≥ 0, TopP (0, 1], MinP [0, 1), RepetitionPenalty 1..10.");
        }
    }
}

/// <summary>Token selection helpers.</summary>
public static class Sampling
{
    /// <summary>The index of the largest logit (the first one on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return best;
    }
}

/// <summary>
/// Chooses tokens from logits: repetition penalty, then temperature, top-k, softmax, top-p and min-p,
/// then a draw from a seeded random source. One sampler per generation; not thread-safe.
/// </summary>
public sealed class Sampler
{
    private readonly SamplingOptions _options;
    private readonly Random _random;
    private (int Token, float Logit)[] _candidates = [];

    public Sampler(SamplingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _random = options.Seed is { } seed ? new Random(seed) : new Random();
    }

    public int Sample(ReadOnlySpan<float> logits, IReadOnlyList<int> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        var penalty = _options.RepetitionPenalty;
        var penalized = new HashSet<int>();
        if (penalty > 1)
        {
            for (var i = Math.Max(0, history.Count - _options.RepetitionWindow); i < history.Count; i++)
            {
                penalized.Add(history[i]);
            }
        }

        var adjusted = logits.ToArray();
        foreach (var token in penalized)
        {
            if ((uint)token < (uint)adjusted.Length)
            {
                var value = adjusted[token];
                adjusted[token] = value > 0 ? value / penalty : value * penalty;
            }
        }

        float Logit(int token) => adjusted[token];

        if (_options.Temperature == 0)
        {
            var best = 0;
            var bestValue = float.NegativeInfinity;
            for (var i = 0; i < logits.Length; i++)
            {
                var value = Logit(i);
                if (value > bestValue)
                {
                    (best, bestValue) = (i, value);
                }
            }

            return best;
        }

        if (_candidates.Length != logits.Length)
        {
            _candidates = new (int, float)[logits.Length];
        }

        for (var i = 0; i < logits.Length; i++)
        {
            _candidates[i] = (i, Logit(i) / _options.Temperature);
        }

        var count = _options.TopK > 0 ? Math.Min(_options.TopK, logits.Length) : logits.Length;
        Array.Sort(_candidates, (a, b) => b.Logit.CompareTo(a.Logit));
        var maximum = _candidates[0].Logit;
        var probabilities = new double[count];
        double sum = 0;
        for (var i = 0; i < count; i++)
        {
            probabilities[i] = Math.Exp(_candidates[i].Logit - maximum);
            sum += probabilities[i];
        }

        var kept = 0;
        double cumulative = 0;
        var minimum = _options.MinP * (probabilities[0] / sum);
        for (; kept < count; kept++)
        {
            var probability = probabilities[kept] / sum;
            if (kept > 0 && (probability < minimum || cumulative >= _options.TopP))
            {
                break;
            }

            cumulative += probability;
        }

        var draw = _random.NextDouble() * cumulative * sum;
        for (var i = 0; i < kept; i++)
        {
            draw -= probabilities[i];
            if (draw <= 0)
            {
                return _candidates[i].Token;
            }
        }

        return _candidates[kept - 1].Token;
    }
}
