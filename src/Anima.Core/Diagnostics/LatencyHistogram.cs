namespace Anima.Core.Diagnostics;

/// <summary>
/// A lock-free latency histogram for hot paths: log-spaced buckets (16 per doubling, so a percentile is within
/// about 4.4% of the true value) from 1 µs to about 2 hours. Recording is one interlocked increment; reading
/// percentiles walks 512 counters. Many threads may record while one reads.
/// </summary>
public sealed class LatencyHistogram
{
    private const int SubBuckets = 16;
    private const int Doublings = 32;
    private readonly long[] _counts = new long[SubBuckets * Doublings];
    private long _count;
    private long _sumMicroseconds;
    private long _maxMicroseconds;

    public long Count => Interlocked.Read(ref _count);

    public void Record(TimeSpan elapsed) => RecordMicroseconds((long)elapsed.TotalMicroseconds);

    public void RecordMicroseconds(long microseconds)
    {
        microseconds = Math.Max(1, microseconds);
        Interlocked.Increment(ref _counts[BucketOf(microseconds)]);
        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _sumMicroseconds, microseconds);
        var max = Interlocked.Read(ref _maxMicroseconds);
        while (microseconds > max)
        {
            var seen = Interlocked.CompareExchange(ref _maxMicroseconds, microseconds, max);
            if (seen == max)
            {
                break;
            }

            max = seen;
        }
    }

    /// <summary>The value at quantile <paramref name="q"/> (0–1) in milliseconds, as the upper edge of its bucket (never above the maximum seen); 0 when empty.</summary>
    public double PercentileMilliseconds(double q)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(q, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(q, 1);
        var total = Count;
        if (total == 0)
        {
            return 0;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(q * total));
        long seen = 0;
        for (var bucket = 0; bucket < _counts.Length; bucket++)
        {
            seen += Interlocked.Read(ref _counts[bucket]);
            if (seen >= rank)
            {
                return Math.Min(UpperEdge(bucket), Interlocked.Read(ref _maxMicroseconds)) / 1000.0;
            }
        }

        return Interlocked.Read(ref _maxMicroseconds) / 1000.0;
    }

    public LatencySummary Summarize() => new(
        Count,
        PercentileMilliseconds(0.50),
        PercentileMilliseconds(0.99),
        PercentileMilliseconds(0.999),
        Interlocked.Read(ref _maxMicroseconds) / 1000.0,
        Interlocked.Read(ref _sumMicroseconds) / 1000.0);

    public void Reset()
    {
        for (var bucket = 0; bucket < _counts.Length; bucket++)
        {
            Interlocked.Exchange(ref _counts[bucket], 0);
        }

        Interlocked.Exchange(ref _count, 0);
        Interlocked.Exchange(ref _sumMicroseconds, 0);
        Interlocked.Exchange(ref _maxMicroseconds, 0);
    }

    // Values below 16 µs get a bucket each; above, each doubling is split into 16 equal buckets.
    internal static int BucketOf(long microseconds)
    {
        if (microseconds < SubBuckets)
        {
            return (int)microseconds;
        }

        var doubling = 63 - (int)long.LeadingZeroCount(microseconds) - 3; // ≥ 1 for values ≥ 16
        var sub = (int)(microseconds >> (doubling - 1)) - SubBuckets; // 0–15 within the doubling
        return Math.Min((doubling * SubBuckets) + sub, (SubBuckets * Doublings) - 1);
    }

    internal static long UpperEdge(int bucket)
    {
        if (bucket < SubBuckets)
        {
            return bucket;
        }

        var doubling = bucket / SubBuckets;
        var sub = bucket % SubBuckets;
        return ((long)(SubBuckets + sub + 1) << (doubling - 1)) - 1;
    }
}

/// <summary>Count, p50, p99, p99.9, maximum and total of a latency histogram, in milliseconds.</summary>
public sealed record LatencySummary(long Count, double P50, double P99, double P999, double Max, double Total);
