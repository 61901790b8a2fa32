using Anima.Llm.Benchmarking;
using Anima.Llm.Gguf;
using Anima.Llm.Kernels;

namespace Anima.Llm.Tests;

public sealed class KernelBenchmarkTests
{
    public static TheoryData<GgmlType> Types() => [.. KernelBenchmark.Types];

    [Theory]
    [MemberData(nameof(Types))]
    public void Run_SmallMatrix_ReadsItAndMatchesTheReference(GgmlType type)
    {
        var columns = QuantizedDot.NeedsSuperBlockScales(type) ? 512 : 320;

        var result = KernelBenchmark.Run(type, columns, 64 << 10, TimeSpan.FromMilliseconds(20), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(type, result.Type);
        Assert.Equal(0, result.MatrixBytes % (4 * GgmlTypeInfo.ByteCount(type, columns)));
        Assert.InRange(result.MatrixBytes, 4 * GgmlTypeInfo.ByteCount(type, columns), 64 << 10);
        Assert.True(result.BytesPerSecond > 0 && result.BytesPerCpuSecond > 0, $"{type}: {result}");
        Assert.InRange(result.MaxRelativeError, 0, 1e-4);
    }

    [Fact]
    public void Run_RowsThatAreNotWholeBlocks_AreRefused()
    {
        Assert.SkipUnless(KernelBenchmark.Types.Contains(GgmlType.Q4_K), "no Q4_K decode kernel on this CPU");

        Assert.Throws<ArgumentOutOfRangeException>(() => KernelBenchmark.Run(GgmlType.Q4_K, 896, 1 << 16, TimeSpan.FromMilliseconds(10), cancellationToken: TestContext.Current.CancellationToken));
        Assert.Throws<NotSupportedException>(() => KernelBenchmark.Run(GgmlType.Q2_K, 256, 1 << 16, TimeSpan.FromMilliseconds(10), cancellationToken: TestContext.Current.CancellationToken));
    }
}
