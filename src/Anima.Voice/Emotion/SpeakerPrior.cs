namespace Anima.Voice.Emotion;

/// <summary>
/// What the training voices say about a voice not yet heard much: per feature, the mean of the voices' means, the
/// average within-voice variance, and how many utterances of a voice weigh as much as that population mean
/// (<see cref="Strengths"/>). <see cref="SpeakerFeatureStatistics.Normalize(ReadOnlySpan{float}, SpeakerPrior)"/>
/// blends a speaker's own statistics with these (empirical-Bayes shrinkage), so adapting to a voice can start with
/// its first utterance instead of waiting until its statistics are reliable on their own.
/// </summary>
public sealed class SpeakerPrior
{
    /// <summary>Utterances' worth of weight the population's within-voice variance gets against the speaker's own.</summary>
    public const double VarianceStrength = 4;

    /// <summary>The range of <see cref="Strengths"/>: at least a quarter utterance, at most 64 utterances.</summary>
    public const double MinimumStrength = 0.25, MaximumStrength = 64;

    public SpeakerPrior(float[] means, float[] variances, float[] strengths)
    {
        ArgumentNullException.ThrowIfNull(means);
        ArgumentNullException.ThrowIfNull(variances);
        ArgumentNullException.ThrowIfNull(strengths);
        if (means.Length == 0 || variances.Length != means.Length || strengths.Length != means.Length)
        {
            throw new ArgumentException("Means, variances and strengths must have the same, non-zero length.");
        }

        if (variances.Any(variance => !(variance >= 0)) || strengths.Any(strength => !(strength > 0)) || means.Any(mean => !float.IsFinite(mean)))
        {
            throw new ArgumentException("Variances must be non-negative, strengths positive and means finite.");
        }

        Means = means;
        Variances = variances;
        Strengths = strengths;
    }

    public int Dimension => Means.Length;

    /// <summary>Mean over the training voices of each voice's mean [D].</summary>
    public float[] Means { get; }

    /// <summary>Average over the training voices of each voice's own variance [D].</summary>
    public float[] Variances { get; }

    /// <summary>
    /// Per feature, the utterances of a speaker that weigh as much as the population mean [D]: the within-voice
    /// variance over the variance of the voices' true means (σ²/τ²). Small where voices differ a lot (pitch: trust
    /// the speaker early), large where they hardly differ (keep the population's value).
    /// </summary>
    public float[] Strengths { get; }

    /// <summary>Estimates the prior from the feature vectors of each voice (each group one voice).</summary>
    public static SpeakerPrior From(IReadOnlyList<IReadOnlyList<float[]>> voices)
    {
        ArgumentNullException.ThrowIfNull(voices);
        var usable = voices.Where(voice => voice.Count >= 2).ToList();
        if (usable.Count < 2)
        {
            throw new ArgumentException("A speaker prior needs at least two voices with two utterances each.", nameof(voices));
        }

        var dimension = usable[0][0].Length;
        var statistics = usable.Select(voice => SpeakerFeatureStatistics.From(voice, dimension)).ToList();
        var means = new float[dimension];
        var variances = new float[dimension];
        var strengths = new float[dimension];
        var averageCount = usable.Average(voice => (double)voice.Count);
        for (var index = 0; index < dimension; index++)
        {
            var voiceMeans = statistics.Select(voice => voice.Means[index]).ToArray();
            var mean = voiceMeans.Average();
            var within = statistics.Average(voice => voice.Variances[index]);
            var betweenObserved = voiceMeans.Sum(value => (value - mean) * (value - mean)) / (voiceMeans.Length - 1);
            // The spread of the voices' sample means includes the noise of estimating each from averageCount clips.
            var between = Math.Max(betweenObserved - within / averageCount, 1e-12);
            means[index] = (float)mean;
            variances[index] = (float)within;
            strengths[index] = (float)Math.Clamp(within / between, MinimumStrength, MaximumStrength);
        }

        return new SpeakerPrior(means, variances, strengths);
    }
}
