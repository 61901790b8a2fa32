namespace Anima.Perception.Tests;

public sealed class SmokeTests
{
    [Fact]
    public void Add_TwoNumbers_Sum() => Assert.Equal(4, 2 + 2);
}
