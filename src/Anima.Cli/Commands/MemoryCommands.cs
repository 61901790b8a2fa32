using System.Globalization;
using Anima.Memory.Benchmarks;
using Anima.Memory.Recall;
using Anima.Memory.Storage;

namespace Anima.Cli.Commands;

/// <summary><c>bench memory</c>: LoCoMo retrieval recall and latency, or query latency at scale on a synthetic history.</summary>
public sealed class BenchMemoryCommand : ICliCommand
{
    public string Name => "bench memory";

    public string Summary => "Memory recall on LoCoMo (recall@5/@10, latency) or query latency at scale (--scale N).";

    public string Usage => """
        Usage: anima bench memory --locomo FILE [--k 10] [--observations] [--db PATH | --postgres CONNECTION]
               anima bench memory --scale N [--queries 1000] [--warmup 200] [--start-warmup 1500] [--seed 7] [--db PATH | --postgres CONNECTION]

          --locomo FILE    LoCoMo JSON (e.g. ../shared/data/locomo/locomo5-dev.json): every turn is stored as an
                           episodic memory and, for every question with evidence, recall@5 and recall@K count the
                           evidence turns among the recalled memories. Last line: "recall@10: X".
          --k K            the K of recall@K (default 10).
          --observations   also store LoCoMo's LLM-extracted observations as facts (a stand-in for consolidation).
          --scale N        store a synthetic English/Korean history of N memories for one user (plus 4 other users
                           with N/20 each) and measure recall latency p50/p99.
          --queries Q      queries measured in --scale mode (default 1000).
          --warmup W       untimed queries first in --scale mode (default 200: the JIT's optimised code and the
                           store's caches, as in a running server).
          --start-warmup S recall queries on a private throwaway store before anything else, as the server runs
                           at start (MemoryWarmup; default 1500, 0 = a cold process).
          --seed S         random seed of the synthetic history (default 7).
          --db PATH        SQLite file to use (default: a temporary file, deleted afterwards).
          --postgres CONN  use PostgreSQL instead (a new table, dropped afterwards), e.g.
                           "Host=127.0.0.1;Port=5432;Username=postgres;Database=postgres".
        """;

    public async Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        var locomo = arguments.Get("--locomo");
        var scaleText = arguments.Has("--scale") ? arguments.Get("--scale") : null;
        var k = arguments.GetInt32("--k", 10, 1, 100);
        var observations = arguments.Has("--observations");
        var queries = arguments.GetInt32("--queries", 1000, 1, 1_000_000);
        var warmUp = arguments.GetInt32("--warmup", ScaleBenchmark.DefaultWarmUpQueries, 0, 1_000_000);
        var startWarmUp = arguments.GetInt32("--start-warmup", MemoryWarmup.DefaultQueries, 0, 1_000_000);
        var seed = arguments.GetInt32("--seed", 7);
        var databasePath = arguments.Get("--db");
        var postgres = arguments.Get("--postgres");
        arguments.ThrowIfUnused();
        if (postgres is not null && databasePath is not null)
        {
            throw new CliUsageException("Give --db or --postgres, not both.");
        }
        if ((locomo is null) == (scaleText is null))
        {
            throw new CliUsageException("Give exactly one of --locomo FILE or --scale N.");
        }

        var temporary = databasePath is null;
        databasePath ??= Path.Combine(Path.GetTempPath(), $"anima-bench-memory-{Guid.NewGuid():N}.db");
        if (!temporary && File.Exists(databasePath))
        {
            throw new CliUsageException($"--db {databasePath} already exists; the benchmark needs a new file.");
        }

        if (postgres is not null)
        {
            var table = $"anima_bench_{Guid.NewGuid():N}";
            await using var dataSource = Npgsql.NpgsqlDataSource.Create(postgres);
            try
            {
                await using var store = new PostgresMemoryStore(dataSource, tableName: table);
                await store.InitializeAsync(cancellationToken);
                return await RunAsync(store, locomo, scaleText, k, observations, queries, (startWarmUp, warmUp), seed, context, cancellationToken);
            }
            finally
            {
                await using var drop = dataSource.CreateCommand($"DROP TABLE IF EXISTS {table}, {table}_vocab, {table}_stats;");
                await drop.ExecuteNonQueryAsync(CancellationToken.None);
            }
        }

