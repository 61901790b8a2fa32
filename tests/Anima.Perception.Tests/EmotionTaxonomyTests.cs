namespace Anima.Perception.Tests;

public sealed class EmotionTaxonomyTests
{
    [Fact]
    public void Tables_EveryLabel_HasValenceAndArousalInRange()
    {
        Assert.Equal(EmotionTaxonomy.LabelCount, EmotionTaxonomy.Labels.Count);
        Assert.Equal(EmotionTaxonomy.LabelCount, EmotionTaxonomy.Valence.Count);
        Assert.Equal(EmotionTaxonomy.LabelCount, EmotionTaxonomy.Arousal.Count);
        Assert.All(EmotionTaxonomy.Valence, value => Assert.InRange(value, -1f, 1f));
        Assert.All(EmotionTaxonomy.Arousal, value => Assert.InRange(value, 0f, 1f));
        Assert.Equal("neutral", EmotionTaxonomy.Labels[EmotionTaxonomy.NeutralIndex]);
        Assert.Equal(0f, EmotionTaxonomy.Valence[EmotionTaxonomy.NeutralIndex]);
    }

    [Theory]
    [InlineData("joy", true)]
    [InlineData("gratitude", true)]
    [InlineData("sadness", false)]
    [InlineData("anger", false)]
    public void Valence_SignOfClearEmotions(string label, bool positive)
    {
        var index = EmotionTaxonomy.Labels.ToList().IndexOf(label);

        Assert.Equal(positive, EmotionTaxonomy.Valence[index] > 0);
    }

    [Fact]
    public void MapKoteLabel_EveryLabel_MapsToValidIds()
    {
        Assert.Equal(EmotionTaxonomy.KoteLabelCount, EmotionTaxonomy.KoteLabels.Count);
        for (var label = 0; label < EmotionTaxonomy.KoteLabelCount; label++)
        {
            foreach (var target in EmotionTaxonomy.MapKoteLabel(label))
            {
                Assert.InRange(target, 0, EmotionTaxonomy.LabelCount - 1);
            }
        }
    }

    [Theory]
    [InlineData("없음", "neutral")]
    [InlineData("슬픔", "sadness")]
    [InlineData("고마움", "gratitude")]
    [InlineData("화남/분노", "anger")]
    [InlineData("기쁨", "joy")]
    public void MapKoteLabel_ClearCounterpart_MapsToIt(string kote, string expected)
    {
        var mapped = EmotionTaxonomy.MapKoteLabel(EmotionTaxonomy.KoteLabels.ToList().IndexOf(kote)).ToArray();

        Assert.Contains(EmotionTaxonomy.Labels.ToList().IndexOf(expected), mapped);
    }

    [Fact]
    public void MapKoteLabels_SetWithOverlaps_SortedDistinct()
    {
        // 짜증 (22) and 어이없음 (23) both map to annoyance (3); 슬픔 (5) to sadness (25).
        Assert.Equal([3, 25], EmotionTaxonomy.MapKoteLabels([23, 5, 22]));
    }

    [Fact]
    public void MapKoteLabel_OutOfRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => EmotionTaxonomy.MapKoteLabel(44).ToArray());
    }
}
