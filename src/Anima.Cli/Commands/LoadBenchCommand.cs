using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Anima.Core.Diagnostics;
using Anima.Testing;

namespace Anima.Cli.Commands;

/// <summary>
/// Drives simulated users against a running Anima server over its real HTTP API, with a scripted
/// streaming mind served by this command on loopback (the server is pointed at it through the admin
/// API), so what is measured is the platform's own cost: overhead = what a turn took at the client
/// minus what the scripted mind was told to spend (first-token delay + tokens at the given rate).
/// </summary>
public sealed class LoadBenchCommand : ICliCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static readonly string[] English =
    [
        "I had a long day at work and I'm tired.", "Do you remember what I told you about my sister?", "I'm going to the beach tomorrow!",
        "Sometimes I feel like nobody really listens to me.", "What do you think about writing letters by hand?", "I finally finished the book I was reading.",
    ];

    private static readonly string[] Korean =
    [
        "오늘 회사에서 정말 힘들었어요.", "내일 친구들이랑 바다에 가요!", "요즘 잠을 잘 못 자서 걱정이에요.",
        "손편지를 쓰는 건 어떻게 생각해요?", "드디어 읽던 책을 다 읽었어요.", "가끔은 아무도 내 말을 안 듣는 것 같아요.",
    ];

    public string Name => "bench load";

    public string Summary => "Load test: N simulated users talking with a running server (scripted mind), platform overhead p50/p99.";

    public string Usage => """
        Usage: anima bench load --server URL [--users 100] [--duration 60] [--think 5] [--first-token-ms 200] [--tokens-per-second 30]
                                [--admin-user NAME --admin-password PASSWORD] [--mind-port 0] [--server-pid PID] [--seed 1]
                                [--idle-check] [--idle-timeout 600]
          Starts a scripted OpenAI-compatible mind on 127.0.0.1, points the server at it (as the administrator: the
          first account, created when the server is new), signs up the simulated users, then each user talks for
          --duration seconds with exponential think time (mean --think s), English and Korean messages of varied length.
          Prints throughput, turn overhead p50/p99 (turn time minus the scripted mind's own time), errors, and with
          --server-pid the server's CPU and memory per companion. With --idle-check it then waits (up to --idle-timeout s)
          for the idle companions to leave memory (the server's Anima:Companion:DeactivateAfterIdle), reports managed
          memory per active and per idle companion (the administrator's /api/admin/stats, after a full collection), and
          checks that every companion comes back with its state. The last line is `p99 overhead ms: X`.
        """;

    public async Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        var server = new Uri(arguments.Require("--server"));
        var users = arguments.GetInt32("--users", 100, 1, 100_000);
        var duration = TimeSpan.FromSeconds(arguments.GetInt32("--duration", 60, 1, 86_400));
        var think = arguments.GetDouble("--think", 5);
        var firstToken = TimeSpan.FromMilliseconds(arguments.GetInt32("--first-token-ms", 200, 0, 60_000));
        var tokensPerSecond = arguments.GetDouble("--tokens-per-second", 30);
        var adminUser = arguments.Get("--admin-user") ?? "bench-admin";
        var adminPassword = arguments.Get("--admin-password") ?? "bench-admin-password";
        var mindPort = arguments.GetInt32("--mind-port", 0, 0, 65535);
        var serverPid = arguments.GetInt32("--server-pid", 0, 0, int.MaxValue);
        var seed = arguments.GetInt32("--seed", 1);
        var idleCheck = arguments.Has("--idle-check");
        var idleTimeout = TimeSpan.FromSeconds(arguments.GetInt32("--idle-timeout", 600, 10, 86_400));
        arguments.ThrowIfUnused();

        // Thousands of simulated users wake on timers at once; a pool that starts at one thread per core and grows
        // slowly would make the load generator, not the server, the late one (its lateness is reported below).
        ThreadPool.GetMinThreads(out var workers, out var completions);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), completions);
        await using var mind = await ScriptedMindServer.StartAsync(mindPort, cancellationToken);
        mind.FirstTokenDelay = firstToken;
        mind.TokensPerSecond = tokensPerSecond;
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionLifetime = TimeSpan.FromMinutes(30) };
        using var http = new HttpClient(handler) { BaseAddress = server, Timeout = TimeSpan.FromMinutes(5) };

        var adminToken = await BenchAccounts.SignInOrUpAsync(http, adminUser, adminPassword, cancellationToken)
            ?? throw new CliUsageException($"Cannot sign in as '{adminUser}': give the administrator's --admin-user and --admin-password.");
        using (var request = new HttpRequestMessage(HttpMethod.Put, "/api/mind/") { Content = JsonContent.Create(new { provider = "openai", endpoint = mind.Endpoint, model = "scripted" }, options: Json) })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
            using var response = await http.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                await context.Error.WriteLineAsync($"Could not point the server at the scripted mind ({(int)response.StatusCode}); is '{adminUser}' the administrator?");
                return 1;
            }
        }

        var baseline = idleCheck ? await StatsAsync(http, adminToken, cancellationToken) : null;
        var runId = DateTime.UtcNow.ToString("HHmmss", CultureInfo.InvariantCulture);
        var tokens = new string[users];
        using (var progress = new ConsoleProgressBar(context, "signing up"))
        {
            var done = 0;
            await Parallel.ForAsync(0, users, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (index, token) =>
            {
                tokens[index] = await BenchAccounts.SignInOrUpAsync(http, $"load-{runId}-{index}", "load test password", token)
                    ?? throw new InvalidOperationException($"Sign-up of simulated user {index} failed.");
                progress.Report((double)Interlocked.Increment(ref done) / users);
            });
        }

        // The node's own timings count from here (the sign-ups are not what is measured); a server that refuses
        // its statistics (the bench account is not its administrator) is measured from the outside only.
        var nodeBefore = await TryStatsAsync(http, adminToken, "/api/admin/stats?reset=true", cancellationToken);
        var serverTimings = nodeBefore is not null;
        var clientLag = new LatencyHistogram();
        var clientPauseBefore = GC.GetTotalPauseDuration();
        var clientCpuBefore = Environment.CpuUsage.TotalTime;
        var cpuBefore = ProcessCpu(serverPid);
        var results = new TurnResults();
        var completedTurns = new int[users];
        var clock = Stopwatch.StartNew();
        using (var progress = new ConsoleProgressBar(context, "talking"))
        {
            var reporter = Task.Run(async () =>
            {
                while (clock.Elapsed < duration && !cancellationToken.IsCancellationRequested)
                {
                    progress.Report(clock.Elapsed / duration, $"{results.Count} turns, {results.Errors} errors");
                    await Task.Delay(500, cancellationToken);
                }
            }, cancellationToken);
            // This process's own scheduling delay (how late a 10 ms timer fires): turn times measured here include
            // it, so it is reported next to them.
            var lagProbe = Task.Run(async () =>
            {
                while (clock.Elapsed < duration && !cancellationToken.IsCancellationRequested)
                {
                    var asked = Stopwatch.GetTimestamp();
                    await Task.Delay(10, cancellationToken);
                    clientLag.Record(Stopwatch.GetElapsedTime(asked) - TimeSpan.FromMilliseconds(10));
                }
            }, cancellationToken);
            await Task.WhenAll(Enumerable.Range(0, users).Select(index => SimulateUserAsync(http, tokens[index], new Random(seed + index), think, duration, clock, firstToken, tokensPerSecond, results, () => Interlocked.Increment(ref completedTurns[index]), cancellationToken)));
            progress.Report(1);
            await reporter;
            await lagProbe;
        }

        var elapsed = clock.Elapsed;
        var cpuAfter = ProcessCpu(serverPid);
        var overheads = results.Overheads();
        var firstTokenOverheads = results.FirstTokenOverheads();
        var output = context.Out;
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"users: {users}, duration: {elapsed.TotalSeconds:0} s, think time mean: {think} s, scripted mind: first token {firstToken.TotalMilliseconds} ms, {tokensPerSecond} tokens/s"));
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"turns: {results.Count}, throughput: {results.Count / elapsed.TotalSeconds:0.0} turns/s, errors: {results.Errors}"));
        foreach (var reason in results.FailureReasons)
        {
            await output.WriteLineAsync("  a failed turn: " + reason);
        }

        var warm = results.WarmOverheads();
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"turn overhead after each user's first turn ms: p50 {Percentile(warm, 0.50):0.0}, p99 {Percentile(warm, 0.99):0.0}"));
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"first-token overhead ms: p50 {Percentile(firstTokenOverheads, 0.50):0.0}, p99 {Percentile(firstTokenOverheads, 0.99):0.0}"));
        if (serverPid > 0 && cpuBefore is { } before && cpuAfter is { } after)
        {
            var cpuSeconds = after - before;
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"server CPU: {cpuSeconds:0.0} s over {elapsed.TotalSeconds:0} s = {cpuSeconds / elapsed.TotalSeconds * 100:0}% of one core, {cpuSeconds * 1000 / Math.Max(1, results.Count):0.00} ms per turn"));
            var rss = ProcessRssBytes(serverPid);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"server memory: {rss / 1048576.0:0} MiB resident with {users} active companions = {rss / 1024.0 / users:0} KiB per companion (upper bound, includes the runtime)"));
        }

        var lag = clientLag.Summarize();
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"load generator's own delay (10 ms timer lateness) ms: p50 {lag.P50:0.0}, p99 {lag.P99:0.0}, max {lag.Max:0.0}; its GC pauses {(GC.GetTotalPauseDuration() - clientPauseBefore).TotalMilliseconds:0} ms in all"));
        var clientCpu = (Environment.CpuUsage.TotalTime - clientCpuBefore).TotalSeconds;
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"load generator's own CPU (the simulated users and the scripted mind, on the same cores): {clientCpu:0.0} s = {clientCpu / elapsed.TotalSeconds * 100:0}% of one core"));
        if (mind.Lateness.Order().ToList() is { Count: > 0 } lateness)
        {
            // The scripted mind runs in this process: when it writes its last token late, the turn overhead above counts it.
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"scripted mind's own lateness at its last token ms: p50 {Percentile(lateness, 0.50):0.0}, p99 {Percentile(lateness, 0.99):0.0} (counted in the turn overhead above; the server's own view is TurnOverhead below)"));
        }

        if (serverTimings && await TryStatsAsync(http, adminToken, "/api/admin/stats", cancellationToken) is { } node)
        {
            await output.WriteLineAsync("server's own timings (ms):");
            foreach (var (stage, summary) in node.TurnTimings.OrderBy(pair => Enum.Parse<TurnStage>(pair.Key)))
            {
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  {stage,-20} n {summary.Count,8}  p50 {summary.P50,8:0.00}  p99 {summary.P99,8:0.00}  p99.9 {summary.P999,8:0.00}  max {summary.Max,8:0.0}"));
            }

            if (node.StorageWrites is { Count: > 0 } writes && node.WritesPerCommit is { } perCommit)
            {
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  {"storage writes",-20} n {writes.Count,8}  p50 {writes.P50,8:0.00}  p99 {writes.P99,8:0.00}  p99.9 {writes.P999,8:0.00}  max {writes.Max,8:0.0}  ({writes.Count / (double)Math.Max(1, perCommit.Count):0.0} writes per commit on average, at most {perCommit.Max * 1000:0})"));
            }

            if (node.Commits is { Count: > 0 } commits)
            {
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  {"commits",-20} n {commits.Count,8}  p50 {commits.P50,8:0.00}  p99 {commits.P99,8:0.00}  p99.9 {commits.P999,8:0.00}  max {commits.Max,8:0.0}  (the writer's own time per transaction)"));
            }

            if (node.Checkpoints is { Count: > 0 } checkpoints)
            {
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  {"checkpoints",-20} n {checkpoints.Count,8}  p50 {checkpoints.P50,8:0.00}  p99 {checkpoints.P99,8:0.00}  p99.9 {checkpoints.P999,8:0.00}  max {checkpoints.Max,8:0.0}  (in the background, off the commits' path)"));
            }

            if (nodeBefore is { AllocatedBytes: > 0 } && node.AllocatedBytes > nodeBefore.AllocatedBytes)
            {
                // Includes the statistics requests themselves (a few kilobytes).
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  server allocations: {(node.AllocatedBytes - nodeBefore.AllocatedBytes) / 1024.0 / Math.Max(1, results.Count):0.0} KiB per turn ({(node.AllocatedBytes - nodeBefore.AllocatedBytes) / 1048576.0 / elapsed.TotalSeconds:0.0} MiB/s)"));
            }

            var pauses = node.GcPauses;
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  {"GC pauses",-20} n {pauses.Count,8}  p50 {pauses.P50,8:0.00}  p99 {pauses.P99,8:0.00}  p99.9 {pauses.P999,8:0.00}  max {pauses.Max,8:0.0}  total {pauses.Total:0} ms; collections gen0/1/2 since start {string.Join('/', node.Collections)}"));
        }

        if (baseline is not null)
        {
            await ReportIdleMemoryAsync(http, adminToken, tokens, completedTurns, baseline, idleTimeout, context, cancellationToken);
        }

        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"p50 overhead ms: {Percentile(overheads, 0.50):0.0}"));
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"p99 overhead ms: {Percentile(overheads, 0.99):0.0}"));
        return results.Errors == 0 ? 0 : 1;
    }

    private static async Task SimulateUserAsync(HttpClient http, string token, Random random, double think, TimeSpan duration, Stopwatch clock, TimeSpan firstToken, double tokensPerSecond, TurnResults results, Action completed, CancellationToken cancellationToken)
    {
        // Users arrive spread over the first think interval rather than all at once.
        await Task.Delay(TimeSpan.FromSeconds(random.NextDouble() * think), cancellationToken);
        var first = true;
        while (clock.Elapsed < duration && !cancellationToken.IsCancellationRequested)
        {
            var text = Message(random);
            var expectedTokens = ScriptedMindServer.Tokenize(ScriptedMindServer.DefaultScript([("user", text)])).Count();
            var mindTime = firstToken.TotalMilliseconds + (tokensPerSecond > 0 ? (expectedTokens - 1) / tokensPerSecond * 1000 : 0);
            var mindBeforeFirstToken = firstToken.TotalMilliseconds;
            var started = Stopwatch.GetTimestamp();
            double? firstTokenAt = null;
            var ok = false;
            string? failure = null;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/api/companion/messages") { Content = JsonContent.Create(new { text, messageId = Guid.NewGuid().ToString("N") }, options: Json) };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                if (response.Content.Headers.ContentType?.MediaType == "text/event-stream")
                {
                    using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken), Encoding.UTF8);
                    var eventName = string.Empty;
                    while (await reader.ReadLineAsync(cancellationToken) is { } line)
                    {
                        if (line.StartsWith("event: ", StringComparison.Ordinal))
                        {
                            eventName = line[7..];
                            firstTokenAt ??= eventName == "token" ? Stopwatch.GetElapsedTime(started).TotalMilliseconds : null;
                            if (eventName == "named")
                            {
                                // The companion asked the mind for its name first (a second, non-streamed call): the mind's time too.
                                mindTime += firstToken.TotalMilliseconds;
                                mindBeforeFirstToken += firstToken.TotalMilliseconds;
                            }
                        }
                        else if (eventName == "done" && line.StartsWith("data: ", StringComparison.Ordinal))
                        {
                            ok = line.Contains("\"complete\"", StringComparison.Ordinal);
                            failure = ok ? null : "done: " + line[6..];
                        }
                        else if (eventName == "error" && line.StartsWith("data: ", StringComparison.Ordinal))
                        {
                            failure = "error: " + line[6..];
                        }
                    }
                }
                else
                {
                    var body = await response.Content.ReadAsStringAsync(cancellationToken);
                    failure = $"HTTP {(int)response.StatusCode}: {(body.Length > 300 ? body[..300] : body)}";
                }
            }
            catch (HttpRequestException exception)
            {
                ok = false;
                failure = exception.Message;
            }

            var total = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            results.Add(ok, total - mindTime, (firstTokenAt ?? total) - mindBeforeFirstToken, first, ok ? null : failure ?? "the reply ended without a done event");
            if (ok)
            {
                completed();
            }

            first = false;
            var pause = TimeSpan.FromSeconds(-Math.Log(1 - random.NextDouble()) * think);
            var left = duration - clock.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                break;
            }

            await Task.Delay(pause < left ? pause : left, cancellationToken);
        }
    }

    /// <summary>
    /// Memory per active companion (all just talked), per idle companion (after they left memory), and whether each
    /// comes back with its state: its turn count is every turn the bench completed (a user and a companion turn each).
    /// </summary>
    private static async Task ReportIdleMemoryAsync(HttpClient http, string adminToken, string[] tokens, int[] completedTurns, NodeStats baseline, TimeSpan idleTimeout, CliContext context, CancellationToken cancellationToken)
    {
        var output = context.Out;
        var active = await StatsAsync(http, adminToken, cancellationToken);
        var users = tokens.Length;
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"managed memory per active companion: {(active.ManagedHeapBytes - baseline.ManagedHeapBytes) / 1024.0 / users:0.0} KiB ({active.ActiveCompanions} companions in memory, heap {active.ManagedHeapBytes / 1048576.0:0} MiB, baseline {baseline.ManagedHeapBytes / 1048576.0:0} MiB)"));
        var waited = Stopwatch.StartNew();
        var idle = active;
        using (var progress = new ConsoleProgressBar(context, "waiting for idle companions to leave memory"))
        {
            while (idle.ActiveCompanions > 0 && waited.Elapsed < idleTimeout)
            {
                progress.Report(waited.Elapsed / idleTimeout, $"{idle.ActiveCompanions} still in memory");
                await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
                idle = await StatsAsync(http, adminToken, cancellationToken, collect: false);
            }

            progress.Report(1);
        }

        idle = await StatsAsync(http, adminToken, cancellationToken);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"managed memory per idle companion: {(idle.ManagedHeapBytes - baseline.ManagedHeapBytes) / 1024.0 / users:0.0} KiB ({idle.ActiveCompanions} companions in memory after {waited.Elapsed.TotalSeconds:0} s, heap {idle.ManagedHeapBytes / 1048576.0:0} MiB, resident {idle.WorkingSetBytes / 1048576.0:0} MiB)"));

        var intact = 0;
        await Parallel.ForAsync(0, users, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (index, token) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/companion");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens[index]);
            using var response = await http.SendAsync(request, token);
            var companion = await response.Content.ReadFromJsonAsync<JsonElement>(Json, token);
            if (companion.GetProperty("turnCount").GetInt32() == completedTurns[index] * 2)
            {
                Interlocked.Increment(ref intact);
            }
        });
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"companions back with their state: {intact}/{users}"));
    }

    private static async Task<NodeStats> StatsAsync(HttpClient http, string adminToken, CancellationToken cancellationToken, bool collect = true)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, collect ? "/api/admin/stats?collect=true" : "/api/admin/stats");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new CliUsageException($"The server refused its statistics ({(int)response.StatusCode}); --idle-check needs the administrator's account.");
        }

        return (await response.Content.ReadFromJsonAsync<NodeStats>(Json, cancellationToken))!;
    }

    private static async Task<NodeStats?> TryStatsAsync(HttpClient http, string adminToken, string path, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        using var response = await http.SendAsync(request, cancellationToken);
        return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<NodeStats>(Json, cancellationToken) : null;
    }

    private sealed record NodeStats(int ActiveCompanions, long ManagedHeapBytes, long WorkingSetBytes, Dictionary<string, LatencySummary> TurnTimings, LatencySummary GcPauses, int[] Collections, LatencySummary? StorageWrites, LatencySummary? WritesPerCommit, LatencySummary? Commits, LatencySummary? Checkpoints, long AllocatedBytes = 0);

    private static string Message(Random random)
    {
        var pool = random.Next(2) == 0 ? English : Korean;
        var parts = random.Next(1, 4);
        return string.Join(' ', Enumerable.Range(0, parts).Select(_ => pool[random.Next(pool.Length)]));
    }

    private static double? ProcessCpu(int pid)
    {
        if (pid <= 0 || !File.Exists($"/proc/{pid}/stat"))
        {
            return null;
        }

        var fields = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks / 100.0;
    }

    private static long ProcessRssBytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(line => line.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    private static double Percentile(List<double> sorted, double quantile) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(quantile * sorted.Count) - 1)];

    private sealed class TurnResults
    {
        private readonly Lock _gate = new();
        private readonly List<double> _overheads = [];
        private readonly List<double> _firstTokenOverheads = [];
        private readonly List<double> _warmOverheads = [];

        public int Count { get; private set; }

        public int Errors { get; private set; }

        /// <summary>The first few distinct reasons turns failed (what the server said, or what the client saw).</summary>
        public List<string> FailureReasons { get; } = [];

        public void Add(bool ok, double overhead, double firstTokenOverhead, bool firstTurnOfUser, string? failure = null)
        {
            lock (_gate)
            {
                Count++;
                if (!ok)
                {
                    Errors++;
                    if (failure is not null && FailureReasons.Count < 5 && !FailureReasons.Contains(failure))
                    {
                        FailureReasons.Add(failure);
                    }

                    return;
                }

                _overheads.Add(overhead);
                _firstTokenOverheads.Add(firstTokenOverhead);
                if (!firstTurnOfUser)
                {
                    _warmOverheads.Add(overhead);
                }
            }
        }

        public List<double> Overheads()
        {
            lock (_gate)
            {
                return [.. _overheads.Order()];
            }
        }

        /// <summary>Overheads of turns after each user's first (whose companion grain is already active).</summary>
        public List<double> WarmOverheads()
        {
            lock (_gate)
            {
                return [.. _warmOverheads.Order()];
            }
        }

        public List<double> FirstTokenOverheads()
        {
            lock (_gate)
            {
                return [.. _firstTokenOverheads.Order()];
            }
        }
    }
}
