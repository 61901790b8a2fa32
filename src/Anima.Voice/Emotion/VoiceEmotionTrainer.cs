namespace Anima.Voice.Emotion;

/// <summary>Settings for training a voice-emotion model.</summary>
/// <param name="EnsembleSize">Perceptrons per ensemble, each from its own seed.</param>
/// <param name="Seed">The base seed; training is deterministic for a seed.</param>
/// <param name="InputNoise">Standard deviation of Gaussian noise added to the standardized features while training.</param>
/// <param name="Dropout">Dropout rate of the hidden layer while training.</param>
public sealed record VoiceEmotionTrainingOptions(int EnsembleSize = 5, int Seed = 20_261_123, int Hidden = 64, int Epochs = 120, float InputNoise = 0.8f, float Dropout = 0.5f)
{
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(EnsembleSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(Hidden, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(Epochs, 1);
        if (InputNoise is < 0 or > 3 || Dropout is < 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(InputNoise), "InputNoise must be 0–3 and Dropout 0–1 (exclusive).");
        }
    }
}

/// <summary>Trains <see cref="VoiceEmotionModel"/>s from labelled examples.</summary>
public static class VoiceEmotionTrainer
{
    /// <summary>Trains both ensembles (global and speaker-relative) on <paramref name="examples"/>.</summary>
    public static VoiceEmotionModel Train(
        IReadOnlyList<VoiceEmotionExample> examples,
        VoiceEmotionTrainingOptions options,
        VoiceEmotionTrainingInfo info,
        IProgress<double>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (examples.Count < 10)
        {
            throw new ArgumentException($"Training needs at least 10 examples; got {examples.Count}.", nameof(examples));
        }

        var labels = EmotionLabels.All.Where(label => examples.Any(example => example.Label == label)).ToList();
        var targets = examples.Select(example => labels.IndexOf(example.Label)).ToArray();
        var dimension = examples[0].Features.Length;
        var raw = examples.Select(example => example.Features).ToArray();
        var relative = SpeakerRelative(examples);
        var mlpOptions = new MlpTrainingOptions(Hidden: options.Hidden, Epochs: options.Epochs, Dropout: options.Dropout, InputNoise: options.InputNoise);
        var allowed = examples.Select(example => labels.Select(label => example.CandidateLabels?.Contains(label) ?? true).ToArray()).ToArray();
        var total = options.EnsembleSize * 2;
        var done = 0;
        VoiceEmotionModel.Ensemble Fit(float[][] inputs, int seedOffset)
        {
            var (mean, scale) = Standardization(inputs, dimension);
            var standardized = inputs.Select(input => Standardize(input, mean, scale)).ToArray();
            var members = new Mlp[options.EnsembleSize];
            for (var member = 0; member < members.Length; member++)
            {
                members[member] = MlpTrainer.Train(standardized, targets, labels.Count, mlpOptions, options.Seed + seedOffset + member * 7919, allowed, cancellationToken);
                members[member].RoundToHalf(); // as stored in the model file
                progress?.Report((double)++done / total);
            }

            return new VoiceEmotionModel.Ensemble(mean, scale, members);
        }

        var global = Fit(raw, 0);
        var speakerRelative = Fit(relative, 1_000_003);
        return new VoiceEmotionModel(labels, dimension, global, speakerRelative, info);
    }

    /// <summary>
    /// Each example's features as z-scores relative to all of its voice's examples (labels are not used; an augmented
    /// copy of a speaker is a voice of its own, <see cref="VoiceEmotionExample.Voice"/>).
    /// </summary>
    public static float[][] SpeakerRelative(IReadOnlyList<VoiceEmotionExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var dimension = examples[0].Features.Length;
        var statistics = examples.GroupBy(example => example.Voice, StringComparer.Ordinal)
            .ToDictionary(group => group.Key, group => SpeakerFeatureStatistics.From(group.Select(example => example.Features), dimension), StringComparer.Ordinal);
        return examples.Select(example => statistics[example.Voice].Normalize(example.Features)).ToArray();
    }

    private static (float[] Mean, float[] Scale) Standardization(float[][] inputs, int dimension)
    {
        var mean = new float[dimension];
        var scale = new float[dimension];
        for (var index = 0; index < dimension; index++)
        {
            double sum = 0, squares = 0;
            foreach (var input in inputs)
            {
                sum += input[index];
                squares += (double)input[index] * input[index];
            }

            var average = sum / inputs.Length;
            var deviation = Math.Sqrt(Math.Max(0, squares / inputs.Length - average * average));
            mean[index] = (float)average;
            scale[index] = deviation > 1e-9 ? (float)(1 / deviation) : 0;
        }

        return (mean, scale);
    }

    private static float[] Standardize(float[] input, float[] mean, float[] scale)
    {
        var output = new float[input.Length];
        for (var index = 0; index < input.Length; index++)
        {
            output[index] = Math.Clamp((input[index] - mean[index]) * scale[index], -6, 6);
        }

        return output;
    }
}
