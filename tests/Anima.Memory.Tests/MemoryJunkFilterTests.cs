using Anima.Memory.Consolidation;

namespace Anima.Memory.Tests;

public sealed class MemoryJunkFilterTests
{
    [Theory]
    [InlineData("Hey!", JunkReason.Pleasantry)]
    [InlineData("thanks so much :)", JunkReason.Pleasantry)]
    [InlineData("ㅋㅋㅋㅋ", JunkReason.Pleasantry)]
    [InlineData("고마워요~", JunkReason.Pleasantry)]
    [InlineData("The user asked about the weather", JunkReason.MetaTalk)]
    [InlineData("Busy", JunkReason.TooShort)]
    [InlineData("Her sister Minji lives in Daejeon", JunkReason.None)]
    [InlineData("다음 주에 부산으로 이사해요", JunkReason.None)]
    public void Classify_Examples_GiveExpectedReason(string text, JunkReason expected) =>
        Assert.Equal(expected, MemoryJunkFilter.Classify(text));

    [Fact]
    public void Similarity_SameFactDifferentParticlesAndPunctuation_IsHigh()
    {
        Assert.Equal(1.0, MemoryJunkFilter.Similarity("민지는 대전에 살아", "민지가 대전에서 살아!"));
        Assert.Equal(1.0, MemoryJunkFilter.Similarity("Her sister Minji lives in Daejeon", "her sister minji lived in Daejeon."));
    }

    [Fact]
    public void Similarity_MoreSpecificFact_IsNotADuplicate() =>
        Assert.True(MemoryJunkFilter.Similarity("Lives in Busan", "Lives in Busan with her sister Minji and two cats") < MemoryJunkFilter.DefaultDuplicateThreshold);
}
