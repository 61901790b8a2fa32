namespace Anima.Perception.Training;

/// <summary>Chooses a per-label decision threshold that maximizes F1 on out-of-fold probabilities.</summary>
internal static class ThresholdTuner
{
    public const float Minimum = 0.02f;
    public const float Maximum = 0.95f;
    public const float Fallback = 0.5f;

    /// <summary>
    /// For each label, sweeps every distinct probability as a cut-off and keeps the one with the best
    /// F1 (placed halfway to the next lower probability so it generalizes); a label without positives keeps 0.5.
    /// </summary>
    public static float[] Tune(IReadOnlyList<float[]> probabilities, IReadOnlyList<ulong> labelMasks, int labelCount)
    {
        var thresholds = new float[labelCount];
        var order = new int[probabilities.Count];
        var scores = new float[probabilities.Count];
        for (var label = 0; label < labelCount; label++)
        {
            var positives = 0;
            for (var row = 0; row < probabilities.Count; row++)
            {
                order[row] = row;
                scores[row] = probabilities[row][label];
                if ((labelMasks[row] & (1UL << label)) != 0)
                {
                    positives++;
                }
            }

            if (positives == 0)
            {
                thresholds[label] = Fallback;
                continue;
            }

            // Descending by probability; ties broken by row for determinism.
            Array.Sort(order, (left, right) => scores[right] != scores[left] ? scores[right].CompareTo(scores[left]) : left.CompareTo(right));
            var bestF1 = -1.0;
            var bestThreshold = Fallback;
            var truePositives = 0;
            for (var rank = 0; rank < order.Length; rank++)
            {
                if ((labelMasks[order[rank]] & (1UL << label)) != 0)
                {
                    truePositives++;
                }

                var current = scores[order[rank]];
                var next = rank + 1 < order.Length ? scores[order[rank + 1]] : 0f;
                if (next == current)
                {
                    continue;
                }

                var f1 = MultiLabelMetrics.F1(truePositives, rank + 1, positives);
                if (f1 > bestF1)
                {
                    bestF1 = f1;
                    bestThreshold = (current + next) / 2;
                }
            }

            thresholds[label] = Math.Clamp(bestThreshold, Minimum, Maximum);
        }

        return thresholds;
    }

    /// <summary>The labels at or above their thresholds; when none is and <paramref name="fallbackToTop"/>, the most probable.</summary>
    public static int[] Decide(ReadOnlySpan<float> probabilities, ReadOnlySpan<float> thresholds, bool fallbackToTop)
    {
        var count = 0;
        Span<int> chosen = stackalloc int[thresholds.Length];
        var top = 0;
        for (var label = 0; label < thresholds.Length; label++)
        {
            if (probabilities[label] >= thresholds[label])
            {
                chosen[count++] = label;
            }

            if (probabilities[label] > probabilities[top])
            {
                top = label;
            }
        }

        if (count == 0 && fallbackToTop)
        {
            return [top];
        }

        return chosen[..count].ToArray();
    }

    /// <summary>Macro-F1 (over labels with support) of thresholded decisions on the given rows.</summary>
    public static double MacroF1(IReadOnlyList<float[]> probabilities, IReadOnlyList<ulong> labelMasks, ReadOnlySpan<float> thresholds, bool fallbackToTop)
    {
        var labelCount = thresholds.Length;
        var truePositives = new int[labelCount];
        var predicted = new int[labelCount];
        var actual = new int[labelCount];
        for (var row = 0; row < probabilities.Count; row++)
        {
            var mask = labelMasks[row];
            foreach (var label in Decide(probabilities[row], thresholds, fallbackToTop))
            {
                predicted[label]++;
                if ((mask & (1UL << label)) != 0)
                {
                    truePositives[label]++;
                }
            }

            for (var label = 0; label < labelCount; label++)
            {
                if ((mask & (1UL << label)) != 0)
                {
                    actual[label]++;
                }
            }
        }

        double sum = 0;
        var scored = 0;
        for (var label = 0; label < labelCount; label++)
        {
            if (actual[label] > 0)
            {
                sum += MultiLabelMetrics.F1(truePositives[label], predicted[label], actual[label]);
                scored++;
            }
        }

        return scored == 0 ? 0 : sum / scored;
    }
}
