using Anima.Voice.Audio;

namespace Anima.Voice.Synthesis;

/// <summary>Turns text into speech, streamed as chunks of 16 kHz mono audio as soon as the engine produces them.</summary>
public interface ITextToSpeech
{
    /// <summary>A short name for logs and benchmarks.</summary>
    string Name { get; }

    /// <summary>
    /// Synthesizes <paramref name="text"/> (one sentence or a few) in <paramref name="language"/> ("en" or "ko")
    /// with <paramref name="style"/>. Chunks are 16 kHz mono; the first arrives before synthesis has finished
    /// where the engine allows.
    /// </summary>
    /// <exception cref="SpeechSynthesisException">The engine failed or rejected the request.</exception>
    IAsyncEnumerable<AudioClip> SynthesizeAsync(string text, string language, SpeechStyle style, CancellationToken cancellationToken = default);
}

/// <summary>A text-to-speech engine failed; the message says which engine and why.</summary>
public sealed class SpeechSynthesisException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>Helpers over <see cref="ITextToSpeech"/>.</summary>
public static class TextToSpeechExtensions
{
    /// <summary>Synthesizes the whole text into one clip.</summary>
    public static async Task<AudioClip> SynthesizeToClipAsync(this ITextToSpeech textToSpeech, string text, string language, SpeechStyle style, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(textToSpeech);
        var chunks = new List<AudioClip>();
        await foreach (var chunk in textToSpeech.SynthesizeAsync(text, language, style, cancellationToken))
        {
            chunks.Add(chunk);
        }

        return AudioClip.Concatenate(chunks, AudioClip.PipelineSampleRate);
    }
}
