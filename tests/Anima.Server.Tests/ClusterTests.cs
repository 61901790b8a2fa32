using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Anima.Testing;
using Npgsql;

namespace Anima.Server.Tests;

/// <summary>
/// Cluster mode for real: three Anima processes on loopback sharing one PostgreSQL database (membership,
/// reminders, grain state, accounts, conversations, memories), put under load, and one of them killed with
/// SIGKILL mid-load. Every acknowledged message must be stored exactly once, every conversation must go on
/// on the surviving nodes, and the failover must complete within the target.
/// </summary>
[Collection(nameof(ClusterTests))]
public sealed class ClusterTests
{
    private static readonly TimeSpan FailoverTarget = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_node_killed_mid_load_loses_no_acknowledged_message_and_conversations_continue()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var postgres = new PostgresServer();
        await postgres.InitializeAsync();
        Assert.SkipWhen(postgres.ConnectionString is null, postgres.SkipReason ?? "PostgreSQL is not available.");
        await using var mind = await ScriptedMindServer.StartAsync(cancellationToken: cancellationToken);
        mind.FirstTokenDelay = TimeSpan.FromMilliseconds(20);
        mind.TokensPerSecond = 400;

        var root = Directory.CreateTempSubdirectory("anima-cluster-");
        var nodes = new List<ClusterNode>();
        try
        {
            for (var index = 0; index < 3; index++)
            {
                // One at a time: the first creates the schema and the cluster, the others join it.
                var node = ClusterNode.Start(index, Path.Combine(root.FullName, "node" + index), postgres.ConnectionString!, mind.Endpoint);
                nodes.Add(node);
                await node.WaitUntilHealthyAsync(TimeSpan.FromSeconds(90), cancellationToken);
            }

            // Users sign up on different nodes: a session made on one node is valid on every node.
            const int Users = 24;
            var users = new List<LoadUser>();
            for (var index = 0; index < Users; index++)
            {
                var token = await SignUpAsync(nodes[index % 3].BaseAddress, $"user{index:D2}", cancellationToken);
                users.Add(new LoadUser(index, token, index % 3));
            }

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var clock = Stopwatch.StartNew();
            var load = users.Select(user => user.RunAsync(nodes, clock, stop.Token)).ToArray();

            await Task.Delay(TimeSpan.FromSeconds(6), cancellationToken);
            var completedBeforeKill = users.Sum(user => user.Completed.Count);
            var killedAt = clock.Elapsed;
            nodes[0].Kill();
            await Task.Delay(TimeSpan.FromSeconds(14), cancellationToken);
            await stop.CancelAsync();
            await Task.WhenAll(load);

            // Failover: for each user, from the kill to the first turn that was both started and completed
            // after it. The slowest user is the cluster's failover time.
            var recovered = users.Select(user => user.Completed.Where(turn => turn.StartedAt >= killedAt).Select(turn => turn.CompletedAt).DefaultIfEmpty(TimeSpan.MaxValue).Min()).ToList();
            var stuck = users.Where((user, index) => recovered[index] == TimeSpan.MaxValue).Select(user => $"user {user.Index}: {string.Join("; ", user.Reasons.TakeLast(5))}").ToList();
            Assert.True(stuck.Count == 0, "Users with no completed turn after the kill: " + string.Join(" | ", stuck));
            var failover = recovered.Max() - killedAt;
            var affected = users.Count(user => user.Failures.Any(failure => failure >= killedAt));
            var report = $"cluster failover: {failover.TotalMilliseconds:F0} ms (slowest of {Users} users; {affected} users saw a failure after the kill); turns before kill {completedBeforeKill}, after {users.Sum(user => user.Completed.Count) - completedBeforeKill}";
            TestContext.Current.TestOutputHelper?.WriteLine(report);
            Directory.CreateDirectory(Path.Combine(SharedData.RepositoryRoot, "artifacts"));
            await File.WriteAllTextAsync(Path.Combine(SharedData.RepositoryRoot, "artifacts", "cluster-failover.txt"), report + Environment.NewLine, cancellationToken);

            // Exactly once: every acknowledged message is stored once, and nothing is stored that no client sent.
            var stored = await StoredMessageIdsAsync(postgres.ConnectionString!, cancellationToken);
            var acknowledged = users.SelectMany(user => user.Acknowledged).ToList();
            var sent = users.SelectMany(user => user.Sent).ToHashSet();
            Assert.NotEmpty(acknowledged);
            Assert.All(acknowledged, id => Assert.Equal(1, stored.GetValueOrDefault(id)));
            Assert.All(stored, pair => Assert.Equal(1, pair.Value));
            Assert.All(stored.Keys, id => Assert.Contains(id, sent));

            // The conversations go on: each user completed turns after the kill, and a survivor serves their history.
            Assert.All(users, user => Assert.Contains(user.Completed, turn => turn.StartedAt >= killedAt));
            foreach (var user in users.Take(6))
            {
                using var client = user.Client(nodes[1 + (user.Index % 2)].BaseAddress);
                var history = await client.GetFromJsonAsync<JsonElement>("/api/companion/history?limit=500", cancellationToken);
                var userTurns = history.GetProperty("turns").EnumerateArray().Count(turn => turn.GetProperty("role").GetString() == "user");
                Assert.Equal(stored.Keys.Count(id => id.StartsWith($"u{user.Index:D2}-", StringComparison.Ordinal)), userTurns);
            }

            // Every companion that talked left a durable consolidation reminder in the cluster database, so its
            // memories are consolidated even if the node that held it is gone.
            await using (var connection = new NpgsqlConnection(postgres.ConnectionString))
            {
                await connection.OpenAsync(cancellationToken);
                await using var reminders = new NpgsqlCommand("SELECT COUNT(DISTINCT grain_id) FROM anima_reminders WHERE name = 'consolidate-memories';", connection);
                Assert.Equal(Users, (long)(await reminders.ExecuteScalarAsync(cancellationToken))!);
            }

            // The honest count is cluster-wide: every user talked within the window, on whichever node.
            using (var survivor = users[1].Client(nodes[1].BaseAddress))
            {
                var presence = await survivor.GetFromJsonAsync<JsonElement>("/api/presence", cancellationToken);
                Assert.Equal(Users, presence.GetProperty("activeConversations").GetInt32());
            }

            // Scaling in: a node stopped with SIGTERM leaves gracefully, and its companions answer on the last node.
            await nodes[2].TerminateAsync(TimeSpan.FromSeconds(30), cancellationToken);
            foreach (var user in users)
            {
                using var client = user.Client(nodes[1].BaseAddress);
                using var request = new HttpRequestMessage(HttpMethod.Post, "/api/companion/messages") { Content = JsonContent.Create(new { text = "still there?", messageId = $"u{user.Index:D2}-after-scale-in" }) };
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                var events = await ServerSentEvents.ReadAllAsync(response, cancellationToken);
                Assert.Equal("complete", events[^1].Data.GetProperty("status").GetString());
            }

            Assert.True(failover <= FailoverTarget, report);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }

