using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Anima.Perception.Training;

/// <summary>What <see cref="EmotionTrainer"/> reads and how it trains.</summary>
public sealed record EmotionTrainingOptions
{
    /// <summary>The shared data folder holding goemotions/, goemotions-korean/, kote/ and nsmc/.</summary>
    public required string DataDirectory { get; init; }

    public int Seed { get; init; } = 20261123;

    public FeaturizerOptions Featurizer { get; init; } = new();

    /// <summary>
    /// The solver settings chosen by out-of-fold macro-F1 on GoEmotions train (docs/PERCEPTION.md lists the runs):
    /// one softmax over the 28 labels, class balance 0.45, strong L2, 5 epochs.
    /// </summary>
    public SolverOptions Solver { get; init; } = DefaultSolver;

    public static SolverOptions DefaultSolver { get; } = new()
    {
        Epochs = 5,
        LearningRate = 0.1f,
        L2 = 0.01f,
        Activation = HeadActivation.Softmax,
        ClassBalance = 0.45f,
    };

    /// <summary>Folds of the cross-validation whose out-of-fold probabilities tune the thresholds (2..10).</summary>
    public int ThresholdFolds { get; init; } = 4;

    /// <summary>Train on the machine-translated Korean GoEmotions as well.</summary>
    public bool IncludeKoreanGoEmotions { get; init; } = true;

    /// <summary>Train on KOTE with its labels mapped onto GoEmotions.</summary>
    public bool IncludeKote { get; init; } = true;

    /// <summary>NSMC reviews (a seeded sample) that also teach the valence head; 0 uses none.</summary>
    public int NsmcSampleSize { get; init; }

    /// <summary>Further NSMC reviews held out to measure valence sign accuracy (0: not measured).</summary>
    public int NsmcHoldout { get; init; } = 5_000;

    /// <summary>Learn valence and arousal heads (targets: the table values of each example's gold labels).</summary>
    public bool LearnAffectHeads { get; init; } = true;

    /// <summary>Caps every source at this many examples (the first ones); for quick runs and tests.</summary>
    public int? MaximumExamplesPerSource { get; init; }

    /// <summary>Evaluate on the GoEmotions dev files (English and Korean) after training.</summary>
    public bool EvaluateOnDev { get; init; } = true;

    /// <summary>Words seen at least this often in English GoEmotions train form the English vocabulary.</summary>
    public int VocabularyMinimumCount { get; init; } = 2;

    public void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(DataDirectory);
        Featurizer.Validate();
        Solver.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(ThresholdFolds, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ThresholdFolds, 10);
        ArgumentOutOfRangeException.ThrowIfNegative(NsmcSampleSize);
        ArgumentOutOfRangeException.ThrowIfNegative(NsmcHoldout);
        if (MaximumExamplesPerSource is < 10)
        {
            throw new ArgumentOutOfRangeException(nameof(MaximumExamplesPerSource), MaximumExamplesPerSource, "Use at least 10 examples per source.");
        }
    }
}

/// <summary>The trained model and what was measured while training it.</summary>
public sealed record EmotionTrainingResult(
    EmotionModel Model,
    double OutOfFoldMacroF1English,
    double OutOfFoldMacroF1Korean,
    MultiLabelReport? DevEnglish,
    MultiLabelReport? DevKorean,
    AffectReport? AffectDevEnglish,
    AffectReport? AffectDevKorean,
    double? NsmcValenceSignAccuracy,
    int ExampleCount,
    TimeSpan Elapsed);

/// <summary>
/// How predicted valence/arousal agree with the table values of the gold labels (Pearson r) on
/// examples that have labels.
/// </summary>
public sealed record AffectReport(double ValenceCorrelation, double ArousalCorrelation, double ValenceSignAgreement, int ExampleCount);

/// <summary>
/// Trains <see cref="EmotionModel"/> from the shared data, deterministically for a given seed:
/// GoEmotions train (English), its Korean machine translation and KOTE mapped to the 28 labels
/// teach the label heads; thresholds are tuned per label on out-of-fold probabilities of a
/// cross-validation over that training data only (dev is never looked at until the final report);
/// NSMC ratings teach a Korean valence head.
/// </summary>
public sealed class EmotionTrainer(EmotionTrainingOptions options)
{
    private const byte SourceEnglish = 0;
    private const byte SourceKoreanGoEmotions = 1;
    private const byte SourceKote = 2;
    private const byte SourceNsmc = 3;

    private readonly EmotionTrainingOptions _options = Validated(options);

