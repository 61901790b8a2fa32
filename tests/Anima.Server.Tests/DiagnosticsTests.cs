using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Anima.Core.Diagnostics;
using Anima.Testing;

namespace Anima.Server.Tests;

/// <summary>Where a node's time goes: the latency histogram, and the per-stage timings an administrator reads.</summary>
public sealed class DiagnosticsTests
{
    [Fact]
    public void Histogram_PercentilesAreWithinOneBucketOfTheTruth()
    {
        var histogram = new LatencyHistogram();
        for (var microseconds = 1; microseconds <= 100_000; microseconds++)
        {
            histogram.RecordMicroseconds(microseconds);
        }

        var summary = histogram.Summarize();
        Assert.Equal(100_000, summary.Count);
        Assert.InRange(summary.P50, 50.0, 50.0 * 1.07);
        Assert.InRange(summary.P99, 99.0, 99.0 * 1.07);
        Assert.Equal(100.0, summary.Max);
        Assert.Equal(100_000L * 100_001 / 2 / 1000.0, summary.Total, 3);

        histogram.Reset();
        Assert.Equal(0, histogram.Summarize().Count);
        Assert.Equal(0, histogram.PercentileMilliseconds(0.99));
    }

    [Fact]
    public void Histogram_SmallAndHugeValuesKeepTheirOrder()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(TimeSpan.FromMicroseconds(3));
        histogram.Record(TimeSpan.FromHours(1));
        Assert.Equal(0.003, histogram.PercentileMilliseconds(0.5), 6);
        Assert.Equal(3_600_000, histogram.PercentileMilliseconds(1), 0);
    }

    [Fact]
    public async Task Histogram_ManyThreadsRecordingLoseNothing()
    {
        var histogram = new LatencyHistogram();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (var index = 0; index < 10_000; index++)
            {
                histogram.RecordMicroseconds(1 + (index % 5000));
            }
        }, TestContext.Current.CancellationToken)));
        Assert.Equal(80_000, histogram.Count);
    }

    [Fact]
    public async Task AdminStats_AfterATurn_ShowWhereItsTimeWentAndReset()
    {
        await using var mind = await ScriptedMindServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        mind.FirstTokenDelay = TimeSpan.FromMilliseconds(150);
        await using var host = new AnimaTestHost(settings: AnimaTestHost.MindSettings(mind, "scripted"));
        await host.StartAsync(TestContext.Current.CancellationToken);
        using var admin = await host.SignUpAsync("operator");
        using var user = await host.SignUpAsync("talker");
        var sent = System.Diagnostics.Stopwatch.StartNew();
        using var response = await user.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/companion/messages") { Content = JsonContent.Create(new { text = "How was your day?" }) }, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        await ServerSentEvents.ReadAllAsync(response, TestContext.Current.CancellationToken);
        var turnMilliseconds = sent.Elapsed.TotalMilliseconds;

        // The turn goes into long-term memory just after "done"; reading the memories waits for that write.
        (await user.GetAsync("/api/memories/?kind=episodic", TestContext.Current.CancellationToken)).EnsureSuccessStatusCode();

        var stats = await admin.GetFromJsonAsync<JsonElement>("/api/admin/stats?reset=true", TestContext.Current.CancellationToken);
        var timings = stats.GetProperty("turnTimings");
        foreach (var stage in new[] { "StoreMessage", "Compose", "MindFirstToken", "StoreReply", "FirstTokenOverhead", "Accepted", "Remember", "TurnOverhead" })
        {
            Assert.Equal(1, timings.GetProperty(stage).GetProperty("count").GetInt64());
        }

        // The mind's own 150 ms is its stage, not the platform's.
        Assert.True(timings.GetProperty("MindFirstToken").GetProperty("p50").GetDouble() >= 140);
        Assert.True(timings.GetProperty("FirstTokenOverhead").GetProperty("max").GetDouble() <= turnMilliseconds - 140);
        Assert.True(timings.GetProperty("TurnOverhead").GetProperty("max").GetDouble() <= turnMilliseconds - 140);
        Assert.True(stats.GetProperty("storageWrites").GetProperty("count").GetInt64() >= 2);

        var after = await admin.GetFromJsonAsync<JsonElement>("/api/admin/stats", TestContext.Current.CancellationToken);
        Assert.Empty(after.GetProperty("turnTimings").EnumerateObject());
        Assert.Equal(HttpStatusCode.Forbidden, (await user.GetAsync("/api/admin/stats", TestContext.Current.CancellationToken)).StatusCode);
    }
}
