namespace Anima.Perception.Training;

/// <summary>Per-fold macro-F1 and the scores of all out-of-fold predictions pooled.</summary>
public sealed record KoteCrossValidationResult(IReadOnlyList<double> FoldMacroF1, MultiLabelReport Pooled);

/// <summary>
/// K-fold cross-validation of the same method on KOTE's own 44 labels: per fold, a model is trained on
/// the other folds, its thresholds are tuned by an inner cross-validation on those folds only, and
/// the held-out fold is predicted.
/// </summary>
public static class KoteCrossValidation
{
    private const int InnerFolds = 3;

    /// <summary>Independent sigmoid heads (KOTE pools five annotators, so most texts carry many labels).</summary>
    public static SolverOptions DefaultSolver { get; } = new()
    {
        Epochs = 5,
        LearningRate = 0.1f,
        L2 = 0.003f,
        Activation = HeadActivation.Sigmoid,
        ClassBalance = 0.3f,
    };

    public static KoteCrossValidationResult Run(IReadOnlyList<EmotionExample> examples, int folds, int seed, FeaturizerOptions featurizerOptions,
        SolverOptions solver, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(featurizerOptions);
        ArgumentNullException.ThrowIfNull(solver);
        ArgumentOutOfRangeException.ThrowIfLessThan(folds, 2);
        if (examples.Count < folds * InnerFolds)
        {
            throw new ArgumentException($"Need at least {folds * InnerFolds} examples for {folds}-fold cross-validation.", nameof(examples));
        }

        const int labelCount = EmotionTaxonomy.KoteLabelCount;
        var featurizer = new TextFeaturizer(featurizerOptions);
        var buffer = new FeatureBuffer();
        var data = new SparseDataset();
        foreach (var example in examples)
        {
            featurizer.Extract(example.Text, buffer);
            var mask = 0UL;
            foreach (var label in example.Labels)
            {
                mask |= 1UL << label;
            }

            data.Add(buffer, mask, 0, 0);
        }

        var permutation = Enumerable.Range(0, data.Count).ToArray();
        new Random(seed).Shuffle(permutation);
        var foldScores = new double[folds];
        var gold = new IReadOnlyList<int>[data.Count];
        var predicted = new IReadOnlyList<int>[data.Count];
        var steps = folds * (InnerFolds + 1);
        var step = 0;
        for (var fold = 0; fold < folds; fold++)
        {
            var trainRows = permutation.Where((_, position) => position % folds != fold).ToArray();
            var heldRows = permutation.Where((_, position) => position % folds == fold).ToArray();

            // Inner cross-validation on the training folds only, for thresholds.
            var innerProbabilities = new float[trainRows.Length][];
            for (var inner = 0; inner < InnerFolds; inner++)
            {
                var innerTrain = trainRows.Where((_, position) => position % InnerFolds != inner).ToArray();
                var innerHeldPositions = Enumerable.Range(0, trainRows.Length).Where(position => position % InnerFolds == inner).ToArray();
                var predictions = TrainAndPredict(data, featurizerOptions.BucketCount, innerTrain,
                    innerHeldPositions.Select(position => trainRows[position]).ToArray(), solver, seed + (fold * 100) + inner + 1, cancellationToken);
                for (var index = 0; index < innerHeldPositions.Length; index++)
                {
                    innerProbabilities[innerHeldPositions[index]] = predictions[index];
                }

                progress?.Report((double)++step / steps);
            }

            var thresholds = ThresholdTuner.Tune(innerProbabilities, trainRows.Select(data.Labels).ToList(), labelCount);
            var held = TrainAndPredict(data, featurizerOptions.BucketCount, trainRows, heldRows, solver, seed + (fold * 100), cancellationToken);
            var foldGold = new List<IReadOnlyList<int>>(heldRows.Length);
            var foldPredicted = new List<IReadOnlyList<int>>(heldRows.Length);
            for (var position = 0; position < heldRows.Length; position++)
            {
                var row = heldRows[position];
                gold[row] = examples[row].Labels;
                predicted[row] = ThresholdTuner.Decide(held[position], thresholds, fallbackToTop: true);
                foldGold.Add(gold[row]);
                foldPredicted.Add(predicted[row]);
            }

            foldScores[fold] = MultiLabelMetrics.Compute(foldGold, foldPredicted, EmotionTaxonomy.KoteLabels).MacroF1;
            progress?.Report((double)++step / steps);
        }

        return new KoteCrossValidationResult(foldScores, MultiLabelMetrics.Compute(gold, predicted, EmotionTaxonomy.KoteLabels));
    }

    /// <summary>
    /// Independent sigmoid heads for all 44 labels, trained in groups of at most 32 (the kernel's row
    /// width); with independent heads the grouping does not change the result.
    /// </summary>
    private static float[][] TrainAndPredict(SparseDataset data, int bucketCount, int[] trainRows, int[] predictRows, SolverOptions solver, int seed,
        CancellationToken cancellationToken)
    {
        const int labelCount = EmotionTaxonomy.KoteLabelCount;
        var result = new float[predictRows.Length][];
        for (var position = 0; position < predictRows.Length; position++)
        {
            result[position] = new float[labelCount];
        }

        var allTargets = EmotionTrainer.LabelTargets(data, trainRows, labelCount);
        for (var first = 0; first < labelCount; first += SparseKernels.Stride)
        {
            var count = Math.Min(SparseKernels.Stride, labelCount - first);
            var targets = new float[trainRows.Length * count];
            for (var row = 0; row < trainRows.Length; row++)
            {
                Array.Copy(allTargets, (row * labelCount) + first, targets, row * count, count);
            }

            var heads = LinearHeadsTrainer.Train(data, bucketCount, trainRows, targets, count, solver with { Activation = HeadActivation.Sigmoid },
                seed + first, null, cancellationToken);
            var predictions = heads.Predict(data, predictRows);
            for (var position = 0; position < predictRows.Length; position++)
            {
                predictions[position].CopyTo(result[position], first);
            }
        }

        return result;
    }
}
