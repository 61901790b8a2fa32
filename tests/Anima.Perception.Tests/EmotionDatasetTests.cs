namespace Anima.Perception.Tests;

public sealed class EmotionDatasetTests
{
    [Fact]
    public void Parse_GoEmotionsLines_TextAndSortedLabels()
    {
        string[] lines = ["I love this!\t18,0\teeabc", "", "Hmm.\t27\teexyz", "번역된 문장\t25"];

        var examples = EmotionDataset.Parse(lines, EmotionDataFormat.GoEmotions);

        Assert.Equal(3, examples.Count);
        Assert.Equal("I love this!", examples[0].Text);
        Assert.Equal([0, 18], examples[0].Labels);
        Assert.Equal([27], examples[1].Labels);
        Assert.Equal([25], examples[2].Labels);
    }

    [Fact]
    public void Parse_KoteLines_TextAndLabels()
    {
        string[] lines = ["5954\t음료가 몇푼이나 한다고..\t0,6,43"];

        var examples = EmotionDataset.Parse(lines, EmotionDataFormat.Kote);

        Assert.Equal("음료가 몇푼이나 한다고..", examples[0].Text);
        Assert.Equal([0, 6, 43], examples[0].Labels);
    }

    [Fact]
    public void DetectFormat_GoEmotionsAndKote_Detected()
    {
        Assert.Equal(EmotionDataFormat.GoEmotions, EmotionDataset.DetectFormat(["My text\t3,4\teeabc", "Other\t27\teedef"]));
        Assert.Equal(EmotionDataFormat.GoEmotions, EmotionDataset.DetectFormat(["번역\t3"]));
        Assert.Equal(EmotionDataFormat.Kote, EmotionDataset.DetectFormat(["5954\t음료가 비싸요\t0,6,10", "26060\t응원합니다\t1,2"]));
    }

    [Fact]
    public void DetectFormat_NeitherFormat_ClearError()
    {
        var exception = Assert.Throws<EmotionDataFormatException>(() => EmotionDataset.DetectFormat(["just some text", "more text"]));

        Assert.Contains("cannot tell the format", exception.Message);
    }

    [Fact]
    public void DetectFormat_NoDataLines_ClearError()
    {
        Assert.Contains("no data lines", Assert.Throws<EmotionDataFormatException>(() => EmotionDataset.DetectFormat(["", "  "])).Message);
    }

    [Theory]
    [InlineData("only text", EmotionDataFormat.GoEmotions, "line.tsv:1: expected 2 or 3 tab-separated columns")]
    [InlineData("text\tjoy\tid", EmotionDataFormat.GoEmotions, "line.tsv:1: label 'joy' is not a whole number")]
    [InlineData("text\t28\tid", EmotionDataFormat.GoEmotions, "line.tsv:1: label 28 is out of range; this format's labels are 0..27")]
    [InlineData("text\t-1\tid", EmotionDataFormat.GoEmotions, "line.tsv:1: label '-1' is not a whole number")]
    [InlineData("text\t\tid", EmotionDataFormat.GoEmotions, "line.tsv:1: the label list is empty")]
    [InlineData("1\ttext", EmotionDataFormat.Kote, "line.tsv:1: expected 3 tab-separated columns")]
    [InlineData("1\ttext\t44", EmotionDataFormat.Kote, "line.tsv:1: label 44 is out of range; this format's labels are 0..43")]
    [InlineData("1\ttext\t3,,4", EmotionDataFormat.Kote, "line.tsv:1: label '' is not a whole number")]
    public void Parse_MalformedLine_ErrorNamesLineAndProblem(string line, EmotionDataFormat format, string expected)
    {
        var exception = Assert.Throws<EmotionDataFormatException>(() => EmotionDataset.Parse([line], format, "line.tsv"));

        Assert.StartsWith(expected, exception.Message);
    }

    [Fact]
    public void Parse_MalformedThirdLine_ReportsLineThree()
    {
        string[] lines = ["a\t1\tx", "b\t2\ty", "c\tbad\tz"];

        var exception = Assert.Throws<EmotionDataFormatException>(() => EmotionDataset.Parse(lines, EmotionDataFormat.GoEmotions, "f.tsv"));

        Assert.StartsWith("f.tsv:3:", exception.Message);
    }

    [Fact]
    public void ReadFile_KoteFileWithoutFormat_DetectsKote()
    {
        var path = Path.Combine(Path.GetTempPath(), $"kote-{Guid.NewGuid():N}.tsv");
        File.WriteAllLines(path, ["1\t정말 고마워요\t4", "2\t너무 슬퍼요\t5,19"]);
        try
        {
            var (format, examples) = EmotionDataset.ReadFile(path);

            Assert.Equal(EmotionDataFormat.Kote, format);
            Assert.Equal(2, examples.Count);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ReadFile_Missing_FileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => EmotionDataset.ReadFile(Path.Combine(Path.GetTempPath(), "missing-emotions.tsv")));
    }

    [Theory]
    [InlineData("goemotions", EmotionDataFormat.GoEmotions)]
    [InlineData("KOTE", EmotionDataFormat.Kote)]
    public void ParseFormat_KnownName_Format(string name, EmotionDataFormat expected)
    {
        Assert.Equal(expected, EmotionDataset.ParseFormat(name));
    }

    [Fact]
    public void ParseFormat_UnknownName_ClearError()
    {
        Assert.Contains("expected 'goemotions' or 'kote'", Assert.Throws<EmotionDataFormatException>(() => EmotionDataset.ParseFormat("csv")).Message);
    }
}
