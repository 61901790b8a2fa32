using Anima.Testing;

namespace Anima.Perception.Tests;

/// <summary>Behaviour of the committed model (embedded in Anima.Perception).</summary>
public sealed class EmotionModelTests
{
    private static EmotionModel Model => EmotionModel.Default;

    [Fact]
    public void Perceive_HappyForYou_JoyfulLabelOnTopAndPositiveValence()
    {
        var reading = Model.Perceive("I'm so happy for you!");

        Assert.Equal(EmotionReading.English, reading.Language);
        Assert.Contains(reading.TopLabel, new[] { "joy", "admiration", "excitement", "love" });
        Assert.True(reading.ProbabilityOf("joy") + reading.ProbabilityOf("admiration") + reading.ProbabilityOf("excitement") > 0.4f);
        Assert.True(reading.Valence > 0.3f, $"valence {reading.Valence}");
    }

    [Fact]
    public void Perceive_KoreanSad_SadnessOnTopAndNegativeValence()
    {
        var reading = Model.Perceive("너무 슬퍼요");

        Assert.Equal(EmotionReading.Korean, reading.Language);
        Assert.Equal("sadness", reading.TopLabel);
        Assert.Contains("sadness", reading.Labels);
        Assert.True(reading.Valence < 0f, $"valence {reading.Valence}");
    }

    [Theory]
    [InlineData("Thank you so much, this really helped!", "gratitude")]
    [InlineData("정말 고마워요", "gratitude")]
    [InlineData("I'm really scared about the surgery tomorrow", "fear")]
    [InlineData("I'm so sorry, that was my fault", "remorse")]
    public void Perceive_ClearEmotion_ExpectedLabelOnTop(string text, string expected)
    {
        var reading = Model.Perceive(text);

        Assert.Equal(expected, reading.TopLabel);
        Assert.Contains(expected, reading.Labels);
    }

    [Theory]
    [InlineData("This is the worst day, I hate everything about it")]
    [InlineData("짜증나 진짜 최악이야")]
    [InlineData("I'm exhausted and lonely")]
    public void Perceive_NegativeText_NegativeValence(string text)
    {
        Assert.True(Model.Perceive(text).Valence < 0f);
    }

    [Theory]
    [InlineData("This is wonderful, I love it!")]
    [InlineData("와 대박 너무 신나!")]
    public void Perceive_PositiveText_PositiveValence(string text)
    {
        Assert.True(Model.Perceive(text).Valence > 0f);
    }

