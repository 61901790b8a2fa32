namespace Anima.Voice.Emotion;

/// <summary>Settings for training a voice-emotion model.</summary>
/// <param name="EnsembleSize">Perceptrons per ensemble, each from its own seed.</param>
/// <param name="Seed">The base seed; training is deterministic for a seed.</param>
/// <param name="InputNoise">Standard deviation of Gaussian noise added to the standardized features while training.</param>
/// <param name="Dropout">Dropout rate of the hidden layer while training.</param>
/// <param name="LabelSmoothing">Share of each target spread over the example's candidate labels (0–0.5).</param>
/// <param name="ReplayHistories">
/// Train the speaker-relative ensemble as it is used: every epoch replays each training voice's clips in a fresh
/// random order and normalizes each clip by the statistics of the clips before it, blended with the
/// <see cref="SpeakerPrior"/> — so it learns to judge a voice after one utterance as well as after a hundred.
/// False: every clip normalized by all of its voice's clips (the ensemble then needs many utterances of a speaker).
/// </param>
/// <param name="MinimumSpeakerUtterances">The model's <see cref="VoiceEmotionModel.MinimumSpeakerUtterances"/>.</param>
public sealed record VoiceEmotionTrainingOptions(
    int EnsembleSize = 5,
    int Seed = 20_261_123,
    int Hidden = 64,
    int Epochs = 120,
    float InputNoise = 0.8f,
    float Dropout = 0.5f,
    float LabelSmoothing = 0.1f,
    bool ReplayHistories = true,
    int MinimumSpeakerUtterances = VoiceEmotionModel.DefaultMinimumSpeakerUtterances)
{
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(EnsembleSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(Hidden, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(Epochs, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(MinimumSpeakerUtterances);
        if (InputNoise is < 0 or > 3 || Dropout is < 0 or >= 1 || LabelSmoothing is < 0 or > 0.5f)
        {
            throw new ArgumentOutOfRangeException(nameof(InputNoise), "InputNoise must be 0–3, Dropout 0–1 (exclusive) and LabelSmoothing 0–0.5.");
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
        var voices = examples.Select((example, index) => (example.Voice, index)).GroupBy(pair => pair.Voice, StringComparer.Ordinal)
            .Select(group => group.Select(pair => pair.index).ToArray()).ToArray();
        var prior = SpeakerPrior.From(voices.Select(voice => (IReadOnlyList<float[]>)voice.Select(index => raw[index]).ToArray()).ToArray());
        var mlpOptions = new MlpTrainingOptions(Hidden: options.Hidden, Epochs: options.Epochs, Dropout: options.Dropout, InputNoise: options.InputNoise, LabelSmoothing: options.LabelSmoothing);
        var allowed = examples.Select(example => labels.Select(label => example.CandidateLabels?.Contains(label) ?? true).ToArray()).ToArray();
        var total = options.EnsembleSize * 2;
        var done = 0;
        VoiceEmotionModel.Ensemble Fit(Func<int, int, float[][]> inputsOf, int seedOffset)
        {
            // Standardization [D] from the first draw of the inputs; each member then sees its own draws.
            var (mean, scale) = Standardization(inputsOf(options.Seed + seedOffset, 0), dimension);
            var members = new Mlp[options.EnsembleSize];
            var fixedInputs = options.ReplayHistories && seedOffset != 0 ? null : inputsOf(options.Seed + seedOffset, 0).Select(input => Standardize(input, mean, scale)).ToArray();
            // Members are independent (each its own seed), so they train in parallel and the result does not depend on the core count.
            var parallel = new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount };
            Parallel.For(0, members.Length, parallel, member =>
            {
                var seed = options.Seed + seedOffset + member * 7919;
                float[][] Standardized(int epoch) => fixedInputs ?? [.. inputsOf(seed, epoch).Select(input => Standardize(input, mean, scale))];
                members[member] = MlpTrainer.Train(Standardized, dimension, targets, labels.Count, mlpOptions, seed, allowed, cancellationToken);
                members[member].RoundToHalf(); // as stored in the model file
                progress?.Report((double)Interlocked.Increment(ref done) / total);
            });

            return new VoiceEmotionModel.Ensemble(mean, scale, members);
        }

        var global = Fit((_, _) => raw, 0);
        var allClips = options.ReplayHistories ? null : SpeakerRelative(examples, prior);
        var speakerRelative = Fit((seed, epoch) => allClips ?? ReplayHistories(raw, voices, prior, new Random(unchecked((seed * 1_000_003) + epoch))), 1_000_003);
        return new VoiceEmotionModel(labels, dimension, global, speakerRelative, prior, options.MinimumSpeakerUtterances, info);
    }

    /// <summary>
    /// Each clip normalized as the product would have normalized it: every voice's clips in a random order, each by
    /// the statistics of the clips before it blended with <paramref name="prior"/>.
    /// </summary>
    private static float[][] ReplayHistories(float[][] raw, int[][] voices, SpeakerPrior prior, Random random)
    {
        var dimension = raw[0].Length;
        var normalized = new float[raw.Length][];
        foreach (var voice in voices)
        {
            var order = (int[])voice.Clone();
            random.Shuffle(order);
            var statistics = new SpeakerFeatureStatistics(dimension);
            foreach (var index in order)
            {
                normalized[index] = statistics.Normalize(raw[index], prior);
                statistics.Add(raw[index]);
            }
        }

        return normalized;
    }

    /// <summary>
    /// Each example's features as z-scores relative to all of its voice's examples, blended with
    /// <paramref name="prior"/> (labels are not used; an augmented copy of a speaker is a voice of its own,
    /// <see cref="VoiceEmotionExample.Voice"/>).
    /// </summary>
    public static float[][] SpeakerRelative(IReadOnlyList<VoiceEmotionExample> examples, SpeakerPrior prior)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(prior);
        var dimension = examples[0].Features.Length;
        var statistics = examples.GroupBy(example => example.Voice, StringComparer.Ordinal)
            .ToDictionary(group => group.Key, group => SpeakerFeatureStatistics.From(group.Select(example => example.Features), dimension), StringComparer.Ordinal);
        return examples.Select(example => statistics[example.Voice].Normalize(example.Features, prior)).ToArray();
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
