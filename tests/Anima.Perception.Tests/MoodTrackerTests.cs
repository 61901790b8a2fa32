using System.Text.Json;
using Anima.Perception.Mood;

namespace Anima.Perception.Tests;

public sealed class MoodTrackerTests
{
    private static readonly DateTimeOffset Monday = new(2026, 11, 16, 9, 0, 0, TimeSpan.Zero);
    private readonly MoodTracker _tracker = new();

    private static EmotionReading Reading(float valence, float arousal, float neutral = 0f)
    {
        var probabilities = new float[EmotionTaxonomy.LabelCount];
        probabilities[EmotionTaxonomy.NeutralIndex] = neutral;
        return new EmotionReading(probabilities, [], valence, arousal, EmotionReading.English);
    }

    [Fact]
    public void Update_OneReading_ConversationMoodIsThatReading()
    {
        var state = _tracker.Update(MoodState.Empty, Reading(-0.6f, 0.2f), Monday);

        var current = _tracker.Current(state, Monday);

        Assert.Equal(MoodHorizon.Conversation, current.Horizon);
        Assert.Equal(-0.6f, current.Valence, 5);
        Assert.Equal(0.2f, current.Arousal, 5);
        Assert.Equal(1f, current.Weight, 5);
    }

    [Fact]
    public void Update_ThirtyMinutesApart_EarlierReadingWeighsOneOverE()
    {
        var state = _tracker.Update(MoodState.Empty, Reading(1f, 0.5f), Monday);
        state = _tracker.Update(state, Reading(-1f, 0.5f), Monday.AddMinutes(30));

        // Conversation sums: valence e⁻¹·1 + 1·(−1) over weight e⁻¹ + 1.
        var decay = (float)Math.Exp(-1);
        Assert.Equal((decay - 1) / (decay + 1), state.ConversationValenceSum / state.ConversationWeight, 5);
        Assert.Equal(decay + 1, state.ConversationWeight, 5);
        // Across days the first reading has barely faded: e^(−30 min / 3 days).
        Assert.Equal((float)Math.Exp(-30.0 / (3 * 24 * 60)) + 1, state.LongWeight, 5);
    }

    [Fact]
    public void Current_AfterAQuietDay_FallsBackToRecentMood()
    {
        var state = _tracker.Update(MoodState.Empty, Reading(0.8f, 0.7f), Monday);
        state = _tracker.Update(state, Reading(0.6f, 0.7f), Monday.AddMinutes(5));

        var later = _tracker.Current(state, Monday.AddDays(1));

        Assert.Equal(MoodHorizon.Recent, later.Horizon);
        Assert.Equal(0.7f, later.Valence, 2);
        Assert.Equal((float)((Math.Exp(-5.0 / 4320) + 1) * Math.Exp(-1435.0 / 4320)), later.Weight, 4);
    }

    [Fact]
    public void Current_AfterThreeWeeksOfSilence_None()
    {
        var state = _tracker.Update(MoodState.Empty, Reading(0.8f, 0.7f), Monday);

        Assert.Equal(MoodHorizon.None, _tracker.Current(state, Monday.AddDays(21)).Horizon);
        Assert.Null(_tracker.Describe(state, Monday.AddDays(21)));
    }

    [Fact]
    public void Update_UnknownReading_StateUnchanged()
    {
        var state = _tracker.Update(MoodState.Empty, Reading(0.5f, 0.5f), Monday);

        Assert.Same(state, _tracker.Update(state, EmotionReading.Unknown, Monday.AddMinutes(1)));
    }

    [Fact]
    public void Update_NeutralReading_WeighsAQuarter()
    {
        var state = _tracker.Update(MoodState.Empty, Reading(0f, 0.3f, neutral: 1f), Monday);

        Assert.Equal(0.25f, state.ConversationWeight, 5);
    }

    [Fact]
    public void Update_ReadingOlderThanState_NoBackwardDecay()
    {
        var state = _tracker.Update(MoodState.Empty, Reading(0.5f, 0.5f), Monday);
        state = _tracker.Update(state, Reading(0.5f, 0.5f), Monday.AddHours(-2));

        Assert.Equal(2f, state.ConversationWeight, 5);
        Assert.Equal(Monday, state.UpdatedAt);
    }

    [Fact]
    public void Describe_DownAndTiredTodayAfterUpbeatWeek_MentionsBoth()
    {
        var state = MoodState.Empty;
        for (var day = 0; day < 3; day++)
        {
            state = _tracker.Update(state, Reading(0.8f, 0.55f), Monday.AddDays(day));
        }

        var friday = Monday.AddDays(4);
        state = _tracker.Update(state, Reading(-0.4f, 0.25f), friday);
        state = _tracker.Update(state, Reading(-0.3f, 0.25f), friday.AddMinutes(2));

        Assert.Equal("They seem a bit down and tired right now; earlier this week they were upbeat.", _tracker.Describe(state, friday.AddMinutes(3)));
        Assert.Equal("지금은 조금 가라앉고 지쳐 보여요. 이번 주 초에는 밝았어요.", _tracker.Describe(state, friday.AddMinutes(3), "ko"));
    }