    public EmotionTrainingResult Train(IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        var stopwatch = Stopwatch.StartNew();
        var featurizer = new TextFeaturizer(_options.Featurizer);
        var bucketCount = _options.Featurizer.BucketCount;
        var data = new SparseDataset();
        var buffer = new FeatureBuffer();

        // 1. Read and featurize (0–10 %).
        var english = ReadGoEmotions(Path.Combine(_options.DataDirectory, "goemotions", "train.tsv"));
        var vocabulary = BuildVocabulary(featurizer, english, buffer);
        AddExamples(data, featurizer, buffer, english, SourceEnglish);
        progress?.Report(0.03);
        if (_options.IncludeKoreanGoEmotions)
        {
            AddExamples(data, featurizer, buffer, ReadGoEmotions(Path.Combine(_options.DataDirectory, "goemotions-korean", "train.tsv")), SourceKoreanGoEmotions);
        }

        if (_options.IncludeKote)
        {
            var kote = Cap(EmotionDataset.ReadFile(Path.Combine(_options.DataDirectory, "kote", "val.tsv"), EmotionDataFormat.Kote).Examples);
            var mapped = kote.Select(example => new EmotionExample(example.Text, EmotionTaxonomy.MapKoteLabels(example.Labels))).ToList();
            AddExamples(data, featurizer, buffer, mapped, SourceKote);
        }

        progress?.Report(0.06);
        var emotionRows = Enumerable.Range(0, data.Count).ToArray();
        var nsmcHoldout = new List<(string Text, int Rating)>();
        if (_options.NsmcSampleSize + _options.NsmcHoldout > 0)
        {
            var sample = ReadNsmcSample(Path.Combine(_options.DataDirectory, "nsmc", "nsmc_raw_all.tsv.gz"));
            var trainCount = Math.Max(0, sample.Count - _options.NsmcHoldout);
            foreach (var (text, rating) in sample.Take(trainCount))
            {
                featurizer.Extract(text, buffer);
                data.Add(buffer, 0, (rating - 1) / 9f, SourceNsmc);
            }

            nsmcHoldout.AddRange(sample.Skip(trainCount));
        }

        progress?.Report(0.1);
        cancellationToken.ThrowIfCancellationRequested();

        // 2. Cross-validate to get out-of-fold probabilities for threshold tuning (10–75 %).
        var folds = _options.ThresholdFolds;
        var permutation = (int[])emotionRows.Clone();
        new Random(_options.Seed).Shuffle(permutation);
        var outOfFold = new float[data.Count][];
        var foldProgress = new double[folds];
        void ReportFolds(int fold, double fraction)
        {
            lock (foldProgress)
            {
                foldProgress[fold] = fraction;
                progress?.Report(0.1 + (0.65 * foldProgress.Sum() / folds));
            }
        }

        Parallel.For(0, folds, new ParallelOptions { MaxDegreeOfParallelism = _options.Solver.Parallelism, CancellationToken = cancellationToken }, fold =>
        {
            var trainRows = permutation.Where((_, position) => position % folds != fold).ToArray();
            var heldRows = permutation.Where((_, position) => position % folds == fold).ToArray();
            var heads = LinearHeadsTrainer.Train(data, bucketCount, trainRows, LabelTargets(data, trainRows, EmotionTaxonomy.LabelCount),
                EmotionTaxonomy.LabelCount, _options.Solver, _options.Seed + fold + 1, fraction => ReportFolds(fold, fraction), cancellationToken);
            var predictions = heads.Predict(data, heldRows);
            for (var position = 0; position < heldRows.Length; position++)
            {
                outOfFold[heldRows[position]] = predictions[position];
            }
        });

        var englishRows = emotionRows.Where(row => data.Source(row) == SourceEnglish).ToArray();
        var koreanRows = emotionRows.Where(row => data.Source(row) != SourceEnglish).ToArray();
        var englishThresholds = TuneThresholds(data, outOfFold, englishRows);
        var koreanThresholds = koreanRows.Length > 0 ? TuneThresholds(data, outOfFold, koreanRows) : englishThresholds;
        var englishProbabilities = englishRows.Select(row => outOfFold[row]).ToList();
        var englishMasks = englishRows.Select(data.Labels).ToList();
        var fallbackToTop = ThresholdTuner.MacroF1(englishProbabilities, englishMasks, englishThresholds, fallbackToTop: true)
            > ThresholdTuner.MacroF1(englishProbabilities, englishMasks, englishThresholds, fallbackToTop: false);
        var outOfFoldEnglish = ThresholdTuner.MacroF1(englishProbabilities, englishMasks, englishThresholds, fallbackToTop);
        var outOfFoldKorean = koreanRows.Length == 0 ? 0 : ThresholdTuner.MacroF1(
            koreanRows.Select(row => outOfFold[row]).ToList(), koreanRows.Select(data.Labels).ToList(), koreanThresholds, fallbackToTop);

        // 3. The final heads on all the training data, and the valence and arousal heads (75–100 %).
        var nsmcRows = Enumerable.Range(0, data.Count).Where(row => data.Source(row) == SourceNsmc).ToArray();
        var labelledRows = emotionRows.Where(row => data.Labels(row) != 0).ToArray();
        var valenceRows = labelledRows.Concat(nsmcRows).ToArray();
        var valenceTargets = valenceRows.Select(row => data.Source(row) == SourceNsmc ? data.Target(row) : (TableMean(data.Labels(row), EmotionTaxonomy.Valence) + 1) / 2).ToArray();
        var arousalTargets = labelledRows.Select(row => TableMean(data.Labels(row), EmotionTaxonomy.Arousal)).ToArray();
        var parts = _options.LearnAffectHeads ? 3 : 1;
        var finalHeads = new LinearHeads?[parts];
        var finalProgress = new double[parts];
        void ReportFinal(int part, double fraction)
        {
            lock (finalProgress)
            {
                finalProgress[part] = fraction;
                progress?.Report(0.75 + (0.2 * finalProgress.Sum() / parts));
            }
        }

        var affectSolver = _options.Solver with { Activation = HeadActivation.Sigmoid, ClassBalance = 0 };
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = _options.Solver.Parallelism, CancellationToken = cancellationToken }, part =>
        {
            finalHeads[part] = part switch
            {
                0 => LinearHeadsTrainer.Train(data, bucketCount, emotionRows, LabelTargets(data, emotionRows, EmotionTaxonomy.LabelCount),
                    EmotionTaxonomy.LabelCount, _options.Solver, _options.Seed, fraction => ReportFinal(0, fraction), cancellationToken),
                1 => LinearHeadsTrainer.Train(data, bucketCount, valenceRows, valenceTargets, 1, affectSolver, _options.Seed + 101,
                    fraction => ReportFinal(1, fraction), cancellationToken),
                _ => LinearHeadsTrainer.Train(data, bucketCount, labelledRows, arousalTargets, 1, affectSolver, _options.Seed + 102,
                    fraction => ReportFinal(2, fraction), cancellationToken),
            };
        });

        var labelHeads = finalHeads[0]!;
        var weights = labelHeads.Weights;
        var bias = labelHeads.Bias;
        var headCount = EmotionTaxonomy.LabelCount;
        if (_options.LearnAffectHeads)
        {
            headCount = EmotionModel.ArousalHead + 1;
            foreach (var (part, head) in new[] { (1, EmotionModel.ValenceHead), (2, EmotionModel.ArousalHead) })
            {
                var source = finalHeads[part]!;
                bias[head] = source.Bias[0];
                for (var bucket = 0; bucket < bucketCount; bucket++)
                {
                    weights[(bucket * SparseKernels.Stride) + head] = source.Weights[bucket * SparseKernels.Stride];
                }
            }
        }

        var description = string.Create(CultureInfo.InvariantCulture,
            $"Seed {_options.Seed}; {emotionRows.Length} labelled + {nsmcRows.Length} NSMC examples; " +
            $"{_options.Solver.Activation}, {_options.Solver.Epochs} epochs, lr {_options.Solver.LearningRate}, L2 {_options.Solver.L2}, class balance {_options.Solver.ClassBalance}; " +
            $"2^{_options.Featurizer.BucketBits} buckets, character {_options.Featurizer.CharacterMinimum}-{_options.Featurizer.CharacterMaximum}-grams; " +
            $"out-of-fold macro-F1 en {outOfFoldEnglish:0.0000}, ko {outOfFoldKorean:0.0000}.");
        var trained = new EmotionModel(_options.Featurizer, headCount, _options.Solver.Activation, weights, bias, englishThresholds, koreanThresholds, fallbackToTop,
            vocabulary, description);

        // Round-trip through the stored (quantized) form, so every figure is of the model as shipped.
        using var memory = new MemoryStream();
        trained.Save(memory);
        memory.Position = 0;
        var model = EmotionModel.Load(memory);

        MultiLabelReport? devEnglish = null, devKorean = null;
        AffectReport? affectEnglish = null, affectKorean = null;
        if (_options.EvaluateOnDev)
        {
            (devEnglish, affectEnglish) = EvaluateIfPresent(model, Path.Combine(_options.DataDirectory, "goemotions", "dev.tsv"));
            (devKorean, affectKorean) = EvaluateIfPresent(model, Path.Combine(_options.DataDirectory, "goemotions-korean", "dev.tsv"));
        }

        double? nsmcAccuracy = null;
        var polar = nsmcHoldout.Where(review => review.Rating is <= 4 or >= 7).ToList();
        if (polar.Count > 0)
        {
            nsmcAccuracy = polar.Count(review => model.Perceive(review.Text).Valence >= 0 == review.Rating >= 7) / (double)polar.Count;
        }

        progress?.Report(1);
        return new EmotionTrainingResult(model, outOfFoldEnglish, outOfFoldKorean, devEnglish, devKorean, affectEnglish, affectKorean, nsmcAccuracy,
            data.Count, stopwatch.Elapsed);
    }

    /// <summary>Predicts every example of a file and scores it; KOTE-format gold labels are mapped onto GoEmotions first.</summary>
    public static MultiLabelReport Evaluate(EmotionModel model, IReadOnlyList<EmotionExample> examples, EmotionDataFormat format)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(examples);
        var gold = new List<IReadOnlyList<int>>(examples.Count);
        var predicted = new List<IReadOnlyList<int>>(examples.Count);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var label = 0; label < EmotionTaxonomy.LabelCount; label++)
        {
            index[EmotionTaxonomy.Labels[label]] = label;
        }

        foreach (var example in examples)
        {
            gold.Add(format == EmotionDataFormat.Kote ? EmotionTaxonomy.MapKoteLabels(example.Labels) : example.Labels);
            var reading = model.Perceive(example.Text);
            predicted.Add(reading.Labels.Select(label => index[label]).ToArray());
        }

        return MultiLabelMetrics.Compute(gold, predicted, EmotionTaxonomy.Labels);
    }

    private static (MultiLabelReport?, AffectReport?) EvaluateIfPresent(EmotionModel model, string path)
    {
        if (!File.Exists(path))
        {
            return (null, null);
        }

        var (format, examples) = EmotionDataset.ReadFile(path, EmotionDataFormat.GoEmotions);
        return (Evaluate(model, examples, format), EvaluateAffect(model, examples));
    }

    /// <summary>Correlation of predicted valence/arousal with the table values of the gold labels.</summary>
    public static AffectReport EvaluateAffect(EmotionModel model, IReadOnlyList<EmotionExample> examples)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(examples);
        var predictedValence = new List<double>();
        var predictedArousal = new List<double>();
        var goldValence = new List<double>();
        var goldArousal = new List<double>();
        foreach (var example in examples.Where(example => example.Labels.Count > 0))
        {
            var reading = model.Perceive(example.Text);
            if (reading.IsUnknown)
            {
                continue;
            }

            var mask = example.Labels.Aggregate(0UL, (current, label) => current | (1UL << label));
            predictedValence.Add(reading.Valence);
            predictedArousal.Add(reading.Arousal);
            goldValence.Add(TableMean(mask, EmotionTaxonomy.Valence));
            goldArousal.Add(TableMean(mask, EmotionTaxonomy.Arousal));
        }

        var polar = Enumerable.Range(0, goldValence.Count).Where(index => Math.Abs(goldValence[index]) >= 0.3).ToList();
        var agreement = polar.Count == 0 ? 0 : polar.Count(index => Math.Sign(goldValence[index]) == Math.Sign(predictedValence[index])) / (double)polar.Count;
        return new AffectReport(Pearson(predictedValence, goldValence), Pearson(predictedArousal, goldArousal), agreement, goldValence.Count);
    }

    /// <summary>The mean table value (valence or arousal) of the labels in <paramref name="mask"/>.</summary>
    internal static float TableMean(ulong mask, IReadOnlyList<float> table)
    {
        float sum = 0;
        var count = 0;
        for (var label = 0; label < table.Count; label++)
        {
            if ((mask & (1UL << label)) != 0)
            {
                sum += table[label];
                count++;
            }
        }

        return count == 0 ? 0 : sum / count;
    }

    private static double Pearson(IReadOnlyList<double> left, IReadOnlyList<double> right)
    {
        if (left.Count < 2)
        {
            return 0;
        }

        var meanLeft = left.Average();
        var meanRight = right.Average();
        double covariance = 0, varianceLeft = 0, varianceRight = 0;
        for (var index = 0; index < left.Count; index++)
        {
            covariance += (left[index] - meanLeft) * (right[index] - meanRight);
            varianceLeft += (left[index] - meanLeft) * (left[index] - meanLeft);
            varianceRight += (right[index] - meanRight) * (right[index] - meanRight);
        }

        return varianceLeft == 0 || varianceRight == 0 ? 0 : covariance / Math.Sqrt(varianceLeft * varianceRight);
    }

    /// <summary>[rows.Length · labelCount] 0/1 targets from the label masks.</summary>
    internal static float[] LabelTargets(SparseDataset data, int[] rows, int labelCount)
    {
        var targets = new float[rows.Length * labelCount];
        for (var position = 0; position < rows.Length; position++)
        {
            for (var label = 0; label < labelCount; label++)
            {
                targets[(position * labelCount) + label] = data.HasLabel(rows[position], label) ? 1f : 0f;
            }
        }

        return targets;
    }

    private static float[] TuneThresholds(SparseDataset data, float[][] outOfFold, int[] rows) =>
        ThresholdTuner.Tune(rows.Select(row => outOfFold[row]).ToList(), rows.Select(data.Labels).ToList(), EmotionTaxonomy.LabelCount);

    private IReadOnlyList<EmotionExample> ReadGoEmotions(string path) =>
        Cap(EmotionDataset.ReadFile(path, EmotionDataFormat.GoEmotions).Examples);

    private IReadOnlyList<EmotionExample> Cap(IReadOnlyList<EmotionExample> examples) =>
        _options.MaximumExamplesPerSource is { } maximum && examples.Count > maximum ? examples.Take(maximum).ToList() : examples;

    private static void AddExamples(SparseDataset data, TextFeaturizer featurizer, FeatureBuffer buffer, IReadOnlyList<EmotionExample> examples, byte source)
    {
        foreach (var example in examples)
        {
            featurizer.Extract(example.Text, buffer);
            var mask = 0UL;
            foreach (var label in example.Labels)
            {
                mask |= 1UL << label;
            }

            data.Add(buffer, mask, 0, source);
        }
    }

    private ulong[] BuildVocabulary(TextFeaturizer featurizer, IReadOnlyList<EmotionExample> english, FeatureBuffer buffer)
    {
        // A one-element sentinel vocabulary makes the featurizer collect Latin word hashes.
        ReadOnlySpan<ulong> collect = [0UL];
        var counts = new Dictionary<ulong, int>();
        foreach (var example in english)
        {
            featurizer.Extract(example.Text, buffer, collect);
            foreach (var hash in buffer.LatinWords)
            {
                counts[hash] = counts.GetValueOrDefault(hash) + 1;
            }
        }

        var vocabulary = counts.Where(pair => pair.Value >= _options.VocabularyMinimumCount).Select(pair => pair.Key).ToArray();
        Array.Sort(vocabulary);
        return vocabulary;
    }

    /// <summary>
    /// A seeded uniform sample of NSMC reviews with their 1–10 ratings (the file is read once; reservoir sampling keeps it
    /// deterministic), or the first reviews when <see cref="EmotionTrainingOptions.MaximumExamplesPerSource"/> caps the run.
    /// </summary>
    private List<(string Text, int Rating)> ReadNsmcSample(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"NSMC file '{path}' does not exist.", path);
        }

        var sampleSize = Math.Min(_options.NsmcSampleSize, _options.MaximumExamplesPerSource ?? int.MaxValue) + _options.NsmcHoldout;
        var sample = new List<(string Text, int Rating)>(sampleSize);
        var random = new Random(_options.Seed);
        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        reader.ReadLine();
        var seen = 0;
        var lineNumber = 1;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            var columns = line.Split('\t');
            if (columns.Length < 5 || !int.TryParse(columns[2], NumberStyles.None, CultureInfo.InvariantCulture, out var rating) || rating is < 1 or > 10)
            {
                throw new EmotionDataFormatException($"{path}:{lineNumber}: expected 'review_id movie_id rating(1-10) date review'.");
            }

            var text = columns[4];
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            seen++;
            if (sample.Count < sampleSize)
            {
                sample.Add((text, rating));
            }
            else if (_options.MaximumExamplesPerSource is not null)
            {
                // A capped (quick) run takes the first reviews, as it does for every other source.
                break;
            }
            else
            {
                var slot = random.Next(seen);
                if (slot < sampleSize)
                {
                    sample[slot] = (text, rating);
                }
            }
        }

        return sample;
    }

    private static EmotionTrainingOptions Validated(EmotionTrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options;
    }
}
