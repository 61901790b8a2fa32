using System.Diagnostics;
using Anima.Memory.Recall;
using Anima.Memory.Storage;

namespace Anima.Memory.Benchmarks;

/// <summary>The result of <see cref="ScaleBenchmark.RunAsync"/>.</summary>
public sealed record ScaleReport(int Memories, int OtherUsersMemories, TimeSpan IngestTime, int Queries,
    TimeSpan Mean, TimeSpan P50, TimeSpan P99, TimeSpan Max, int PlantedQueries, int PlantedFound, TimeSpan CpuPerQuery, int WarmUpQueries);

/// <summary>
/// Recall latency at scale: one user with N synthetic memories (<see cref="SyntheticHistory"/>) plus four other users
/// with N/20 each in the same store, the planted facts of <see cref="SyntheticHistory.PlantedFacts"/> hidden among them,
/// then Q recall queries (8 results each, the full <see cref="MemoryRecall"/> pipeline) timed one by one after W untimed
/// warm-up queries (default <see cref="DefaultWarmUpQueries"/>).
/// </summary>
public sealed class ScaleBenchmark(IMemoryStore store)
{
    public const string MeasuredUser = "scale-user";
    private const int BatchSize = 5_000;

    /// <summary>
    /// Untimed queries before the timed ones: a running server has its JIT-optimised code (tiered compilation
    /// recompiles a method after 30 calls, in the background) and its per-user caches; 20 warm-ups timed the JIT too.
    /// </summary>
    public const int DefaultWarmUpQueries = 200;

    public async Task<ScaleReport> RunAsync(int memories, int queries, int seed, IProgress<double>? progress = null, CancellationToken cancellationToken = default,
        int warmUpQueries = DefaultWarmUpQueries)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(warmUpQueries);
        ArgumentOutOfRangeException.ThrowIfLessThan(memories, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(queries, 1);
        var end = new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero);
        var history = new SyntheticHistory(seed);
        var others = memories / 20;
        var total = memories + 4 * others;
        var written = 0;
        var started = Stopwatch.GetTimestamp();
        var plantedEvery = Math.Max(1, memories / (SyntheticHistory.PlantedFacts.Count + 1));
        var plantedIds = new Dictionary<int, Guid>();
        foreach (var (user, count) in new[] { (MeasuredUser, memories) }.Concat(Enumerable.Range(1, 4).Select(index => ($"other-user-{index}", others))))
        {
            for (var offset = 0; offset < count; offset += BatchSize)
            {
                var batch = new List<Memory>(BatchSize);
                for (var index = offset; index < Math.Min(count, offset + BatchSize); index++)
                {
                    var memory = history.Next(user, index, count, end);
                    var planted = user == MeasuredUser && index % plantedEvery == 0 ? index / plantedEvery - 1 : -1;
                    if (planted >= 0 && planted < SyntheticHistory.PlantedFacts.Count)
                    {
                        memory = memory with { Kind = MemoryKind.Fact, Text = SyntheticHistory.PlantedFacts[planted].Fact, Importance = 0.7 };
                        plantedIds[planted] = memory.Id;
                    }

                    batch.Add(memory);
                }

                await store.UpsertManyAsync(user, batch, cancellationToken);
                written += batch.Count;
                progress?.Report(0.9 * written / total);
            }
        }

        var ingestTime = Stopwatch.GetElapsedTime(started);
        // The ingest's garbage (hundreds of MB of analysed terms) is collected now, not in the middle of the timed queries.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var recall = new MemoryRecall(store, new FixedTimeProvider(end));
        for (var warmUp = 0; warmUp < warmUpQueries; warmUp++)
        {
            await recall.RecallAsync(MeasuredUser, history.NextQuery(), 8, cancellationToken);
        }

        var latencies = new List<double>(queries);
        // Process CPU time over all timed queries: on a shared machine wall-clock tails include waiting for a core,
        // CPU time per query does not (it includes the runtime's own threads, e.g. GC).
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        for (var query = 0; query < queries; query++)
        {
            var (_, elapsed) = await recall.RecallTimedAsync(MeasuredUser, history.NextQuery(), 8, cancellationToken);
            latencies.Add(elapsed.TotalMilliseconds);
            if (query % 100 == 0)
            {
                progress?.Report(0.9 + 0.1 * query / queries);
            }
        }

        var cpuPerQuery = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore) / queries;
        var found = 0;
        foreach (var (planted, id) in plantedIds)
        {
            var (results, elapsed) = await recall.RecallTimedAsync(MeasuredUser, SyntheticHistory.PlantedFacts[planted].Question, 8, cancellationToken);
            latencies.Add(elapsed.TotalMilliseconds);
            found += results.Any(result => result.Memory.Id == id) ? 1 : 0;
        }

        progress?.Report(1);
        latencies.Sort();
        return new ScaleReport(memories, 4 * others, ingestTime, latencies.Count,
            TimeSpan.FromMilliseconds(latencies.Average()),
            TimeSpan.FromMilliseconds(LocomoBenchmark.Percentile(latencies, 0.50)),
            TimeSpan.FromMilliseconds(LocomoBenchmark.Percentile(latencies, 0.99)),
            TimeSpan.FromMilliseconds(latencies[^1]),
            plantedIds.Count, found, cpuPerQuery, warmUpQueries);
    }

    private sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
