using Anima.Voice.Emotion;
using Anima.Voice.Synthesis;
using Anima.Voice.Turns;

namespace Anima.Voice.Sessions;

/// <summary>A finished user turn, handed to the mind.</summary>
/// <param name="Transcript">What the user said.</param>
/// <param name="Language">The language of the transcript, when known.</param>
/// <param name="Emotion">The feeling heard in the voice, or null when it could not be judged.</param>
/// <param name="Audio">The turn as detected (utterance, timing, whether it was forced by the length limit).</param>
/// <param name="PreviousReplyInterrupted">When the user cut off the last reply: what of it they heard.</param>
public sealed record VoiceUserTurn(string Transcript, string? Language, VoiceEmotionEstimate? Emotion, EndOfTurn Audio, HeardReply? PreviousReplyInterrupted);

/// <summary>How the companion should sound while answering.</summary>
public sealed record VoiceReplyPlan(IAsyncEnumerable<string> TextDeltas, SpeechStyle Style, string Language);

/// <summary>The mind, as the voice session sees it: a turn in, a streamed reply (with its delivery) out.</summary>
public delegate VoiceReplyPlan VoiceMind(VoiceUserTurn turn, CancellationToken cancellationToken);

/// <summary>Something for the client (the page) or the server's bookkeeping.</summary>
public abstract record VoiceSessionOutput;

/// <summary>The user started talking (show it; do not stop playback — that is <see cref="StopPlayback"/>).</summary>
public sealed record UserSpeechStarted(TimeSpan At) : VoiceSessionOutput;

/// <summary>The user's words, once transcribed.</summary>
public sealed record UserTranscript(VoiceUserTurn Turn) : VoiceSessionOutput;

/// <summary>A sentence of the reply, at the moment its synthesis starts.</summary>
public sealed record ReplySentence(string Text) : VoiceSessionOutput;

/// <summary>Reply audio to play: 16 kHz mono PCM16 little-endian.</summary>
public sealed record ReplyAudio(byte[] Pcm16) : VoiceSessionOutput;

/// <summary>The reply is complete (all its audio has been sent).</summary>
public sealed record ReplyFinished(string Text, VoiceTurnTimings Timings) : VoiceSessionOutput;

/// <summary>Stop playing now: the user barged in. <paramref name="Heard"/> is what of the reply they heard.</summary>
public sealed record StopPlayback(HeardReply Heard, string FullText) : VoiceSessionOutput;

/// <summary>The page played less of the interrupted reply than estimated: store it as cut off at <paramref name="Heard"/> instead.</summary>
public sealed record ReplyHeard(HeardReply Heard) : VoiceSessionOutput;

/// <summary>A short utterance over the companion's voice that was only a backchannel; playback went on.</summary>
public sealed record BackchannelIgnored(string Transcript) : VoiceSessionOutput;

/// <summary>The user's audio is poor (clipping); the turn is still answered. The message is safe to show.</summary>
public sealed record AudioWarning(string Message) : VoiceSessionOutput;

/// <summary>Something went wrong with one turn; the session goes on. The message is safe to show.</summary>
public sealed record VoiceSessionError(string Message) : VoiceSessionOutput;

/// <summary>Where the time went in one turn, measured from the end of the user's speech (stream time for the first value, wall time after).</summary>
/// <param name="EndOfTurnWait">From the last speech frame to the end-of-turn decision (the silence the detector waited).</param>
/// <param name="Transcription">Speech-to-text time left after the end-of-turn decision (with streaming recognition, only its finalization).</param>
/// <param name="MindFirstText">From asking the mind to its first text delta (the mind's own latency).</param>
/// <param name="FirstSentence">From asking the mind to the first complete sentence.</param>
/// <param name="FirstAudio">From asking the mind to the first audio chunk of the reply.</param>
/// <param name="DecisionToFirstAudio">From the end-of-turn decision to the first reply audio, all stages included.</param>
/// <param name="DecisionToMind">From the end-of-turn decision to asking the mind (transcription, hearing the feeling, bookkeeping).</param>
public sealed record VoiceTurnTimings(TimeSpan EndOfTurnWait, TimeSpan Transcription, TimeSpan MindFirstText, TimeSpan FirstSentence, TimeSpan FirstAudio, TimeSpan DecisionToFirstAudio, TimeSpan DecisionToMind);
