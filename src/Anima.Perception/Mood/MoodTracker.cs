using System.Globalization;

namespace Anima.Perception.Mood;

/// <summary>Mean valence and arousal of one calendar day (the date of the readings' own offset).</summary>
public sealed record DailyMood(DateOnly Day, float Valence, float Arousal, float Weight, int Count);

/// <summary>
/// The running mood of one user, small and serializable so the grain can persist it. Two
/// exponentially decaying weighted sums — one for the conversation (minutes), one across days —
/// plus one summary per recent day for "earlier this week" and the page's timeline.
/// </summary>
public sealed record MoodState(
    float ConversationValenceSum,
    float ConversationArousalSum,
    float ConversationWeight,
    float LongValenceSum,
    float LongArousalSum,
    float LongWeight,
    DateTimeOffset? UpdatedAt,
    IReadOnlyList<DailyMood> Days)
{
    public static MoodState Empty { get; } = new(0, 0, 0, 0, 0, 0, null, []);
}

/// <summary>The mood at one moment: means of the decayed sums and how much evidence is behind them (decayed weight).</summary>
public sealed record MoodSnapshot(float Valence, float Arousal, float Weight, MoodHorizon Horizon);

/// <summary>One point of the mood timeline: the smoothed mood just after a message.</summary>
public sealed record MoodPoint(DateTimeOffset At, float Valence, float Arousal, float Weight, MoodHorizon Horizon);

/// <summary>Which smoothing a snapshot comes from.</summary>
public enum MoodHorizon
{
    /// <summary>Too little evidence to say anything.</summary>
    None,

    /// <summary>The current conversation (the last hour or so).</summary>
    Conversation,

    /// <summary>The last few days.</summary>
    Recent,
}

