using Anima.Memory.Text;

namespace Anima.Memory.Tests;

public sealed class MemoryTextAnalyzerTests
{
    [Theory]
    [InlineData("인터뷰는", "인터뷰")]
    [InlineData("인터뷰가", "인터뷰")]
    [InlineData("인터뷰를", "인터뷰")]
    [InlineData("부산으로", "부산")]
    [InlineData("서울에서는", "서울")]
    [InlineData("이사했어요", "이사")]
    [InlineData("아이", "아이")]
    [InlineData("고양이가", "고양이")]
    public void KoreanStem_WordWithParticleOrEnding_StripsIt(string word, string stem) =>
        Assert.Equal(stem, MemoryTextAnalyzer.KoreanStem(word));

    [Theory]
    [InlineData("interviews", "interview")]
    [InlineData("interviewed", "interview")]
    [InlineData("interviewing", "interview")]
    [InlineData("running", "run")]
    [InlineData("stories", "story")]
    [InlineData("boxes", "box")]
    [InlineData("hikes", "hik")]
    [InlineData("hiking", "hik")]
    [InlineData("painting", "paint")]
    public void StemEnglish_InflectedForms_MeetTheirBase(string word, string stem) =>
        Assert.Equal(stem, MemoryTextAnalyzer.StemEnglish(word));

    [Theory]
    [InlineData("went", "go")]
    [InlineData("made", "make")]
    [InlineData("bought", "buying")]
    [InlineData("kids", "children")]
    [InlineData("mom", "mother")]
    [InlineData("pics", "photos")]
    public void Analyze_IrregularFormsAndSynonyms_MeetOneTerm(string word, string other) =>
        Assert.Equal(MemoryTextAnalyzer.Analyze(word), MemoryTextAnalyzer.Analyze(other));

    [Fact]
    public void Analyze_KoreanShortForm_AddsTheFullWord()
    {
        Assert.Contains("어머니", MemoryTextAnalyzer.Analyze("엄마랑 통화했어"));
        Assert.Contains("아이", MemoryTextAnalyzer.Analyze("애들이 좋아했어"));
    }

    [Fact]
    public void Analyze_MixedScriptsAndStopWords_SplitsAndDrops()
    {
        var terms = MemoryTextAnalyzer.Analyze("What did I say about LGBTQ모임 in 2023?");

        Assert.Equal(["say", "lgbtq", "모임", "2023"], terms);
    }

    [Fact]
    public void Analyze_FullWidthAndCase_Normalized() =>
        Assert.Equal(MemoryTextAnalyzer.Analyze("Ｂｕｓａｎ"), MemoryTextAnalyzer.Analyze("busan"));

    [Fact]
    public void Analyze_KoreanCompound_GivesStemAndBigrams()
    {
        var terms = MemoryTextAnalyzer.Analyze("면접준비를");

        Assert.Equal(["면접준비를", "면접준비", "면접", "접준", "준비"], terms);
    }

    [Fact]
    public void Analyze_IndexMode_KeepsRepeatsForTermFrequency()
    {
        Assert.Equal(["paint", "paint"], MemoryTextAnalyzer.Analyze("painting painting", distinct: false));
        Assert.Equal(["paint"], MemoryTextAnalyzer.Analyze("painting painting"));
    }

    [Fact]
    public void Analyze_HugeToken_IsCut() =>
        Assert.Equal(MemoryTextAnalyzer.MaxTermLength, MemoryTextAnalyzer.Analyze(new string('z', 500)).Single().Length);

    [Fact]
    public void Analyze_QuerySyntaxCharacters_NeverReachTerms()
    {
        var terms = MemoryTextAnalyzer.Analyze("\"a\" OR b* NEAR(c) ^d {x}: 'e' --");

        Assert.All(terms, term => Assert.True(term.All(char.IsLetterOrDigit), term));
    }
}
