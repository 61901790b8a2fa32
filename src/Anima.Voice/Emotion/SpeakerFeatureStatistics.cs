namespace Anima.Voice.Emotion;

/// <summary>
/// Running per-feature mean and variance of one speaker's utterances (Welford's algorithm). Voices differ more
/// between people than between one person's moods, so expressing an utterance relative to the speaker's own
/// habits (z-scores) is what makes the emotion audible; the companion keeps one of these per user.
/// </summary>
public sealed class SpeakerFeatureStatistics
{
    private readonly double[] _mean;
    private readonly double[] _squares;

    public SpeakerFeatureStatistics(int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        _mean = new double[dimension];
        _squares = new double[dimension];
    }

    /// <summary>Restores statistics saved with <see cref="Count"/>, <see cref="Means"/> and <see cref="Variances"/>.</summary>
    public SpeakerFeatureStatistics(int count, double[] means, double[] variances)
    {
        ArgumentNullException.ThrowIfNull(means);
        ArgumentNullException.ThrowIfNull(variances);
        if (means.Length != variances.Length || means.Length == 0 || count < 0)
        {
            throw new ArgumentException("Means and variances must have the same, non-zero length and the count must not be negative.");
        }

        Count = count;
        _mean = (double[])means.Clone();
        _squares = variances.Select(variance => variance * count).ToArray();
    }

    public int Dimension => _mean.Length;

    /// <summary>How many utterances have been added.</summary>
    public int Count { get; private set; }

    public IReadOnlyList<double> Means => _mean;

    public IReadOnlyList<double> Variances => _squares.Select(square => Count == 0 ? 0 : square / Count).ToArray();

    /// <summary>Adds one utterance's feature vector.</summary>
    public void Add(ReadOnlySpan<float> features)
    {
        if (features.Length != Dimension)
        {
            throw new ArgumentException($"Expected {Dimension} features; got {features.Length}.", nameof(features));
        }

        Count++;
        for (var index = 0; index < Dimension; index++)
        {
            var delta = features[index] - _mean[index];
            _mean[index] += delta / Count;
            _squares[index] += delta * (features[index] - _mean[index]);
        }
    }

    /// <summary><paramref name="features"/> as z-scores relative to this speaker.</summary>
    public float[] Normalize(ReadOnlySpan<float> features)
    {
        if (features.Length != Dimension)
        {
            throw new ArgumentException($"Expected {Dimension} features; got {features.Length}.", nameof(features));
        }

        var normalized = new float[Dimension];
        for (var index = 0; index < Dimension; index++)
        {
            var deviation = Math.Sqrt(Count == 0 ? 0 : _squares[index] / Count);
            normalized[index] = (float)((features[index] - _mean[index]) / (deviation + 1e-3 * Math.Abs(_mean[index]) + 1e-6));
        }

        return normalized;
    }

    /// <summary>
    /// <paramref name="features"/> as z-scores relative to this speaker as far as they are known, blended with
    /// <paramref name="prior"/>: with n utterances the mean is (n·speaker + k·population)/(n + k) with the feature's
    /// strength k, and the variance likewise with <see cref="SpeakerPrior.VarianceStrength"/>; with none it is
    /// the population's alone.
    /// </summary>
    public float[] Normalize(ReadOnlySpan<float> features, SpeakerPrior prior)
    {
        ArgumentNullException.ThrowIfNull(prior);
        if (features.Length != Dimension || prior.Dimension != Dimension)
        {
            throw new ArgumentException($"Expected {Dimension} features and a prior of the same size; got {features.Length} and {prior.Dimension}.", nameof(features));
        }

        var normalized = new float[Dimension];
        Normalize(features, prior, normalized);
        return normalized;
    }

    internal void Normalize(ReadOnlySpan<float> features, SpeakerPrior prior, Span<float> normalized)
    {
        var count = (double)Count;
        for (var index = 0; index < Dimension; index++)
        {
            var strength = prior.Strengths[index];
            var mean = (count * _mean[index] + strength * prior.Means[index]) / (count + strength);
            var ownVariance = Count == 0 ? 0 : _squares[index] / Count;
            var variance = (count * ownVariance + SpeakerPrior.VarianceStrength * prior.Variances[index]) / (count + SpeakerPrior.VarianceStrength);
            normalized[index] = (float)((features[index] - mean) / (Math.Sqrt(variance) + 1e-3 * Math.Abs(mean) + 1e-6));
        }
    }

    /// <summary>Statistics over all of <paramref name="vectors"/>.</summary>
    public static SpeakerFeatureStatistics From(IEnumerable<float[]> vectors, int dimension)
    {
        var statistics = new SpeakerFeatureStatistics(dimension);
        foreach (var vector in vectors)
        {
            statistics.Add(vector);
        }

        return statistics;
    }
}