    [Fact]
    public void Describe_SteadyWeek_NoComparison()
    {
        var state = _tracker.Update(MoodState.Empty, Reading(0.3f, 0.5f), Monday);
        state = _tracker.Update(state, Reading(0.3f, 0.5f), Monday.AddDays(1));
        state = _tracker.Update(state, Reading(0.3f, 0.5f), Monday.AddDays(1).AddMinutes(1));

        Assert.Equal("They seem in good spirits right now.", _tracker.Describe(state, Monday.AddDays(1).AddMinutes(2)));
        Assert.Equal("지금은 기분이 괜찮아 보여요.", _tracker.Describe(state, Monday.AddDays(1).AddMinutes(2), "ko"));
    }

    [Fact]
    public void Describe_NextDayWithoutNewMessages_SpeaksOfLately()
    {
        var state = _tracker.Update(MoodState.Empty, Reading(0.7f, 0.8f), Monday);
        state = _tracker.Update(state, Reading(0.7f, 0.8f), Monday.AddMinutes(1));

        Assert.Equal("They seem upbeat and excited lately.", _tracker.Describe(state, Monday.AddHours(20)));
        Assert.Equal("요즘은 밝고 들떠 보여요.", _tracker.Describe(state, Monday.AddHours(20), "ko"));
    }

    [Fact]
    public void Describe_OtherLanguage_Throws()
    {
        Assert.Throws<ArgumentException>(() => _tracker.Describe(MoodState.Empty, Monday, "fr"));
    }

    [Fact]
    public void Update_ManyDays_KeepsOnlyRecentDaysInOrder()
    {
        var state = MoodState.Empty;
        for (var day = 0; day < 30; day++)
        {
            state = _tracker.Update(state, Reading(0.1f, 0.4f), Monday.AddDays(day));
        }

        Assert.Equal(14, state.Days.Count);
        Assert.Equal(DateOnly.FromDateTime(Monday.AddDays(29).DateTime), state.Days[^1].Day);
        Assert.Equal(state.Days.OrderBy(day => day.Day).ToList(), state.Days);
    }

    [Fact]
    public void Update_SameDay_AveragesIntoOneDailyEntry()
    {
        var state = _tracker.Update(MoodState.Empty, Reading(1f, 0.2f), Monday);
        state = _tracker.Update(state, Reading(0f, 0.6f), Monday.AddHours(3));

        var day = Assert.Single(state.Days);
        Assert.Equal(0.5f, day.Valence, 5);
        Assert.Equal(0.4f, day.Arousal, 5);
        Assert.Equal(2, day.Count);
    }

    [Fact]
    public void MoodState_JsonRoundTrip_Equivalent()
    {
        var state = _tracker.Update(MoodState.Empty, Reading(0.4f, 0.6f), Monday);
        state = _tracker.Update(state, Reading(-0.2f, 0.3f), Monday.AddDays(2));

        var restored = JsonSerializer.Deserialize<MoodState>(JsonSerializer.Serialize(state))!;

        Assert.Equal(state.ConversationValenceSum, restored.ConversationValenceSum);
        Assert.Equal(state.LongWeight, restored.LongWeight);
        Assert.Equal(state.UpdatedAt, restored.UpdatedAt);
        Assert.Equal(state.Days, restored.Days);
        Assert.Equal(_tracker.Describe(state, Monday.AddDays(2)), _tracker.Describe(restored, Monday.AddDays(2)));
    }

    [Fact]
    public void Update_NotFinite_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _tracker.Update(MoodState.Empty, float.NaN, 0.5f, 1f, Monday));
    }

    [Fact]
    public void Constructor_LongConstantShorterThanConversation_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MoodTracker(new MoodTrackerOptions { LongTimeConstant = TimeSpan.FromMinutes(1) }));
    }

    [Fact]
    public void Timeline_UnorderedReadingsWithUnknown_OnePointPerReadableMessageInTimeOrder()
    {
        (DateTimeOffset, EmotionReading)[] readings =
        [
            (Monday.AddMinutes(2), Reading(-0.5f, 0.3f)),
            (Monday, Reading(0.5f, 0.3f)),
            (Monday.AddMinutes(1), EmotionReading.Unknown),
        ];

        var (points, state) = _tracker.Timeline(readings);

        Assert.Equal(2, points.Count);
        Assert.Equal(Monday, points[0].At);
        Assert.Equal(0.5f, points[0].Valence, 5);
        Assert.Equal(MoodHorizon.Conversation, points[0].Horizon);
        Assert.Equal(MoodHorizon.Conversation, points[1].Horizon);
        var decay = (float)Math.Exp(-2.0 / 30);
        Assert.Equal(((0.5f * decay) - 0.5f) / (decay + 1), points[1].Valence, 5);
        Assert.Equal(Monday.AddMinutes(2), state.UpdatedAt);
    }
}