        try
        {
            await using var store = new SqliteMemoryStore(new SqliteMemoryStoreOptions { DatabasePath = databasePath });
            await store.InitializeAsync(cancellationToken);
            return await RunAsync(store, locomo, scaleText, k, observations, queries, (startWarmUp, warmUp), seed, context, cancellationToken);
        }
        finally
        {
            if (temporary)
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                foreach (var suffix in new[] { "", "-wal", "-shm" })
                {
                    File.Delete(databasePath + suffix);
                }
            }
        }
    }

    private static async Task<int> RunAsync(IMemoryStore store, string? locomo, string? scaleText, int k, bool observations, int queries, (int Start, int BeforeTiming) warmUp, int seed,
        CliContext context, CancellationToken cancellationToken)
    {
        if (locomo is not null)
        {
            return await RunLocomoAsync(store, locomo, k, observations, context, cancellationToken);
        }

        if (!int.TryParse(scaleText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var scale) || scale is < 100 or > 10_000_000)
        {
            throw new CliUsageException($"--scale must be a whole number from 100 to 10000000; got '{scaleText}'.");
        }

        return await RunScaleAsync(store, scale, queries, warmUp, seed, context, cancellationToken);
    }

    private static async Task<int> RunLocomoAsync(IMemoryStore store, string path, int k, bool observations, CliContext context, CancellationToken cancellationToken)
    {
        IReadOnlyList<LocomoSample> samples;
        try
        {
            samples = await LocomoDataset.LoadAsync(path, cancellationToken);
        }
        catch (Exception exception) when (exception is FileNotFoundException or InvalidDataException)
        {
            await context.Error.WriteLineAsync($"anima bench memory: {exception.Message}");
            return 1;
        }

        LocomoReport report;
        using (var progress = new ConsoleProgressBar(context, "ingest + query"))
        {
            report = await new LocomoBenchmark(store).RunAsync(samples, k, observations, progress, cancellationToken);
        }

        var output = context.Out;
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"LoCoMo {Path.GetFileName(path)}: {report.Samples} conversations, {report.TurnsIngested} turns, {report.MemoriesIngested} memories stored in {report.IngestTime.TotalSeconds:0.0} s{(observations ? " (turns + observations)" : " (turns only)")}"));
        if (report.UnknownEvidenceIds > 0)
        {
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"evidence ids not found in their conversation (ignored): {report.UnknownEvidenceIds}"));
        }

        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{"group",-28} {"questions",9} {"recall@5",9} {$"recall@{k}",9} {$"all@{k}",8}"));
        foreach (var row in report.ByCategory.Append(report.Overall))
        {
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{row.Group,-28} {row.Questions,9} {row.RecallAt5,9:0.000} {row.RecallAt10,9:0.000} {row.AllEvidenceAt10,8:0.000}"));
        }

        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{"missed evidence turns",-28} {"evidence",9} {$"missed@{k}",9} {"no shared word but names: text",31} {"text+context",13}"));
        foreach (var row in report.Misses)
        {
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{row.Group,-28} {row.EvidenceTurns,9} {row.Missed,9} {row.NoSharedTermInText,23} ({Share(row.NoSharedTermInText, row.Missed),5:P0}) {row.NoSharedTermInTextOrContext,6} ({Share(row.NoSharedTermInTextOrContext, row.Missed),5:P0})"));
        }

        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"query latency: p50 {report.QueryP50.TotalMilliseconds:0.00} ms, p99 {report.QueryP99.TotalMilliseconds:0.00} ms"));
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"recall@{k}: {report.Overall.RecallAt10:0.000}"));
        return 0;
    }

    private static double Share(int part, int whole) => whole == 0 ? 0 : part / (double)whole;

    private static async Task<int> RunScaleAsync(IMemoryStore store, int scale, int queries, (int Start, int BeforeTiming) warmUp, int seed, CliContext context, CancellationToken cancellationToken)
    {
        var startWarmUp = await MemoryWarmup.RunAsync(warmUp.Start, cancellationToken);
        ScaleReport report;
        using (var progress = new ConsoleProgressBar(context, "synthetic history"))
        {
            report = await new ScaleBenchmark(store).RunAsync(scale, queries, seed, progress, cancellationToken, warmUp.BeforeTiming);
        }

        var output = context.Out;
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"start-up warm-up (MemoryWarmup, as the server runs it): {warmUp.Start} queries on a throwaway store, {startWarmUp.TotalSeconds:0.0} s"));
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"synthetic history: {report.Memories} memories for the measured user (+{report.OtherUsersMemories} of other users), stored in {report.IngestTime.TotalSeconds:0.0} s"));
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{report.Queries} recall queries (English and Korean, 8 results each, after {report.WarmUpQueries} untimed): mean {report.Mean.TotalMilliseconds:0.00} ms, p50 {report.P50.TotalMilliseconds:0.00} ms, p99 {report.P99.TotalMilliseconds:0.00} ms, max {report.Max.TotalMilliseconds:0.00} ms"));
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"process CPU time per query: {report.CpuPerQuery.TotalMilliseconds:0.00} ms (excludes time spent waiting for a core)"));
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"planted-fact check: {report.PlantedFound}/{report.PlantedQueries} planted facts recalled in the top 8"));
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"query p99: {report.P99.TotalMilliseconds:0.00} ms"));
        return 0;
    }
}

