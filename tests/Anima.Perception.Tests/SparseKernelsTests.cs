namespace Anima.Perception.Tests;

public sealed class SparseKernelsTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(37)]
    [InlineData(2000)]
    public void Accumulate_RandomRows_MatchesReference(int featureCount)
    {
        const int buckets = 4096;
        var random = new Random(featureCount + 17);
        var weights = new float[buckets * SparseKernels.Stride];
        for (var index = 0; index < weights.Length; index++)
        {
            weights[index] = (float)((random.NextDouble() * 2) - 1);
        }

        var indices = new int[featureCount];
        var values = new float[featureCount];
        for (var feature = 0; feature < featureCount; feature++)
        {
            indices[feature] = random.Next(buckets);
            values[feature] = (float)random.NextDouble();
        }

        var reference = new float[SparseKernels.Stride];
        var optimized = new float[SparseKernels.Stride];
        for (var head = 0; head < SparseKernels.Stride; head++)
        {
            reference[head] = optimized[head] = head * 0.5f;
        }

        SparseKernels.AccumulateReference(weights, indices, values, reference);
        SparseKernels.Accumulate(weights, indices, values, optimized);

        var maximumDifference = reference.Zip(optimized, (left, right) => Math.Abs(left - right)).Max();
        Assert.True(maximumDifference < 1e-3f, $"max abs diff {maximumDifference}");
    }

    [Fact]
    public void Accumulate_IndexOutsideMatrix_Throws()
    {
        var weights = new float[4 * SparseKernels.Stride];
        var output = new float[SparseKernels.Stride];

        Assert.ThrowsAny<ArgumentOutOfRangeException>(() => SparseKernels.Accumulate(weights, [4], [1f], output));
    }
}
