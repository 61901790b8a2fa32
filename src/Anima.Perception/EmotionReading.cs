namespace Anima.Perception;

/// <summary>
/// What was perceived of one message: a probability for each GoEmotions label (in
/// <see cref="EmotionTaxonomy.Labels"/> order), the labels at or above their tuned thresholds (most
/// probable first), valence (−1..1), arousal (0..1) and the detected language.
/// </summary>
public sealed record EmotionReading(
    IReadOnlyList<float> Probabilities,
    IReadOnlyList<string> Labels,
    float Valence,
    float Arousal,
    string Language)
{
    /// <summary>Language code for English.</summary>
    public const string English = "en";

    /// <summary>Language code for Korean.</summary>
    public const string Korean = "ko";

    /// <summary>Korean and English together.</summary>
    public const string Mixed = "mixed";

    /// <summary>Only emoji (no letters): read from the emoji, which the model learned from Reddit comments.</summary>
    public const string EmojiOnly = "emoji";

    /// <summary>Empty, symbols only, or a language the model was not trained on: no emotion is guessed.</summary>
    public const string UnknownLanguage = "unknown";

    private static readonly float[] NoProbabilities = new float[EmotionTaxonomy.LabelCount];

    /// <summary>True when the text could not be read (empty, other language or script); probabilities are all zero.</summary>
    public bool IsUnknown => Language == UnknownLanguage;

    /// <summary>The most probable label, or null for an unknown reading.</summary>
    public string? TopLabel
    {
        get
        {
            if (IsUnknown)
            {
                return null;
            }

            var top = 0;
            for (var label = 1; label < Probabilities.Count; label++)
            {
                if (Probabilities[label] > Probabilities[top])
                {
                    top = label;
                }
            }

            return EmotionTaxonomy.Labels[top];
        }
    }

    /// <summary>The probability of the named GoEmotions label.</summary>
    public float ProbabilityOf(string label)
    {
        ArgumentNullException.ThrowIfNull(label);
        for (var index = 0; index < EmotionTaxonomy.LabelCount; index++)
        {
            if (EmotionTaxonomy.Labels[index] == label)
            {
                return Probabilities[index];
            }
        }

        throw new ArgumentException($"'{label}' is not a GoEmotions label.", nameof(label));
    }

    /// <summary>The reading for text that cannot be read: no labels, neutral valence, zero arousal.</summary>
    public static EmotionReading Unknown { get; } = new(NoProbabilities, [], 0f, 0f, UnknownLanguage);
}

/// <summary>Reads the emotion of a text message. Implementations are thread-safe.</summary>
public interface ITextEmotionPerceiver
{
    EmotionReading Perceive(string text);
}
