using Anima.Voice.Audio;

namespace Anima.Voice.Recognition;

/// <summary>What was said in an utterance.</summary>
/// <param name="Text">The words, trimmed; empty when nothing was recognized.</param>
/// <param name="Language">The language recognized or assumed ("en", "ko"), when known.</param>
/// <param name="Engine">Which engine produced it, for logs and benchmarks.</param>
public sealed record Transcript(string Text, string? Language, string Engine)
{
    public bool IsEmpty => Text.Length == 0;
}

/// <summary>Turns one utterance of 16 kHz mono audio into text.</summary>
public interface ISpeechToText
{
    /// <summary>A short name for logs and benchmarks.</summary>
    string Name { get; }

    /// <summary>The languages this engine can transcribe ("en", "ko"); null when the server decides (any).</summary>
    IReadOnlyCollection<string>? Languages { get; }

    /// <summary>Transcribes <paramref name="audio"/> (16 kHz mono); <paramref name="language"/> is a hint, null to detect.</summary>
    /// <exception cref="SpeechRecognitionException">The engine failed or the audio is unusable.</exception>
    Task<Transcript> TranscribeAsync(AudioClip audio, string? language, CancellationToken cancellationToken = default);
}

/// <summary>Speech recognition failed; the message says which engine and why.</summary>
public sealed class SpeechRecognitionException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>
/// A recognizer that can listen while the user is still speaking, so that only finalization is left when the turn
/// ends. <see cref="StartStream"/> opens one utterance; write its audio as it arrives, then finish it.
/// </summary>
public interface IStreamingSpeechToText : ISpeechToText
{
    /// <summary>Opens a stream for one utterance in <paramref name="language"/> (a hint; null to detect).</summary>
    /// <exception cref="SpeechRecognitionException">The engine cannot transcribe this language.</exception>
    ISpeechRecognitionStream StartStream(string? language);
}

/// <summary>One utterance being recognized while it is spoken. Dispose it to abandon it.</summary>
public interface ISpeechRecognitionStream : IDisposable
{
    /// <summary>Queues 16 kHz mono audio for decoding and returns at once (decoding runs in the background).</summary>
    void Write(ReadOnlySpan<float> samples);

    /// <summary>Decodes what is still queued, finalizes, and returns the transcript of everything written.</summary>
    /// <exception cref="SpeechRecognitionException">The engine failed.</exception>
    Task<Transcript> FinishAsync(CancellationToken cancellationToken = default);
}