/// <summary><c>memory junk</c>: the share of junk among candidate memories of a real conversation (LoCoMo), without a mind.</summary>
public sealed class MemoryJunkCommand : ICliCommand
{
    public string Name => "memory junk";

    public string Summary => "Share of junk among candidate memories of LoCoMo conversations (raw turns, LLM observations).";

    public string Usage => """
        Usage: anima memory junk --locomo FILE [--threshold 0.7]

          --locomo FILE     LoCoMo JSON (e.g. ../shared/data/locomo/locomo5-dev.json).
          --threshold T     similarity at or above which a candidate duplicates one kept before (default 0.7).
        Prints, for raw turns and for LoCoMo's LLM-extracted observations: candidates, judged junk (pleasantry, too
        short, meta talk), near-duplicates, kept, and how many rejected candidates are evidence for a question.
        """;

    public async Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        var path = arguments.Require("--locomo");
        var threshold = arguments.GetDouble("--threshold", Anima.Memory.Consolidation.MemoryJunkFilter.DefaultDuplicateThreshold);
        arguments.ThrowIfUnused();
        if (threshold is <= 0 or > 1)
        {
            throw new CliUsageException($"--threshold must be above 0 and at most 1; got {threshold}.");
        }

        IReadOnlyList<LocomoSample> samples;
        try
        {
            samples = await LocomoDataset.LoadAsync(path, cancellationToken);
        }
        catch (Exception exception) when (exception is FileNotFoundException or InvalidDataException)
        {
            await context.Error.WriteLineAsync($"anima memory junk: {exception.Message}");
            return 1;
        }

        await context.Out.WriteLineAsync($"{"source",-18} {"candidates",10} {"junk",6} {"dupes",6} {"kept",6} {"junk share",10} {"evidence",9} {"evidence rejected",18}");
        foreach (var share in JunkShareBenchmark.Run(samples, threshold))
        {
            await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{share.Source,-18} {share.Candidates,10} {share.Junk,6} {share.Duplicates,6} {share.Kept,6} {share.JunkShareOfCandidates,10:P1} {share.Evidence,9} {share.RejectedEvidence,18}"));
        }

        return 0;
    }
}
