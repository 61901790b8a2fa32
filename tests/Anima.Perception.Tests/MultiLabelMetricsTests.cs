namespace Anima.Perception.Tests;

public sealed class MultiLabelMetricsTests
{
    [Fact]
    public void Compute_KnownCounts_ExactScores()
    {
        // label a: TP 1, predicted 2, actual 1 → F1 2/3; label b: TP 1, predicted 1, actual 2 → F1 2/3; label c: never used.
        IReadOnlyList<int>[] gold = [[0], [1], [1]];
        IReadOnlyList<int>[] predicted = [[0], [0, 1], []];

        var report = MultiLabelMetrics.Compute(gold, predicted, ["a", "b", "c"]);

        Assert.Equal(2.0 / 3, report.Labels[0].F1, 10);
        Assert.Equal(2.0 / 3, report.Labels[1].F1, 10);
        Assert.Equal(0, report.Labels[2].Support);
        Assert.Equal(2.0 / 3, report.MacroF1, 10);
        Assert.Equal(2.0 * 2 / (3 + 3), report.MicroF1, 10);
        Assert.Equal(0.5, report.Labels[0].Precision, 10);
        Assert.Equal(0.5, report.Labels[1].Recall, 10);
    }

    [Fact]
    public void Compute_PerfectPredictions_One()
    {
        IReadOnlyList<int>[] gold = [[0, 2], [1]];

        var report = MultiLabelMetrics.Compute(gold, gold, ["a", "b", "c"]);

        Assert.Equal(1.0, report.MacroF1);
        Assert.Equal(1.0, report.MicroF1);
    }

    [Fact]
    public void Compute_DifferentLengths_Throws()
    {
        Assert.Throws<ArgumentException>(() => MultiLabelMetrics.Compute([[0]], [], ["a"]));
    }
}
