using Anima.Memory.Recall;

namespace Anima.Memory.Tests;

public sealed class VectorMathTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(16)]
    [InlineData(384)]
    [InlineData(1537)]
    public void Cosine_RandomVectors_MatchesReference(int dimensions)
    {
        var random = new Random(dimensions);
        for (var trial = 0; trial < 20; trial++)
        {
            var left = Enumerable.Range(0, dimensions).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var right = Enumerable.Range(0, dimensions).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();

            Assert.True(Math.Abs(VectorMath.Cosine(left, right) - VectorMath.CosineReference(left, right)) < 1e-5);
        }
    }

    [Fact]
    public void Cosine_KnownValues_AreExact()
    {
        Assert.Equal(1, VectorMath.Cosine([1f, 2f, 3f], [2f, 4f, 6f]), 6);
        Assert.Equal(-1, VectorMath.Cosine([1f, 0f], [-3f, 0f]), 6);
        Assert.Equal(0, VectorMath.Cosine([1f, 0f], [0f, 5f]), 6);
        Assert.Equal(0, VectorMath.Cosine([0f, 0f], [1f, 1f]));
    }

    [Fact]
    public void Cosine_DifferentLengths_Throws() =>
        Assert.Throws<ArgumentException>(() => VectorMath.Cosine([1f], [1f, 2f]));
}
