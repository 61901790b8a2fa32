namespace Anima.Voice.Emotion;

/// <summary>The pooled result of a leave-speakers-out evaluation in both modes.</summary>
/// <param name="Global">Raw features (a speaker the system has not heard before).</param>
/// <param name="SpeakerRelative">Features relative to all of each test speaker's clips (no labels used; transductive).</param>
/// <param name="Online">As the product adapts: each clip judged with the statistics of the speaker's earlier clips only.</param>
/// <param name="Chosen">Per outer fold, the settings the inner selection chose (the single candidate when there was no choice).</param>
public sealed record VoiceEmotionCrossValidationResult(VoiceEmotionEvaluation Global, VoiceEmotionEvaluation SpeakerRelative, VoiceEmotionEvaluation Online, IReadOnlyList<VoiceEmotionTrainingOptions> Chosen);

/// <summary>How one candidate setting scored in an inner leave-speakers-out selection.</summary>
/// <param name="Options">The candidate, with the <see cref="VoiceEmotionTrainingOptions.MinimumSpeakerUtterances"/> scored.</param>
/// <param name="Global">Pooled accuracy as never-heard voices.</param>
/// <param name="Online">Pooled accuracy adapting online (mean over the clip orders).</param>
public sealed record VoiceEmotionCandidateScore(VoiceEmotionTrainingOptions Options, double Global, double Online)
{
    /// <summary>What the selection maximizes: the never-heard and the adapted figure weigh the same.</summary>
    public double Score => (Global + Online) / 2;
}

