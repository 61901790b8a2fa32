using Anima.Server.Accounts;
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
    private static async Task<IResult> GetStatsAsync(HttpContext context, IGrainFactory grains, ILocalSiloDetails silo, bool? collect)
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
        return TypedResults.Ok(new NodeStats(companions, GC.GetTotalMemory(forceFullCollection: false), process.WorkingSet64));
    }

    public sealed record NodeStats(int ActiveCompanions, long ManagedHeapBytes, long WorkingSetBytes);
}
