namespace Anima.Voice.Synthesis;

/// <summary>
/// How to say something: prosody relative to the voice's neutral delivery. Engines apply what they can
/// (espeak-ng: all four; an OpenAI-compatible server: the rate, and a spoken-style hint).
/// </summary>
/// <param name="Rate">Speaking-rate multiplier, 0.5–2 (1 = the voice's normal rate).</param>
/// <param name="Pitch">Pitch shift, −1 (lowest) to 1 (highest); 0 = neutral.</param>
/// <param name="PitchRange">Intonation range, −1 (monotone) to 1 (very lively); 0 = neutral.</param>
/// <param name="Volume">Loudness multiplier, 0.3–1.5.</param>
public sealed record SpeechStyle(double Rate = 1, double Pitch = 0, double PitchRange = 0, double Volume = 1)
{
    public static SpeechStyle Neutral { get; } = new();

    /// <summary>
    /// The delivery of a feeling given as valence (−1 unpleasant … 1 pleasant) and arousal (−1 calm … 1 excited),
    /// following the acoustic correlates of vocal emotion (Scherer 2003; Juslin &amp; Laukka 2003): arousal raises
    /// rate, pitch, range and loudness; positive valence raises pitch and range a little; low arousal with
    /// negative valence (sadness) is slow, low, flat and soft.
    /// </summary>
    public static SpeechStyle FromFeeling(double valence, double arousal)
    {
        if (!double.IsFinite(valence) || !double.IsFinite(arousal))
        {
            throw new ArgumentException($"Valence and arousal must be finite numbers; got {valence} and {arousal}.");
        }

        valence = Math.Clamp(valence, -1, 1);
        arousal = Math.Clamp(arousal, -1, 1);
        return new SpeechStyle(
            Rate: 1 + 0.18 * arousal + 0.04 * valence,
            Pitch: 0.35 * arousal + 0.2 * valence,
            PitchRange: 0.4 * arousal + 0.3 * valence,
            Volume: 1 + 0.2 * arousal).Clamped();
    }

    /// <summary>This style with every value brought into its documented range.</summary>
    public SpeechStyle Clamped() => new(
        Math.Clamp(double.IsFinite(Rate) ? Rate : 1, 0.5, 2),
        Math.Clamp(double.IsFinite(Pitch) ? Pitch : 0, -1, 1),
        Math.Clamp(double.IsFinite(PitchRange) ? PitchRange : 0, -1, 1),
        Math.Clamp(double.IsFinite(Volume) ? Volume : 1, 0.3, 1.5));
}
