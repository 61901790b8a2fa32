namespace Anima.Voice.Emotion;

/// <summary>Small descriptive statistics over arrays.</summary>
internal static class Statistics
{
    public static double Mean(double[] values) => values.Length == 0 ? 0 : values.Average();

    public static double StandardDeviation(double[] values)
    {
        if (values.Length < 2)
        {
            return 0;
        }

        var mean = values.Average();
        return Math.Sqrt(values.Sum(value => (value - mean) * (value - mean)) / values.Length);
    }

    /// <summary>The <paramref name="fraction"/> quantile with linear interpolation.</summary>
    public static double Percentile(double[] values, double fraction)
    {
        if (values.Length == 0)
        {
            return 0;
        }

        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        var position = fraction * (sorted.Length - 1);
        var lower = (int)Math.Floor(position);
        var upper = Math.Min(sorted.Length - 1, lower + 1);
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
    }

    /// <summary>The least-squares slope of <paramref name="values"/> against <paramref name="positions"/>.</summary>
    public static double Slope(double[] values, int[] positions)
    {
        if (values.Length < 2)
        {
            return 0;
        }

        var meanX = positions.Average();
        var meanY = values.Average();
        double numerator = 0, denominator = 0;
        for (var index = 0; index < values.Length; index++)
        {
            numerator += (positions[index] - meanX) * (values[index] - meanY);
            denominator += (positions[index] - meanX) * (positions[index] - meanX);
        }

        return denominator <= 0 ? 0 : numerator / denominator;
    }
}
