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
    private float[] _adjusted = [];

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
        // The logits with the repetition penalty applied, in a buffer kept between tokens (no 600 KB array per token).
        if (_adjusted.Length != logits.Length)
        {
            _adjusted = new float[logits.Length];
        }

        var adjusted = _adjusted.AsSpan(0, logits.Length);
        logits.CopyTo(adjusted);
        var penalty = _options.RepetitionPenalty;
        if (penalty > 1)
        {
            // Each distinct token of the window once: the earliest occurrence applies the penalty, later ones are skipped.
            var first = Math.Max(0, history.Count - _options.RepetitionWindow);
            for (var i = first; i < history.Count; i++)
            {
                var token = history[i];
                if ((uint)token >= (uint)adjusted.Length || IndexOf(history, token, first, i) >= 0)
                {
                    continue;
                }

                var value = adjusted[token];
                adjusted[token] = value > 0 ? value / penalty : value * penalty;
            }
        }

        if (_options.Temperature == 0)
        {
            var best = 0;
            var bestValue = float.NegativeInfinity;
            for (var i = 0; i < adjusted.Length; i++)
            {
                if (adjusted[i] > bestValue)
                {
                    (best, bestValue) = (i, adjusted[i]);
                }
            }

            return best;
        }

        // The k best candidates (ties: the lower token first), sorted: a bounded heap in one pass over the vocabulary
        // rather than a sort of all 150,000 entries per token; a full sort only without top-k.
        var count = _options.TopK > 0 ? Math.Min(_options.TopK, adjusted.Length) : adjusted.Length;
        if (_candidates.Length < count)
        {
            _candidates = new (int, float)[count];
        }

        SelectTop(adjusted, count, _candidates);
        var inverseTemperature = 1 / _options.Temperature;
        for (var i = 0; i < count; i++)
        {
            _candidates[i].Logit *= inverseTemperature;
        }

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

    private static int IndexOf(IReadOnlyList<int> history, int token, int start, int end)
    {
        for (var i = start; i < end; i++)
        {
            if (history[i] == token)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Whether candidate a ranks before b: higher logit first, then the lower token.</summary>
    private static bool Before((int Token, float Logit) a, (int Token, float Logit) b) => a.Logit > b.Logit || (a.Logit == b.Logit && a.Token < b.Token);

    /// <summary>
    /// Writes the <paramref name="count"/> best entries of <paramref name="logits"/> to <paramref name="top"/>, best first
    /// (NaN ranks last). With count below the vocabulary: a min-heap of the best so far, so almost every entry costs one
    /// comparison with the heap's worst.
    /// </summary>
    public static void SelectTop(ReadOnlySpan<float> logits, int count, (int Token, float Logit)[] top)
    {
        static float Key(float value) => float.IsNaN(value) ? float.NegativeInfinity : value;
        if (count >= logits.Length)
        {
            for (var i = 0; i < logits.Length; i++)
            {
                top[i] = (i, Key(logits[i]));
            }

            Array.Sort(top, 0, logits.Length, Comparer<(int Token, float Logit)>.Create((a, b) => Before(a, b) ? -1 : Before(b, a) ? 1 : 0));
            return;
        }

        // top[0..count) as a min-heap under Before: top[0] is the worst kept.
        for (var i = 0; i < count; i++)
        {
            top[i] = (i, Key(logits[i]));
            SiftUp(top, i);
        }

        for (var i = count; i < logits.Length; i++)
        {
            var candidate = (i, Key(logits[i]));
            if (Before(candidate, top[0]))
            {
                top[0] = candidate;
                SiftDown(top, 0, count);
            }
        }

        // Heap to sorted, best first: repeatedly move the worst to the end.
        for (var end = count - 1; end > 0; end--)
        {
            (top[0], top[end]) = (top[end], top[0]);
            SiftDown(top, 0, end);
        }
    }

    private static void SiftUp((int Token, float Logit)[] heap, int index)
    {
        while (index > 0)
        {
            var parent = (index - 1) / 2;
            if (!Before(heap[parent], heap[index]))
            {
                return;
            }

            (heap[parent], heap[index]) = (heap[index], heap[parent]);
            index = parent;
        }
    }

    private static void SiftDown((int Token, float Logit)[] heap, int index, int length)
    {
        while (true)
        {
            var worst = index;
            var left = 2 * index + 1;
            var right = left + 1;
            if (left < length && Before(heap[worst], heap[left]))
            {
                worst = left;
            }

            if (right < length && Before(heap[worst], heap[right]))
            {
                worst = right;
            }

            if (worst == index)
            {
                return;
            }

            (heap[worst], heap[index]) = (heap[index], heap[worst]);
            index = worst;
        }
    }
}
