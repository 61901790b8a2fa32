using Anima.Voice.Audio;

namespace Anima.Voice.Turns;

/// <summary>Something the turn detector noticed, at a time measured in the audio stream (not the wall clock).</summary>
public abstract record TurnEvent(TimeSpan At);

/// <summary>The user started speaking (sustained speech, not a click).</summary>
public sealed record SpeechStarted(TimeSpan At, bool WhileAssistantSpeaking) : TurnEvent(At);

/// <summary>Why a turn ended.</summary>
public enum EndOfTurnReason
{
    /// <summary>Silence of the configured length followed the speech.</summary>
    Silence,

    /// <summary>A falling final pitch allowed a shorter silence.</summary>
    FallingPitch,

    /// <summary>A clearly rising final pitch (a yes/no question) allowed a shorter silence.</summary>
    RisingPitch,

    /// <summary>The utterance reached the maximum length and was cut (the speaker may still be talking).</summary>
    MaximumLength,

    /// <summary>The stream ended (file end, socket closed) during speech; the audio so far is the turn.</summary>
    EndOfStream,
}

/// <summary>The user's turn is over: <paramref name="Utterance"/> is the speech (with a little lead-in) to transcribe.</summary>
/// <param name="WhileAssistantSpeaking">
/// The companion was speaking when this utterance started. If no <see cref="BargeIn"/> preceded it, it was
/// short: transcribe it and treat it as a real turn only if <see cref="Backchannels.IsInterruption"/> says so.
/// </param>
public sealed record EndOfTurn(TimeSpan At, AudioClip Utterance, TimeSpan SpeechStartedAt, TimeSpan SpeechDuration, EndOfTurnReason Reason, bool WhileAssistantSpeaking) : TurnEvent(At)
{
    /// <summary>The end of the last speech frame: <see cref="TurnEvent.At"/> minus this is the silence the detector waited.</summary>
    public TimeSpan SpeechEndedAt { get; init; } = At;

    public bool WasForced => Reason == EndOfTurnReason.MaximumLength;
}

/// <summary>A burst too short to be speech (a cough, a click); nothing to transcribe.</summary>
public sealed record SpeechDiscarded(TimeSpan At, TimeSpan Duration) : TurnEvent(At);

/// <summary>The user has talked over the companion long enough to interrupt it: stop playback and cancel the reply now.</summary>
public sealed record BargeIn(TimeSpan At, TimeSpan SpeechStartedAt) : TurnEvent(At);

/// <summary>
/// The user paused long enough that the turn has probably ended. Start transcribing (and, if you like, thinking)
/// now; an <see cref="EndOfTurn"/> confirms it, or a <see cref="TurnResumed"/> withdraws it. Do not play a reply
/// before the confirmation.
/// </summary>
public sealed record TentativeEndOfTurn(TimeSpan At, AudioClip Utterance, TimeSpan SpeechStartedAt) : TurnEvent(At);

/// <summary>The user went on speaking after a <see cref="TentativeEndOfTurn"/>; discard work started on it.</summary>
public sealed record TurnResumed(TimeSpan At) : TurnEvent(At);

/// <summary>
/// Audio of the utterance in progress, in order and without gaps: at <see cref="SpeechStarted"/> the pre-roll and the
/// start of the speech, then every frame until the turn ends (the trailing silence included). Feed it to a streaming
/// recognizer so that only finalization is left when the turn ends.
/// </summary>
public sealed record UtteranceAudio(TimeSpan At, float[] Samples) : TurnEvent(At);
