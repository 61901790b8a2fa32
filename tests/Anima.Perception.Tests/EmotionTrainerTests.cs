using Anima.Perception.Training;
using Anima.Testing;

namespace Anima.Perception.Tests;

public sealed class EmotionTrainerTests
{
    private static EmotionTrainingOptions SmallOptions(string dataDirectory) => new()
    {
        DataDirectory = dataDirectory,
        MaximumExamplesPerSource = 1000,
        Featurizer = new FeaturizerOptions { BucketBits = 16 },
        ThresholdFolds = 2,
        NsmcSampleSize = 300,
        NsmcHoldout = 200,
        EvaluateOnDev = false,
    };

    [Fact]
    public void Train_SameSeedTwice_IdenticalModelBytes()
    {
        var options = SmallOptions(SharedData.RequireDirectory("."));

        var first = Save(new EmotionTrainer(options).Train(cancellationToken: TestContext.Current.CancellationToken).Model);
        var second = Save(new EmotionTrainer(options with { Solver = options.Solver with { Parallelism = 1 } })
            .Train(cancellationToken: TestContext.Current.CancellationToken).Model);

        Assert.Equal(first, second);
    }

    [Fact]
    public void Train_DifferentSeed_DifferentModel()
    {
        var options = SmallOptions(SharedData.RequireDirectory(".")) with { NsmcSampleSize = 0, NsmcHoldout = 0, IncludeKote = false };

        var first = Save(new EmotionTrainer(options).Train(cancellationToken: TestContext.Current.CancellationToken).Model);
        var second = Save(new EmotionTrainer(options with { Seed = 7 }).Train(cancellationToken: TestContext.Current.CancellationToken).Model);

        Assert.NotEqual(first, second);
    }

    [Fact]
    public void Train_SmallSubset_LearnsBetterThanChanceOnDevAndReportsProgress()
    {
        var options = SmallOptions(SharedData.RequireDirectory(".")) with
        {
            MaximumExamplesPerSource = 3000,
            IncludeKoreanGoEmotions = false,
            IncludeKote = false,
            NsmcSampleSize = 0,
            NsmcHoldout = 0,
        };
        var reports = new List<double>();

        var result = new EmotionTrainer(options).Train(new SynchronousProgress(reports.Add), TestContext.Current.CancellationToken);
        var dev = EmotionDataset.ReadFile(Path.Combine(options.DataDirectory, "goemotions", "dev.tsv")).Examples.Take(1000).ToList();
        var report = EmotionTrainer.Evaluate(result.Model, dev, EmotionDataFormat.GoEmotions);

        // Predicting "neutral" for everything scores micro-F1 ≈ 0.30 and macro-F1 ≈ 0.02 on dev.
        Assert.True(report.MicroF1 > 0.4, $"micro-F1 {report.MicroF1:0.000}");
        Assert.True(report.MacroF1 > 0.15, $"macro-F1 {report.MacroF1:0.000}");
        Assert.Equal(1.0, reports[^1]);
        Assert.Equal(reports.Order().ToList(), reports);
        Assert.All(reports, value => Assert.InRange(value, 0, 1));
    }

    [Fact]
    public void Train_Cancelled_ThrowsOperationCanceled()
    {
        var options = SmallOptions(SharedData.RequireDirectory(".")) with { NsmcSampleSize = 0, NsmcHoldout = 0 };
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => new EmotionTrainer(options).Train(cancellationToken: cancellation.Token));
    }

    [Fact]
    public void Constructor_InvalidOptions_Throws()
    {
        Assert.ThrowsAny<ArgumentException>(() => new EmotionTrainer(new EmotionTrainingOptions { DataDirectory = "x", ThresholdFolds = 1 }));
        Assert.ThrowsAny<ArgumentException>(() => new EmotionTrainer(new EmotionTrainingOptions { DataDirectory = "x", MaximumExamplesPerSource = 3 }));
        Assert.ThrowsAny<ArgumentException>(() => new EmotionTrainer(new EmotionTrainingOptions { DataDirectory = " " }));
    }

    [Fact]
    public void KoteCrossValidation_SmallSubset_ScoresEveryFold()
    {
        var directory = SharedData.RequireDirectory("kote");
        var examples = EmotionDataset.ReadFile(Path.Combine(directory, "val.tsv"), EmotionDataFormat.Kote).Examples.Take(900).ToList();

        var result = KoteCrossValidation.Run(examples, 3, 1, new FeaturizerOptions { BucketBits = 16 }, KoteCrossValidation.DefaultSolver,
            cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(3, result.FoldMacroF1.Count);
        Assert.Equal(EmotionTaxonomy.KoteLabelCount, result.Pooled.Labels.Count);
        Assert.Equal(900, result.Pooled.ExampleCount);
        Assert.True(result.Pooled.MicroF1 > 0.25, $"micro-F1 {result.Pooled.MicroF1:0.000}");
    }

    [Fact]
    public void ThresholdTuner_SeparableScores_ThresholdBetweenClasses()
    {
        IReadOnlyList<float[]> probabilities = [[0.9f], [0.8f], [0.3f], [0.1f]];
        IReadOnlyList<ulong> masks = [1UL, 1UL, 0UL, 0UL];

        var thresholds = ThresholdTuner.Tune(probabilities, masks, 1);

        Assert.Equal(0.55f, thresholds[0], 3);
        Assert.Equal(1.0, ThresholdTuner.MacroF1(probabilities, masks, thresholds, fallbackToTop: false));
    }

    [Fact]
    public void ThresholdTuner_Decide_FallsBackToTopOnlyWhenAsked()
    {
        float[] probabilities = [0.2f, 0.5f, 0.3f];
        float[] thresholds = [0.9f, 0.9f, 0.9f];

        Assert.Empty(ThresholdTuner.Decide(probabilities, thresholds, fallbackToTop: false));
        Assert.Equal([1], ThresholdTuner.Decide(probabilities, thresholds, fallbackToTop: true));
    }

    private static byte[] Save(EmotionModel model)
    {
        using var stream = new MemoryStream();
        model.Save(stream);
        return stream.ToArray();
    }

    /// <summary>Progress that records on the reporting thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SynchronousProgress(Action<double> report) : IProgress<double>
    {
        private readonly Lock _gate = new();

        public void Report(double value)
        {
            lock (_gate)
            {
                report(value);
            }
        }
    }
}
