namespace Anima.Perception.Tests;

public sealed class TextFeaturizerTests
{
    private static readonly TextFeaturizer Featurizer = new(new FeaturizerOptions());

    private static (int[] Indices, float[] Values, ScriptCounts Scripts) Extract(string text)
    {
        var buffer = new FeatureBuffer();
        Featurizer.Extract(text, buffer);
        return (buffer.FeatureIndices.ToArray(), buffer.FeatureValues.ToArray(), buffer.Scripts);
    }

    [Fact]
    public void Extract_SameText_SameFeaturesEveryTime()
    {
        var first = Extract("I can't believe it!! 정말 대박 😂");
        var second = Extract("I can't believe it!! 정말 대박 😂");

        Assert.Equal(first.Indices, second.Indices);
        Assert.Equal(first.Values, second.Values);
    }

    [Fact]
    public void Extract_AnyText_SortedDistinctIndicesAndUnitNormPerGroup()
    {
        var (indices, values, _) = Extract("What a lovely, lovely day it is today");

        Assert.Equal(indices.Order().Distinct(), indices);
        Assert.All(indices, index => Assert.InRange(index, 0, new FeaturizerOptions().BucketCount - 1));
        // Two groups, each of norm 1 (collisions between them aside): the whole vector has norm close to √2.
        var norm = Math.Sqrt(values.Sum(value => (double)value * value));
        Assert.InRange(norm, 1.3, 1.5);
    }

    [Fact]
    public void Extract_CaseAndWidth_NormalizedAway()
    {
        Assert.Equal(Extract("HELLO there").Indices, Extract("hello there").Indices);
        Assert.Equal(Extract("ｈｅｌｌｏ there").Indices, Extract("hello there").Indices);
    }

    [Fact]
    public void Extract_MixedScripts_CountsLettersByScript()
    {
        var scripts = Extract("오늘 happy 😂 Привет").Scripts;

        Assert.Equal(2, scripts.Hangul);
        Assert.Equal(5, scripts.Latin);
        Assert.Equal(6, scripts.OtherLetters);
        Assert.Equal(1, scripts.Emoji);
    }

    [Fact]
    public void Extract_EmojiWithSkinToneAndVariationSelector_SameAsPlainEmoji()
    {
        Assert.Equal(Extract("👍").Indices, Extract("👍🏽").Indices);
        Assert.Equal(Extract("❤").Indices, Extract("❤️").Indices);
    }

    [Fact]
    public void Extract_OnlyWhitespace_NoFeatures()
    {
        Assert.Empty(Extract(" \t\r\n ").Indices);
    }

    [Fact]
    public void Extract_LongUnbrokenToken_Bounded()
    {
        var (indices, _, _) = Extract(new string('a', 16_000));

        Assert.NotEmpty(indices);
        Assert.True(indices.Length < 300);
    }

    [Fact]
    public void Constructor_InvalidOptions_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TextFeaturizer(new FeaturizerOptions { BucketBits = 30 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TextFeaturizer(new FeaturizerOptions { CharacterMinimum = 4, CharacterMaximum = 2 }));
    }
}