            if (Environment.GetEnvironmentVariable("ANIMA_TEST_LOGS") == "1")
            {
                foreach (var log in Directory.EnumerateFiles(root.FullName, "node.log", SearchOption.AllDirectories))
                {
                    TestContext.Current.TestOutputHelper?.WriteLine(log + ":\n" + string.Join('\n', File.ReadLines(log).TakeLast(60)));
                }
            }

            root.Delete(recursive: true);
        }
    }

    private static async Task<string> SignUpAsync(Uri node, string username, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { BaseAddress = node, Timeout = TimeSpan.FromSeconds(30) };
        using var response = await client.PostAsJsonAsync("/api/auth/signup", new { username, password = "correct horse battery", session = "token" }, cancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("token").GetString()!;
    }

    private static async Task<Dictionary<string, int>> StoredMessageIdsAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT COALESCE(message_id, ''), COUNT(*) FROM anima_turns WHERE role = 0 GROUP BY 1;", connection);
        var counts = new Dictionary<string, int>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            counts[reader.GetString(0)] = (int)reader.GetInt64(1);
        }

        return counts;
    }

    /// <summary>One simulated user: sends numbered messages, retrying each on the next node until it is answered.</summary>
    private sealed class LoadUser(int index, string token, int home)
    {
        public int Index { get; } = index;

        public ConcurrentBag<string> Acknowledged { get; } = [];

        public ConcurrentBag<string> Sent { get; } = [];

        public ConcurrentBag<(TimeSpan StartedAt, TimeSpan CompletedAt)> Completed { get; } = [];

        public ConcurrentBag<TimeSpan> Failures { get; } = [];

        public ConcurrentQueue<string> Reasons { get; } = [];

        public HttpClient Client(Uri node)
        {
            var client = new HttpClient { BaseAddress = node, Timeout = TimeSpan.FromSeconds(20) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return client;
        }

        public async Task RunAsync(IReadOnlyList<ClusterNode> nodes, Stopwatch clock, CancellationToken stop)
        {
            var node = home;
            var random = new Random(Index);
            for (var message = 0; !stop.IsCancellationRequested; message++)
            {
                var id = $"u{Index:D2}-m{message:D4}";
                var text = Index % 2 == 0 ? $"Message {message}: today I walked by the river and thought of you." : $"{message}번째 메시지: 오늘 강가를 걸으며 네 생각을 했어.";
                var answered = false;
                while (!answered && !stop.IsCancellationRequested)
                {
                    var startedAt = clock.Elapsed;
                    Sent.Add(id);
                    try
                    {
                        answered = await SendAsync(nodes[node].BaseAddress, id, text, stop);
                    }
                    catch (Exception exception) when (exception is HttpRequestException or IOException or OperationCanceledException or JsonException)
                    {
                        // The node went away, the stream broke, or the load is over.
                        answered = false;
                        Reasons.Enqueue($"{clock.Elapsed.TotalSeconds:F1}s node {node}: {exception.GetType().Name} {exception.Message}");
                    }

                    if (answered)
                    {
                        Completed.Add((startedAt, clock.Elapsed));
                    }
                    else if (!stop.IsCancellationRequested)
                    {
                        Failures.Add(clock.Elapsed);
                        node = (node + 1) % nodes.Count;
                        await Task.Delay(100, CancellationToken.None);
                    }
                }

                await Task.Delay(random.Next(100, 400), CancellationToken.None);
            }
        }

        private async Task<bool> SendAsync(Uri node, string id, string text, CancellationToken stop)
        {
            using var client = Client(node);
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/companion/messages") { Content = JsonContent.Create(new { text, messageId = id }) };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                Reasons.Enqueue($"{node}: HTTP {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(stop)}");
                return false;
            }

            var done = false;
            await foreach (var (name, data) in ServerSentEvents.ReadAsync(response, stop))
            {
                if (name == "accepted")
                {
                    Acknowledged.Add(id);
                }
                else if (name == "done")
                {
                    done = data.GetProperty("status").GetString() == "complete";
                }
                else if (name == "error")
                {
                    Reasons.Enqueue($"{node}: error event {data}");
                }
            }

            return done;
        }
    }

    /// <summary>One Anima process in cluster mode on loopback (its own HTTP, silo and gateway ports).</summary>
    private sealed class ClusterNode : IAsyncDisposable
    {
        private readonly Process _process;

        private ClusterNode(Process process, Uri baseAddress)
        {
            _process = process;
            BaseAddress = baseAddress;
        }

        public Uri BaseAddress { get; }

        public static ClusterNode Start(int index, string directory, string postgres, string mindEndpoint)
        {
            Directory.CreateDirectory(directory);
            var http = FreePort();
            var start = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = directory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Anima.Server.dll"));
            start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{http}";
            start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
            start.Environment["Anima__DataDirectory"] = directory;
            start.Environment["Anima__SiloPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
            start.Environment["Anima__GatewayPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
            start.Environment["Anima__Cluster__Postgres"] = postgres;
            start.Environment["Anima__Cluster__ClusterId"] = "test";
            start.Environment["Anima__Mind__Provider"] = "openai";
            start.Environment["Anima__Mind__Endpoint"] = mindEndpoint;
            start.Environment["Anima__Mind__Model"] = "scripted";
            start.Environment["Logging__LogLevel__Default"] = "Warning";
            start.Environment["Logging__LogLevel__Orleans"] = "Warning";
            var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start node " + index);
            var log = new StreamWriter(Path.Combine(directory, "node.log")) { AutoFlush = true };
            process.OutputDataReceived += (_, line) => { lock (log) { log.WriteLine(line.Data); } };
            process.ErrorDataReceived += (_, line) => { lock (log) { log.WriteLine(line.Data); } };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return new ClusterNode(process, new Uri($"http://127.0.0.1:{http}/"));
        }

        public async Task WaitUntilHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < timeout)
            {
                Assert.False(_process.HasExited, $"Node {BaseAddress} exited with code {(_process.HasExited ? _process.ExitCode : 0)} while starting.");
                try
                {
                    using var response = await client.GetAsync("/api/health", cancellationToken);
                    if (response.IsSuccessStatusCode)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                }
                catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                }

                await Task.Delay(250, cancellationToken);
            }

            Assert.Fail($"Node {BaseAddress} did not become healthy within {timeout}.");
        }

        /// <summary>SIGTERM: the node shuts down gracefully and leaves the cluster.</summary>
        public async Task TerminateAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            using (var signal = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await signal.WaitForExitAsync(cancellationToken);
            }

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            await _process.WaitForExitAsync(deadline.Token);
            Assert.Equal(0, _process.ExitCode);
        }

        /// <summary>SIGKILL: no shutdown, no goodbye to the cluster.</summary>
        public void Kill() => _process.Kill(entireProcessTree: true);

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync();
            _process.Dispose();
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
