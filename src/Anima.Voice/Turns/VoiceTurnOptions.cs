namespace Anima.Voice.Turns;

/// <summary>When a turn starts and ends, and what counts as interrupting the companion. Defaults are named and validated.</summary>
public sealed class VoiceTurnOptions
{
    /// <summary>Silence after speech that ends the turn (600 ms: long enough for a breath, short enough to feel responsive).</summary>
    public static readonly TimeSpan DefaultEndOfTurnSilence = TimeSpan.FromMilliseconds(600);

    /// <summary>
    /// Silence that ends the turn after a falling final pitch (the usual sign a statement is complete) or a clearly
    /// rising one (a yes/no question). 160 ms: human turn gaps are about 200 ms, and the VAD needs ~60 ms more to see
    /// the speech end. A pause this long inside a sentence ending in such a pitch ends the turn early; if the user
    /// goes on within <see cref="Sessions.VoiceSession.ContinuationWindow"/>, the session stops the reply at once and
    /// the rest becomes the next turn.
    /// </summary>
    public static readonly TimeSpan DefaultFallingPitchSilence = TimeSpan.FromMilliseconds(160);

    /// <summary>
    /// Silence after which a <see cref="TentativeEndOfTurn"/> is reported, so transcription and the mind can start
    /// while the detector waits to confirm the end (speculative end-of-turn); null disables it.
    /// </summary>
    /// <remarks>
    /// 128 ms: the voice features (and a non-streaming transcription) are ready when the turn is confirmed at 160 ms,
    /// without restarting work at every gap between words.
    /// </remarks>
    public static readonly TimeSpan DefaultTentativeSilence = TimeSpan.FromMilliseconds(128);

    /// <summary>Sustained speech before <see cref="SpeechStarted"/> is reported (filters clicks).</summary>
    public static readonly TimeSpan DefaultSpeechStartMinimum = TimeSpan.FromMilliseconds(96);

    /// <summary>Speech shorter than this in total is discarded as a cough, click or breath.</summary>
    public static readonly TimeSpan DefaultMinimumUtteranceSpeech = TimeSpan.FromMilliseconds(250);

    /// <summary>Sustained speech over the companion's voice that interrupts it; backchannels ("uh-huh", "네") are shorter.</summary>
    public static readonly TimeSpan DefaultBargeInSpeech = TimeSpan.FromMilliseconds(600);

    /// <summary>The longest utterance; a monologue is cut here into turns flagged as forced.</summary>
    public static readonly TimeSpan DefaultMaximumUtterance = TimeSpan.FromSeconds(60);

    /// <summary>Audio kept from before the detected start, so the first syllable is not clipped.</summary>
    public static readonly TimeSpan DefaultPreRoll = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The shipped settings for a language. Korean keeps the longer, falling-pitch-only end (350 ms): its phrases often
    /// end in a continuation rise or fall before a pause, and on acted Korean sentences the 160 ms end split 51% of the
    /// clips into two turns against 22% with 350 ms (`anima bench voice turns`); RAVDESS English sentences split 0.5% at 160 ms.
    /// </summary>
    public static VoiceTurnOptions ForLanguage(string? language) =>
        language is not null && language.StartsWith("ko", StringComparison.OrdinalIgnoreCase)
            ? new VoiceTurnOptions { FallingPitchSilence = TimeSpan.FromMilliseconds(350), TentativeSilence = TimeSpan.FromMilliseconds(192), UseRisingPitch = false }
            : new VoiceTurnOptions();

    public TimeSpan EndOfTurnSilence { get; set; } = DefaultEndOfTurnSilence;

    public TimeSpan FallingPitchSilence { get; set; } = DefaultFallingPitchSilence;

    public TimeSpan? TentativeSilence { get; set; } = DefaultTentativeSilence;

    public TimeSpan SpeechStartMinimum { get; set; } = DefaultSpeechStartMinimum;

    public TimeSpan MinimumUtteranceSpeech { get; set; } = DefaultMinimumUtteranceSpeech;

    public TimeSpan BargeInSpeech { get; set; } = DefaultBargeInSpeech;

    public TimeSpan MaximumUtterance { get; set; } = DefaultMaximumUtterance;

    public TimeSpan PreRoll { get; set; } = DefaultPreRoll;

    /// <summary>Speech probability at or above which a frame is speech.</summary>
    public float SpeechThreshold { get; set; } = 0.5f;

    /// <summary>Probability below which a frame inside speech counts as silence (hysteresis: between the two, speech goes on).</summary>
    public float SilenceThreshold { get; set; } = 0.35f;

    /// <summary>Whether a falling final pitch may shorten the end-of-turn silence.</summary>
    public bool UseFallingPitch { get; set; } = true;

    /// <summary>Whether a clearly rising final pitch (a question) may shorten it too (only with <see cref="UseFallingPitch"/>).</summary>
    public bool UseRisingPitch { get; set; } = true;

    public void Validate()
    {
        static void Positive(TimeSpan value, string name)
        {
            if (value <= TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive.");
            }
        }

        Positive(EndOfTurnSilence, nameof(EndOfTurnSilence));
        Positive(FallingPitchSilence, nameof(FallingPitchSilence));
        Positive(SpeechStartMinimum, nameof(SpeechStartMinimum));
        Positive(MinimumUtteranceSpeech, nameof(MinimumUtteranceSpeech));
        Positive(BargeInSpeech, nameof(BargeInSpeech));
        if (MaximumUtterance < TimeSpan.FromSeconds(2) || MaximumUtterance > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentOutOfRangeException(nameof(MaximumUtterance), MaximumUtterance, "MaximumUtterance must be from 2 seconds to 10 minutes.");
        }

        if (FallingPitchSilence > EndOfTurnSilence)
        {
            throw new ArgumentException("FallingPitchSilence must not be longer than EndOfTurnSilence.", nameof(FallingPitchSilence));
        }

        if (TentativeSilence is { } tentative && (tentative <= TimeSpan.Zero || tentative > FallingPitchSilence))
        {
            throw new ArgumentOutOfRangeException(nameof(TentativeSilence), tentative, "TentativeSilence must be positive and not longer than FallingPitchSilence.");
        }

        if (PreRoll < TimeSpan.Zero || PreRoll > TimeSpan.FromSeconds(2))
        {
            throw new ArgumentOutOfRangeException(nameof(PreRoll), PreRoll, "PreRoll must be from 0 to 2 seconds.");
        }

        if (SpeechThreshold is <= 0 or >= 1 || SilenceThreshold <= 0 || SilenceThreshold > SpeechThreshold)
        {
            throw new ArgumentException("Thresholds must satisfy 0 < SilenceThreshold ≤ SpeechThreshold < 1.");
        }
    }
}