    [Fact]
    public void Perceive_AnyText_TwentyEightProbabilitiesThatSumToOneAndAffectInRange()
    {
        var reading = Model.Perceive("Well, that went better than I expected.");

        Assert.Equal(EmotionTaxonomy.LabelCount, reading.Probabilities.Count);
        Assert.Equal(1f, reading.Probabilities.Sum(), 3);
        Assert.InRange(reading.Valence, -1f, 1f);
        Assert.InRange(reading.Arousal, 0f, 1f);
        Assert.NotEmpty(reading.Labels);
        Assert.All(reading.Labels, label => Assert.Contains(label, EmotionTaxonomy.Labels));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \t\n ")]
    [InlineData("#$%^&*()")]
    [InlineData("12345 678")]
    [InlineData("今日はとても嬉しいです")]
    [InlineData("我今天非常高兴")]
    [InlineData("Я сегодня очень счастлив")]
    [InlineData("أنا سعيد جدا اليوم")]
    [InlineData("Je suis très heureux aujourd'hui avec mes amis")]
    [InlineData("Estoy muy feliz hoy con mis amigos")]
    [InlineData("Ich bin heute sehr glücklich mit meinen Freunden")]
    public void Perceive_EmptyOrOtherLanguage_Unknown(string text)
    {
        var reading = Model.Perceive(text);

        Assert.True(reading.IsUnknown);
        Assert.Equal(EmotionReading.UnknownLanguage, reading.Language);
        Assert.Empty(reading.Labels);
        Assert.Null(reading.TopLabel);
        Assert.Equal(0f, reading.Valence);
    }

    [Fact]
    public void Perceive_Null_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => Model.Perceive(null!));
    }

    [Fact]
    public void Perceive_LaughingEmojiOnly_EmojiReadingWithAmusement()
    {
        var reading = Model.Perceive("😂😂😂");

        Assert.Equal(EmotionReading.EmojiOnly, reading.Language);
        Assert.False(reading.IsUnknown);
        Assert.Equal("amusement", reading.TopLabel);
        Assert.True(reading.Valence > 0f);
    }

    [Fact]
    public void Perceive_MixedKoreanAndEnglish_MixedAndRead()
    {
        var reading = Model.Perceive("오늘 진짜 happy 해요, best day ever");

        Assert.Equal(EmotionReading.Mixed, reading.Language);
        Assert.False(reading.IsUnknown);
        Assert.True(reading.Valence > 0f);
    }

    [Fact]
    public void Perceive_SixteenThousandCharacters_ReadsWholeMessage()
    {
        var text = string.Concat(Enumerable.Repeat("Thank you so much, this really helped! ", 500))[..16_000];

        var reading = Model.Perceive(text);

        Assert.Equal(EmotionReading.English, reading.Language);
        Assert.Equal("gratitude", reading.TopLabel);
        Assert.All(reading.Probabilities, probability => Assert.True(float.IsFinite(probability)));
    }

    [Fact]
    public void Perceive_ManyThreadsAtOnce_SameReadingsAsOneThread()
    {
        string[] texts = ["I'm so happy for you!", "너무 슬퍼요", "What do you mean?", "This is disgusting.", "고마워 정말", "😂"];
        var expected = texts.Select(text => Model.Perceive(text).Probabilities.ToArray()).ToArray();
        var results = new float[texts.Length * 50][];

        Parallel.For(0, results.Length, index => results[index] = Model.Perceive(texts[index % texts.Length]).Probabilities.ToArray());

        for (var index = 0; index < results.Length; index++)
        {
            Assert.Equal(expected[index % texts.Length], results[index]);
        }
    }

    [Fact]
    public void Save_CommittedModel_WritesTheSameBytes()
    {
        using var embedded = typeof(EmotionModel).Assembly.GetManifestResourceStream(EmotionModel.EmbeddedResourceName)!;
        using var original = new MemoryStream();
        embedded.CopyTo(original);
        using var saved = new MemoryStream();

        Model.Save(saved);

        Assert.Equal(original.ToArray(), saved.ToArray());
    }

    [Fact]
    public void Load_TruncatedModel_ThrowsInvalidData()
    {
        using var saved = new MemoryStream();
        Model.Save(saved);
        using var truncated = new MemoryStream(saved.ToArray()[..(int)(saved.Length / 2)]);

        var exception = Assert.Throws<InvalidDataException>(() => EmotionModel.Load(truncated));
        Assert.Contains("truncated", exception.Message);
    }

    [Fact]
    public void Load_NotAModel_ThrowsInvalidData()
    {
        using var stream = new MemoryStream("text\t27\tid\n"u8.ToArray());

        var exception = Assert.Throws<InvalidDataException>(() => EmotionModel.Load(stream));
        Assert.Contains("magic", exception.Message);
    }

    [Fact]
    public void Load_MissingFile_ThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => EmotionModel.Load(Path.Combine(Path.GetTempPath(), "no-such-emotion-model.bin")));
    }

    [Fact]
    public void Evaluate_GoEmotionsDev_MacroF1AtLeastHalf()
    {
        var directory = SharedData.RequireDirectory("goemotions");
        var (format, examples) = EmotionDataset.ReadFile(Path.Combine(directory, "dev.tsv"));

        var report = Training.EmotionTrainer.Evaluate(Model, examples, format);

        Assert.Equal(EmotionDataFormat.GoEmotions, format);
        Assert.Equal(5426, report.ExampleCount);
        Assert.True(report.MacroF1 >= 0.50, $"GoEmotions dev macro-F1 {report.MacroF1:0.0000}");
    }
}
