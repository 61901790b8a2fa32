namespace Anima.Perception;

/// <summary>Precision, recall and F1 of one label.</summary>
public sealed record LabelScore(string Label, int Support, int Predicted, int TruePositives, double Precision, double Recall, double F1);

/// <summary>
/// Multi-label scores. Macro-F1 is the mean F1 over labels that occur at least once in the gold
/// labels (a label nobody used cannot be scored); micro-F1 pools every label decision.
/// </summary>
public sealed record MultiLabelReport(IReadOnlyList<LabelScore> Labels, double MacroF1, double MicroF1, int ExampleCount);

public static class MultiLabelMetrics
{
    /// <summary>Scores predicted label sets against gold label sets over <paramref name="labelNames"/>.</summary>
    public static MultiLabelReport Compute(IReadOnlyList<IReadOnlyList<int>> gold, IReadOnlyList<IReadOnlyList<int>> predicted, IReadOnlyList<string> labelNames)
    {
        ArgumentNullException.ThrowIfNull(gold);
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(labelNames);
        if (gold.Count != predicted.Count)
        {
            throw new ArgumentException($"Gold has {gold.Count} examples but predictions have {predicted.Count}.", nameof(predicted));
        }

        var labelCount = labelNames.Count;
        var truePositives = new int[labelCount];
        var support = new int[labelCount];
        var predictedCounts = new int[labelCount];
        for (var example = 0; example < gold.Count; example++)
        {
            foreach (var label in gold[example])
            {
                support[label]++;
            }

            foreach (var label in predicted[example])
            {
                predictedCounts[label]++;
                if (Contains(gold[example], label))
                {
                    truePositives[label]++;
                }
            }
        }

        var scores = new LabelScore[labelCount];
        double macroSum = 0;
        var macroLabels = 0;
        for (var label = 0; label < labelCount; label++)
        {
            var precision = predictedCounts[label] == 0 ? 0 : (double)truePositives[label] / predictedCounts[label];
            var recall = support[label] == 0 ? 0 : (double)truePositives[label] / support[label];
            var f1 = F1(truePositives[label], predictedCounts[label], support[label]);
            scores[label] = new LabelScore(labelNames[label], support[label], predictedCounts[label], truePositives[label], precision, recall, f1);
            if (support[label] > 0)
            {
                macroSum += f1;
                macroLabels++;
            }
        }

        var micro = F1(truePositives.Sum(), predictedCounts.Sum(), support.Sum());
        return new MultiLabelReport(scores, macroLabels == 0 ? 0 : macroSum / macroLabels, micro, gold.Count);
    }

    /// <summary>F1 from counts: 2·TP / (predicted + actual); 0 when both are empty.</summary>
    public static double F1(int truePositives, int predicted, int actual) =>
        predicted + actual == 0 ? 0 : 2.0 * truePositives / (predicted + actual);

    private static bool Contains(IReadOnlyList<int> labels, int label)
    {
        for (var index = 0; index < labels.Count; index++)
        {
            if (labels[index] == label)
            {
                return true;
            }
        }

        return false;
    }
}
