using Anima.Memory.Recall;

namespace Anima.Memory.Tests;

public sealed class MemoryWarmupTests
{
    [Fact]
    public async Task Run_RecallsOnAThrowawayStore_AndLeavesNoFileBehind()
    {
        static string[] Leftovers() => Directory.GetFiles(Path.GetTempPath(), "anima-memory-warmup-*");
        var before = Leftovers();

        var took = await MemoryWarmup.RunAsync(20, TestContext.Current.CancellationToken);

        Assert.True(took > TimeSpan.Zero);
        Assert.Empty(Leftovers().Except(before));
        Assert.Equal(TimeSpan.Zero, await MemoryWarmup.RunAsync(0, TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => MemoryWarmup.RunAsync(-1, TestContext.Current.CancellationToken));
    }
}
