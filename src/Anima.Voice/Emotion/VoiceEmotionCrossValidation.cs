namespace Anima.Voice.Emotion;

/// <summary>The pooled result of a leave-speakers-out evaluation in both modes.</summary>
/// <param name="Global">Raw features (a speaker the system has not heard before).</param>
/// <param name="SpeakerRelative">Features relative to each test speaker's own clips (no labels used).</param>
public sealed record VoiceEmotionCrossValidationResult(VoiceEmotionEvaluation Global, VoiceEmotionEvaluation SpeakerRelative);

/// <summary>Speaker-independent evaluation: every fold's test speakers are absent from its training data.</summary>
public static class VoiceEmotionCrossValidation
{
    /// <summary>
    /// Splits <paramref name="evaluated"/>'s speakers (sorted) round-robin into <paramref name="folds"/> groups;
    /// for each, trains on the other speakers plus all of <paramref name="extraTraining"/> and tests on the group.
    /// </summary>
    public static VoiceEmotionCrossValidationResult Run(
        IReadOnlyList<VoiceEmotionExample> evaluated,
        IReadOnlyList<VoiceEmotionExample> extraTraining,
        int folds,
        VoiceEmotionTrainingOptions options,
        IProgress<double>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(evaluated);
        ArgumentNullException.ThrowIfNull(extraTraining);
        var speakers = evaluated.Select(example => example.Speaker).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (folds < 2 || folds > speakers.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(folds), folds, $"Folds must be from 2 to the number of speakers ({speakers.Count}).");
        }

        VoiceEmotionEvaluation? global = null, relative = null;
        var info = new VoiceEmotionTrainingInfo([], [], 0, string.Empty, "cross-validation fold");
        for (var fold = 0; fold < folds; fold++)
        {
            var testSpeakers = speakers.Where((_, index) => index % folds == fold).ToHashSet(StringComparer.Ordinal);
            var training = evaluated.Where(example => !testSpeakers.Contains(example.Speaker)).Concat(extraTraining).ToList();
            var test = evaluated.Where(example => testSpeakers.Contains(example.Speaker)).ToList();
            var model = VoiceEmotionTrainer.Train(training, options, info, null, cancellationToken);
            var foldGlobal = VoiceEmotionEvaluation.Evaluate(model, test, speakerRelative: false);
            var foldRelative = VoiceEmotionEvaluation.Evaluate(model, test, speakerRelative: true);
            global = global is null ? foldGlobal : global.Plus(foldGlobal);
            relative = relative is null ? foldRelative : relative.Plus(foldRelative);
            progress?.Report((fold + 1.0) / folds);
        }

        return new VoiceEmotionCrossValidationResult(global!, relative!);
    }
}