/// <summary>Time constants and thresholds of <see cref="MoodTracker"/>.</summary>
public sealed record MoodTrackerOptions
{
    /// <summary>Conversation smoothing: a reading's weight falls to 1/e after 30 minutes (half-life ≈ 21 minutes).</summary>
    public TimeSpan ConversationTimeConstant { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Across-days smoothing: a reading's weight falls to 1/e after 3 days (half-life ≈ 2.1 days).</summary>
    public TimeSpan LongTimeConstant { get; init; } = TimeSpan.FromDays(3);

    /// <summary>Days kept in <see cref="MoodState.Days"/>.</summary>
    public int DaysKept { get; init; } = 14;

    /// <summary>Decayed weight needed before the conversation mood is described (about two emotional messages in the last half hour).</summary>
    public float MinimumConversationWeight { get; init; } = 1.0f;

    /// <summary>Decayed weight needed before the recent mood is described.</summary>
    public float MinimumLongWeight { get; init; } = 0.5f;

    /// <summary>How far (in valence) earlier days must differ from now to be mentioned.</summary>
    public float NotableValenceChange { get; init; } = 0.3f;

    public void Validate()
    {
        if (ConversationTimeConstant <= TimeSpan.Zero || LongTimeConstant <= ConversationTimeConstant)
        {
            throw new ArgumentOutOfRangeException(nameof(LongTimeConstant), "Time constants must be positive, the long one longer than the conversation one.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(DaysKept, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(MinimumConversationWeight);
        ArgumentOutOfRangeException.ThrowIfNegative(MinimumLongWeight);
    }
}

/// <summary>
/// Keeps a user's mood from timestamped emotion readings and describes it for the prompt in English or Korean.
/// Pure logic: time is always passed in, so the grain uses its TimeProvider and tests use fixed times.
/// </summary>
public sealed class MoodTracker
{
    private readonly MoodTrackerOptions _options;

    public MoodTracker(MoodTrackerOptions? options = null)
    {
        _options = options ?? new MoodTrackerOptions();
        _options.Validate();
    }

    /// <summary>
    /// The weight a reading adds: emotional messages count fully, a plainly neutral one a quarter, so
    /// small talk slowly pulls the mood back toward neutral without erasing it.
    /// </summary>
    public static float ReadingWeight(EmotionReading reading)
    {
        ArgumentNullException.ThrowIfNull(reading);
        if (reading.IsUnknown)
        {
            return 0;
        }

        var neutral = reading.Probabilities[EmotionTaxonomy.NeutralIndex];
        return 0.25f + (0.75f * (1 - neutral));
    }

    /// <summary>
    /// Adds a reading taken at <paramref name="at"/>. Unknown readings change nothing. A reading older
    /// than the state's last update is added without decaying the state backwards.
    /// </summary>
    public MoodState Update(MoodState state, EmotionReading reading, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(reading);
        var weight = ReadingWeight(reading);
        if (weight <= 0)
        {
            return state;
        }

        return Update(state, reading.Valence, reading.Arousal, weight, at);
    }

    /// <summary>Adds a valence (−1..1) and arousal (0..1) observation with the given weight (e.g. from the voice).</summary>
    public MoodState Update(MoodState state, float valence, float arousal, float weight, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!float.IsFinite(valence) || !float.IsFinite(arousal) || !float.IsFinite(weight) || weight < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(weight), "Valence, arousal and weight must be finite, the weight non-negative.");
        }

        valence = Math.Clamp(valence, -1f, 1f);
        arousal = Math.Clamp(arousal, 0f, 1f);
        var elapsed = state.UpdatedAt is { } last && at > last ? at - last : TimeSpan.Zero;
        var conversationDecay = Decay(elapsed, _options.ConversationTimeConstant);
        var longDecay = Decay(elapsed, _options.LongTimeConstant);
        var days = UpdateDays(state.Days, DateOnly.FromDateTime(at.DateTime), valence, arousal, weight);
        return new MoodState(
            (state.ConversationValenceSum * conversationDecay) + (weight * valence),
            (state.ConversationArousalSum * conversationDecay) + (weight * arousal),
            (state.ConversationWeight * conversationDecay) + weight,
            (state.LongValenceSum * longDecay) + (weight * valence),
            (state.LongArousalSum * longDecay) + (weight * arousal),
            (state.LongWeight * longDecay) + weight,
            state.UpdatedAt is { } previous && previous > at ? previous : at,
            days);
    }

    /// <summary>
    /// Replays stored readings (in any order; they are sorted by time) into a timeline for the page's
    /// mood plot: one point per readable message, the smoothed mood just after it. Also returns the final state.
    /// </summary>
    public (IReadOnlyList<MoodPoint> Points, MoodState State) Timeline(IEnumerable<(DateTimeOffset At, EmotionReading Reading)> readings)
    {
        ArgumentNullException.ThrowIfNull(readings);
        var state = MoodState.Empty;
        var points = new List<MoodPoint>();
        foreach (var (at, reading) in readings.OrderBy(item => item.At))
        {
            if (reading.IsUnknown)
            {
                continue;
            }

            state = Update(state, reading, at);
            var current = Current(state, at);
            var snapshot = current.Horizon == MoodHorizon.None
                ? new MoodSnapshot(state.LongValenceSum / state.LongWeight, state.LongArousalSum / state.LongWeight, state.LongWeight, MoodHorizon.Recent)
                : current;
            points.Add(new MoodPoint(at, snapshot.Valence, snapshot.Arousal, snapshot.Weight, snapshot.Horizon));
        }

        return (points, state);
    }

    /// <summary>The conversation mood when there is enough recent evidence, else the mood of the last days, else none.</summary>
    public MoodSnapshot Current(MoodState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        var elapsed = state.UpdatedAt is { } last && now > last ? now - last : TimeSpan.Zero;
        var conversationWeight = state.ConversationWeight * Decay(elapsed, _options.ConversationTimeConstant);
        if (conversationWeight >= _options.MinimumConversationWeight && state.ConversationWeight > 0)
        {
            return new MoodSnapshot(state.ConversationValenceSum / state.ConversationWeight, state.ConversationArousalSum / state.ConversationWeight,
                conversationWeight, MoodHorizon.Conversation);
        }

        var longWeight = state.LongWeight * Decay(elapsed, _options.LongTimeConstant);
        if (longWeight >= _options.MinimumLongWeight && state.LongWeight > 0)
        {
            return new MoodSnapshot(state.LongValenceSum / state.LongWeight, state.LongArousalSum / state.LongWeight, longWeight, MoodHorizon.Recent);
        }

        return new MoodSnapshot(0, 0, 0, MoodHorizon.None);
    }

    /// <summary>
    /// A short description for the prompt in <paramref name="language"/> ("en" or "ko"), e.g. "They seem a bit
    /// down and tired right now; earlier this week they were upbeat." Null when there is too little evidence.
    /// </summary>
    public string? Describe(MoodState state, DateTimeOffset now, string language = EmotionReading.English)
    {
        ArgumentNullException.ThrowIfNull(state);
        var korean = language switch
        {
            EmotionReading.English => false,
            EmotionReading.Korean => true,
            _ => throw new ArgumentException($"Mood descriptions are written in 'en' or 'ko', not '{language}'.", nameof(language)),
        };
        var current = Current(state, now);
        if (current.Horizon == MoodHorizon.None)
        {
            return null;
        }

        var valenceBand = ValenceBand(current.Valence);
        var arousalBand = ArousalBand(current.Arousal);
        var sentence = korean
            ? DescribeKorean(valenceBand, arousalBand, current.Horizon)
            : DescribeEnglish(valenceBand, arousalBand, current.Horizon);

        var today = DateOnly.FromDateTime(now.DateTime);
        var earlier = state.Days.Where(day => day.Day < today && day.Day >= today.AddDays(-7)).ToList();
        var earlierWeight = earlier.Sum(day => day.Weight);
        if (earlierWeight >= _options.MinimumLongWeight)
        {
            var earlierValence = earlier.Sum(day => day.Valence * day.Weight) / earlierWeight;
            var earlierBand = ValenceBand(earlierValence);
            if (Math.Abs(earlierValence - current.Valence) >= _options.NotableValenceChange && earlierBand != valenceBand)
            {
                sentence = korean
                    ? $"{sentence} 이번 주 초에는 {KoreanPast[earlierBand]}."
                    : $"{sentence[..^1]}; earlier this week they were {EnglishValence[earlierBand]}.";
            }
        }

        return sentence;
    }

    /// <summary>0 quite down, 1 a bit down, 2 steady, 3 in good spirits, 4 upbeat.</summary>
    private static int ValenceBand(float valence) => valence switch
    {
        <= -0.45f => 0,
        <= -0.15f => 1,
        < 0.15f => 2,
        < 0.45f => 3,
        _ => 4,
    };

    /// <summary>−1 low, 0 moderate, 1 high.</summary>
    private static int ArousalBand(float arousal) => arousal switch
    {
        < 0.38f => -1,
        > 0.62f => 1,
        _ => 0,
    };

    private static readonly string[] EnglishValence = ["quite down", "a bit down", "steady", "in good spirits", "upbeat"];

    private static string DescribeEnglish(int valenceBand, int arousalBand, MoodHorizon horizon)
    {
        var arousal = (arousalBand, valenceBand) switch
        {
            (-1, <= 1) => "tired",
            (-1, _) => "calm",
            (1, <= 1) => "tense",
            (1, >= 3) => "excited",
            (1, _) => "restless",
            _ => null,
        };
        var time = horizon == MoodHorizon.Conversation ? "right now" : "lately";
        return string.Create(CultureInfo.InvariantCulture, $"They seem {EnglishValence[valenceBand]}{(arousal is null ? string.Empty : " and " + arousal)} {time}.");
    }

    private static readonly string[] KoreanConnective = ["많이 가라앉고", "조금 가라앉고", "담담하고", "기분이 괜찮고", "밝고"];
    private static readonly string[] KoreanFinal = ["많이 가라앉아 보여요", "조금 가라앉아 보여요", "담담해 보여요", "기분이 괜찮아 보여요", "밝아 보여요"];
    private static readonly string[] KoreanPast = ["많이 가라앉아 있었어요", "조금 가라앉아 있었어요", "담담했어요", "기분이 괜찮았어요", "밝았어요"];

    private static string DescribeKorean(int valenceBand, int arousalBand, MoodHorizon horizon)
    {
        var arousal = (arousalBand, valenceBand) switch
        {
            (-1, <= 1) => "지쳐 보여요",
            (-1, _) => "차분해 보여요",
            (1, <= 1) => "예민해 보여요",
            (1, >= 3) => "들떠 보여요",
            (1, _) => "들썩여 보여요",
            _ => null,
        };
        var time = horizon == MoodHorizon.Conversation ? "지금은" : "요즘은";
        return arousal is null ? $"{time} {KoreanFinal[valenceBand]}." : $"{time} {KoreanConnective[valenceBand]} {arousal}.";
    }

    private IReadOnlyList<DailyMood> UpdateDays(IReadOnlyList<DailyMood> days, DateOnly day, float valence, float arousal, float weight)
    {
        var list = new List<DailyMood>(days.Count + 1);
        var merged = false;
        foreach (var existing in days)
        {
            if (existing.Day == day)
            {
                var total = existing.Weight + weight;
                list.Add(new DailyMood(day, ((existing.Valence * existing.Weight) + (valence * weight)) / total,
                    ((existing.Arousal * existing.Weight) + (arousal * weight)) / total, total, existing.Count + 1));
                merged = true;
            }
            else
            {
                list.Add(existing);
            }
        }

        if (!merged)
        {
            list.Add(new DailyMood(day, valence, arousal, weight, 1));
        }

        list.Sort((left, right) => left.Day.CompareTo(right.Day));
        var newest = list[^1].Day;
        list.RemoveAll(entry => entry.Day <= newest.AddDays(-_options.DaysKept));
        return list;
    }

    private static float Decay(TimeSpan elapsed, TimeSpan timeConstant) => (float)Math.Exp(-elapsed / timeConstant);
}
