namespace Anima.Voice.Emotion;

/// <summary>The pooled result of a leave-speakers-out evaluation in both modes.</summary>
/// <param name="Global">Raw features (a speaker the system has not heard before).</param>
/// <param name="SpeakerRelative">Features relative to all of each test speaker's clips (no labels used; transductive).</param>
/// <param name="Online">As the product adapts: each clip judged with the statistics of the speaker's earlier clips only.</param>
public sealed record VoiceEmotionCrossValidationResult(VoiceEmotionEvaluation Global, VoiceEmotionEvaluation SpeakerRelative, VoiceEmotionEvaluation Online);

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

        VoiceEmotionEvaluation? global = null, relative = null, online = null;
        var info = new VoiceEmotionTrainingInfo([], [], 0, string.Empty, "cross-validation fold");
        for (var fold = 0; fold < folds; fold++)
        {
            var testSpeakers = speakers.Where((_, index) => index % folds == fold).ToHashSet(StringComparer.Ordinal);
            // Augmented copies of the test speakers are left out of training too; only recorded clips are tested.
            var training = evaluated.Where(example => !testSpeakers.Contains(example.Speaker)).Concat(extraTraining).ToList();
            var test = evaluated.Where(example => testSpeakers.Contains(example.Speaker) && example.Augmentation is null).ToList();
            var model = VoiceEmotionTrainer.Train(training, options, info, null, cancellationToken);
            var foldGlobal = VoiceEmotionEvaluation.Evaluate(model, test, speakerRelative: false);
            var foldRelative = VoiceEmotionEvaluation.Evaluate(model, test, speakerRelative: true);
            var foldOnline = VoiceEmotionEvaluation.EvaluateOnline(model, test, options.Seed);
            global = global is null ? foldGlobal : global.Plus(foldGlobal);
            relative = relative is null ? foldRelative : relative.Plus(foldRelative);
            online = online is null ? foldOnline : online.Plus(foldOnline);
            progress?.Report((fold + 1.0) / folds);
        }

        return new VoiceEmotionCrossValidationResult(global!, relative!, online!);
    }
}
