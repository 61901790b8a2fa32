namespace Anima.Perception.Tests;

public sealed class LanguageDetectorTests
{
    [Theory]
    [InlineData(10, 0, 0, 0, 0, 0, "ko")]
    [InlineData(0, 20, 0, 0, 4, 4, "en")]
    [InlineData(0, 20, 0, 0, 4, 1, "unknown")]
    [InlineData(0, 8, 0, 0, 2, 0, "en")]
    [InlineData(10, 10, 0, 0, 2, 2, "mixed")]
    [InlineData(20, 2, 0, 0, 1, 1, "ko")]
    [InlineData(0, 0, 12, 0, 0, 0, "unknown")]
    [InlineData(5, 5, 10, 0, 1, 1, "unknown")]
    [InlineData(0, 0, 0, 3, 0, 0, "emoji")]
    [InlineData(0, 0, 0, 0, 0, 0, "unknown")]
    public void Detect_ScriptCounts_Language(int hangul, int latin, int other, int emoji, int latinWords, int known, string expected)
    {
        Assert.Equal(expected, LanguageDetector.Detect(new ScriptCounts(hangul, latin, other, emoji, latinWords, known)));
    }

    [Fact]
    public void Detect_WithoutVocabularyCheck_LatinIsEnglish()
    {
        Assert.Equal("en", LanguageDetector.Detect(new ScriptCounts(0, 20, 0, 0, 5, 0), checkVocabulary: false));
    }
}
