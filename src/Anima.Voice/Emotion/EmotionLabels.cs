namespace Anima.Voice.Emotion;

/// <summary>
/// The emotion categories of the voice model (RAVDESS's eight; the Korean set uses four of them) and where each
/// sits on the valence/arousal plane (after Russell's circumplex and the RAVDESS validation ratings), so that a
/// category distribution becomes a point the mood model can fuse with the text perception.
/// </summary>
public static class EmotionLabels
{
    public const string Neutral = "neutral";
    public const string Calm = "calm";
    public const string Happy = "happy";
    public const string Sad = "sad";
    public const string Angry = "angry";
    public const string Fearful = "fearful";
    public const string Disgust = "disgust";
    public const string Surprised = "surprised";

    /// <summary>All categories in model order.</summary>
    public static IReadOnlyList<string> All { get; } = [Neutral, Calm, Happy, Sad, Angry, Fearful, Disgust, Surprised];

    private static readonly Dictionary<string, (double Valence, double Arousal)> Coordinates = new(StringComparer.Ordinal)
    {
        [Neutral] = (0.0, 0.0),
        [Calm] = (0.3, -0.6),
        [Happy] = (0.8, 0.5),
        [Sad] = (-0.7, -0.4),
        [Angry] = (-0.6, 0.8),
        [Fearful] = (-0.6, 0.6),
        [Disgust] = (-0.6, 0.2),
        [Surprised] = (0.3, 0.8),
    };

    /// <summary>Valence (−1..1) and arousal (−1..1) of <paramref name="label"/>.</summary>
    public static (double Valence, double Arousal) ValenceArousal(string label) =>
        Coordinates.TryGetValue(label, out var point) ? point : throw new ArgumentException($"Unknown emotion label '{label}'.", nameof(label));

    /// <summary>Maps the spellings used by common data sets to the model's labels; null when the label is unknown.</summary>
    public static string? Normalize(string label) => label.Trim().ToLowerInvariant() switch
    {
        "neutral" or "neu" or "중립" => Neutral,
        "calm" => Calm,
        "happy" or "happiness" or "joy" or "hap" or "기쁨" or "행복" => Happy,
        "sad" or "sadness" or "슬픔" => Sad,
        "angry" or "anger" or "ang" or "분노" or "화남" => Angry,
        "fearful" or "fear" or "공포" => Fearful,
        "disgust" or "disgusted" or "혐오" => Disgust,
        "surprised" or "surprise" or "놀람" => Surprised,
        _ => null,
    };
}
