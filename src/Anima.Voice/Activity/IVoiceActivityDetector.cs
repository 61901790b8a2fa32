namespace Anima.Voice.Activity;

/// <summary>
/// Scores fixed-size frames of 16 kHz mono audio for speech. Implementations keep state across frames (a
/// recurrent model, a noise floor), so one instance serves one audio stream and is not thread-safe.
/// </summary>
public interface IVoiceActivityDetector : IDisposable
{
    /// <summary>Samples per frame at 16 kHz (512, i.e. 32 ms, for both built-in detectors).</summary>
    int FrameSize { get; }

    /// <summary>A short name for logs and benchmarks ("silero", "energy").</summary>
    string Name { get; }

    /// <summary>The probability, 0..1, that <paramref name="frame"/> (exactly <see cref="FrameSize"/> samples) is speech.</summary>
    float Process(ReadOnlySpan<float> frame);

    /// <summary>Forgets the stream's state, for a new stream.</summary>
    void Reset();
}
