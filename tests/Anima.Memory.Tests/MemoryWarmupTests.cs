using Anima.Memory.Recall;

namespace Anima.Memory.Tests;

public sealed class MemoryWarmupTests
{
    [Fact]
    public async Task Run_RecallsOnAThrowawayStore_AndLeavesNoFileBehind()
    {
        // A directory of its own: servers started by other test processes warm up in the shared temp directory at
        // the same time, so a before/after listing of that directory would see their files.
        var directory = Directory.CreateTempSubdirectory("anima-warmup-test-").FullName;
        try
        {
            var took = await MemoryWarmup.RunAsync(20, directory, TestContext.Current.CancellationToken);

            Assert.True(took > TimeSpan.Zero);
            Assert.Empty(Directory.GetFileSystemEntries(directory));
            Assert.Equal(TimeSpan.Zero, await MemoryWarmup.RunAsync(0, TestContext.Current.CancellationToken));
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => MemoryWarmup.RunAsync(-1, TestContext.Current.CancellationToken));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