/// <summary>Speaker-independent evaluation: every fold's test speakers are absent from its training data.</summary>
public static class VoiceEmotionCrossValidation
{
    /// <summary>Clip orders averaged for the online figure of a selection.</summary>
    public const int SelectionOrders = 3;

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
        CancellationToken cancellationToken = default) =>
        Run(evaluated, extraTraining, folds, [options], [options.MinimumSpeakerUtterances], 0, progress, cancellationToken);

    /// <summary>
    /// Nested leave-speakers-out evaluation: in each outer fold, the training speakers alone choose among
    /// <paramref name="candidates"/> × <paramref name="thresholds"/> (<see cref="Select"/> with
    /// <paramref name="innerFolds"/> folds over them), then the chosen setting is trained on all of them and tested on
    /// the fold's speakers, which took no part in the choice. With one candidate and one threshold nothing is chosen.
    /// </summary>
    public static VoiceEmotionCrossValidationResult Run(
        IReadOnlyList<VoiceEmotionExample> evaluated,
        IReadOnlyList<VoiceEmotionExample> extraTraining,
        int folds,
        IReadOnlyList<VoiceEmotionTrainingOptions> candidates,
        IReadOnlyList<int> thresholds,
        int innerFolds,
        IProgress<double>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(evaluated);
        ArgumentNullException.ThrowIfNull(extraTraining);
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(thresholds);
        var speakers = Speakers(evaluated);
        if (folds < 2 || folds > speakers.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(folds), folds, $"Folds must be from 2 to the number of speakers ({speakers.Count}).");
        }

        var choosing = candidates.Count * thresholds.Count > 1;
        if (candidates.Count == 0 || thresholds.Count == 0 || (choosing && innerFolds < 2))
        {
            throw new ArgumentException("Give at least one candidate and threshold, and at least two inner folds to choose among several.", nameof(candidates));
        }

        VoiceEmotionEvaluation? global = null, relative = null, online = null;
        var chosen = new List<VoiceEmotionTrainingOptions>();
        var info = new VoiceEmotionTrainingInfo([], [], 0, string.Empty, "cross-validation fold");
        for (var fold = 0; fold < folds; fold++)
        {
            var testSpeakers = speakers.Where((_, index) => index % folds == fold).ToHashSet(StringComparer.Ordinal);
            // Augmented copies of the test speakers are left out of training too; only recorded clips are tested.
            var trainingEvaluated = evaluated.Where(example => !testSpeakers.Contains(example.Speaker)).ToList();
            var test = evaluated.Where(example => testSpeakers.Contains(example.Speaker) && example.Augmentation is null).ToList();
            var options = choosing
                ? Select(trainingEvaluated, extraTraining, innerFolds, candidates, thresholds, null, cancellationToken).MaxBy(score => score.Score)!.Options
                : candidates[0] with { MinimumSpeakerUtterances = thresholds[0] };
            chosen.Add(options);
            var model = VoiceEmotionTrainer.Train([.. trainingEvaluated, .. extraTraining], options, info, null, cancellationToken);
            var foldGlobal = VoiceEmotionEvaluation.Evaluate(model, test, speakerRelative: false);
            var foldRelative = VoiceEmotionEvaluation.Evaluate(model, test, speakerRelative: true);
            var foldOnline = VoiceEmotionEvaluation.EvaluateOnline(model, test, options.Seed);
            global = global is null ? foldGlobal : global.Plus(foldGlobal);
            relative = relative is null ? foldRelative : relative.Plus(foldRelative);
            online = online is null ? foldOnline : online.Plus(foldOnline);
            progress?.Report((fold + 1.0) / folds);
        }

        return new VoiceEmotionCrossValidationResult(global!, relative!, online!, chosen);
    }

    /// <summary>
    /// Scores every candidate setting by <paramref name="folds"/>-fold leave-speakers-out cross-validation over
    /// <paramref name="evaluated"/>'s speakers (<paramref name="extraTraining"/> always in training): the
    /// never-heard-voice accuracy and, for every threshold of <paramref name="thresholds"/> (no retraining needed),
    /// the online accuracy over <see cref="SelectionOrders"/> clip orders. Pick the best by
    /// <see cref="VoiceEmotionCandidateScore.Score"/>.
    /// </summary>
    public static IReadOnlyList<VoiceEmotionCandidateScore> Select(
        IReadOnlyList<VoiceEmotionExample> evaluated,
        IReadOnlyList<VoiceEmotionExample> extraTraining,
        int folds,
        IReadOnlyList<VoiceEmotionTrainingOptions> candidates,
        IReadOnlyList<int> thresholds,
        IProgress<double>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(evaluated);
        ArgumentNullException.ThrowIfNull(extraTraining);
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(thresholds);
        var speakers = Speakers(evaluated);
        if (folds < 2 || folds > speakers.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(folds), folds, $"Inner folds must be from 2 to the number of speakers ({speakers.Count}).");
        }

        var info = new VoiceEmotionTrainingInfo([], [], 0, string.Empty, "selection fold");
        var scores = new List<VoiceEmotionCandidateScore>();
        var done = 0;
        foreach (var candidate in candidates)
        {
            int globalCorrect = 0, total = 0;
            var onlineCorrect = new double[thresholds.Count];
            for (var fold = 0; fold < folds; fold++)
            {
                var testSpeakers = speakers.Where((_, index) => index % folds == fold).ToHashSet(StringComparer.Ordinal);
                var training = evaluated.Where(example => !testSpeakers.Contains(example.Speaker)).Concat(extraTraining).ToList();
                var test = evaluated.Where(example => testSpeakers.Contains(example.Speaker) && example.Augmentation is null).ToList();
                var model = VoiceEmotionTrainer.Train(training, candidate, info, null, cancellationToken);
                var global = VoiceEmotionEvaluation.Evaluate(model, test, speakerRelative: false);
                globalCorrect += global.Correct;
                total += global.Total;
                for (var index = 0; index < thresholds.Count; index++)
                {
                    var adapting = model.WithMinimumSpeakerUtterances(thresholds[index]);
                    for (var order = 0; order < SelectionOrders; order++)
                    {
                        onlineCorrect[index] += VoiceEmotionEvaluation.EvaluateOnline(adapting, test, candidate.Seed + order).Correct / (double)SelectionOrders;
                    }
                }

                progress?.Report((double)++done / (candidates.Count * folds));
            }

            for (var index = 0; index < thresholds.Count; index++)
            {
                scores.Add(new VoiceEmotionCandidateScore(candidate with { MinimumSpeakerUtterances = thresholds[index] }, (double)globalCorrect / total, onlineCorrect[index] / total));
            }
        }

        return scores;
    }

    private static List<string> Speakers(IReadOnlyList<VoiceEmotionExample> examples) =>
        examples.Select(example => example.Speaker).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
}
