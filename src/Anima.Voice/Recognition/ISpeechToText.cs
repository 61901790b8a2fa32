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
