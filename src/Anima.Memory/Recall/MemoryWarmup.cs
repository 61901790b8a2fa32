using System.Diagnostics;
using Anima.Memory.Benchmarks;
using Anima.Memory.Storage;

namespace Anima.Memory.Recall;

/// <summary>
/// Runs the recall path on a private, throwaway store at start, so the first users' turns do not pay for the JIT.
/// .NET compiles a method quickly first and recompiles it optimised (with profile data) only after it has been
/// called about 30 times, on a background thread; until the recall path's few hundred methods got there, a query costs
/// about twice its steady-state CPU and its tail is long (measured in docs/benchmarks/memory.md). The warm-up writes a
/// small synthetic history (no user data) to a temporary SQLite file, recalls against it, and deletes the file.
/// </summary>
public static class MemoryWarmup
{
    /// <summary>Default recall queries of the warm-up (about 1–2 s of one core).</summary>
    public const int DefaultQueries = 1500;

    /// <summary>Warms the recall path with <paramref name="queries"/> queries; returns how long it took.</summary>
    public static Task<TimeSpan> RunAsync(int queries = DefaultQueries, CancellationToken cancellationToken = default) =>
        RunAsync(queries, Path.GetTempPath(), cancellationToken);

    /// <summary>
    /// Warms the recall path with <paramref name="queries"/> queries on a throwaway store in <paramref name="directory"/>,
    /// which it leaves as it found it; returns how long it took.
    /// </summary>
    public static async Task<TimeSpan> RunAsync(int queries, string directory, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentOutOfRangeException.ThrowIfNegative(queries);
        var started = Stopwatch.GetTimestamp();
        if (queries == 0)
        {
            return TimeSpan.Zero;
        }

        var path = Path.Combine(directory, $"anima-memory-warmup-{Guid.NewGuid():N}.db");
        try
        {
            var end = DateTimeOffset.UtcNow;
            var history = new SyntheticHistory(seed: 11);
            await using (var store = new SqliteMemoryStore(new SqliteMemoryStoreOptions { DatabasePath = path }, TimeProvider.System))
            {
                await store.InitializeAsync(cancellationToken);
                const string user = "warmup";
                const int count = 3000;
                var memories = new List<Memory>(count);
                for (var index = 0; index < count; index++)
                {
                    memories.Add(history.Next(user, index, count, end));
                }

                await store.UpsertManyAsync(user, memories, cancellationToken);
                var recall = new MemoryRecall(store, TimeProvider.System);
                for (var query = 0; query < queries; query++)
                {
                    await recall.RecallAsync(user, history.NextQuery(), 8, cancellationToken);
                }
            }
        }
        finally
        {
            foreach (var suffix in new[] { "", "-wal", "-shm" })
            {
                try
                {
                    File.Delete(path + suffix);
                }
                catch (IOException)
                {
                    // A leftover temp file holds only synthetic text.
                }
            }
        }

        return Stopwatch.GetElapsedTime(started);
    }
}
