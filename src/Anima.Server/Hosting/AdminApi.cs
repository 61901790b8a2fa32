using Anima.Core.Diagnostics;
using Anima.Server.Accounts;
using Anima.Storage;
using Orleans.Runtime;

namespace Anima.Server.Hosting;

/// <summary>What an operator (the administrator) can read about this node: companions in memory and the memory they take.</summary>
public static class AdminApi
{
    public static RouteGroupBuilder MapAdminApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/admin").WithTags("Admin").RequireAuthorization();
        group.MapGet("/stats", GetStatsAsync);
        return group;
    }

    /// <summary>
    /// This node's companions in memory, managed heap and resident memory. With <c>collect=true</c> a full
    /// garbage collection runs first, so the heap figure is what is really held (used by <c>bench load</c>
    /// to measure memory per active and per idle companion).
    /// </summary>
    private static async Task<IResult> GetStatsAsync(HttpContext context, IGrainFactory grains, ILocalSiloDetails silo, TurnTimings timings, GcPauseMonitor gcPauses, IServiceProvider services, bool? collect, bool? reset)
    {
        if (!context.User.IsAdmin())
        {
            return AccountsApi.Problem(StatusCodes.Status403Forbidden, "Administrator only", "Only the administrator of this installation can read node statistics.", "forbidden");
        }

        var statistics = await grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics([silo.SiloAddress]);
        var companions = statistics.Where(statistic => statistic.GrainType.Contains("CompanionGrain", StringComparison.Ordinal)).Sum(statistic => statistic.ActivationCount);
        if (collect == true)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        }

        using var process = System.Diagnostics.Process.GetCurrentProcess();
        var database = services.GetService<SqliteDatabase>();
        var stats = new NodeStats(
            companions,
            GC.GetTotalMemory(forceFullCollection: false),
            process.WorkingSet64,
            timings.Summarize(),
            gcPauses.Pauses.Summarize(),
            [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)],
            database?.WriteLatency.Summarize(),
            database?.WritesPerCommit.Summarize(),
            database?.CommitDuration.Summarize(),
            database?.CheckpointDuration.Summarize(),
            GC.GetTotalAllocatedBytes(precise: false));
        if (reset == true)
        {
            // The figures so far are returned, then counting starts again (bench load resets after its sign-ups).
            timings.Reset();
            gcPauses.Pauses.Reset();
            database?.WriteLatency.Reset();
            database?.WritesPerCommit.Reset();
            database?.CommitDuration.Reset();
            database?.CheckpointDuration.Reset();
        }

        return TypedResults.Ok(stats);
    }

    /// <summary>
    /// A node's statistics: companions in memory, managed heap and resident bytes, where a turn's time went
    /// (per <see cref="TurnStage"/>, in milliseconds; the mind's own first-token time is its own stage), the
    /// garbage collector's pauses, collections per generation since the process started, and on the embedded
    /// database the time from a write's request to its commit and the writes per commit (the "milliseconds" of
    /// <see cref="WritesPerCommit"/> are counts divided by 1,000), the writer's own time per transaction, the background
    /// checkpoints' time, and the bytes the process has allocated since it started (garbage per turn is what sets how
    /// often the collector pauses everything).
    /// </summary>
    public sealed record NodeStats(
        int ActiveCompanions,
        long ManagedHeapBytes,
        long WorkingSetBytes,
        IReadOnlyDictionary<string, LatencySummary> TurnTimings,
        LatencySummary GcPauses,
        IReadOnlyList<int> Collections,
        LatencySummary? StorageWrites,
        LatencySummary? WritesPerCommit,
        LatencySummary? Commits,
        LatencySummary? Checkpoints,
        long AllocatedBytes);
}
