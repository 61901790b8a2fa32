namespace Anima.Voice.Activity;

/// <summary>
/// The fallback detector when the Silero model is unavailable: frame energy against an adaptive noise floor,
/// with a zero-crossing check that keeps hiss (many crossings, little low-frequency energy) from counting as voice.
/// Coarser than Silero (it hears loud noise as speech), but needs no model.
/// </summary>
public sealed class EnergyVoiceActivityDetector : IVoiceActivityDetector
{
    /// <summary>Frames quieter than this (dBFS) are never speech.</summary>
    public const double AbsoluteFloorDecibels = -50;

    /// <summary>How far above the tracked noise floor a frame must be to count as speech, in dB.</summary>
    public const double MarginDecibels = 12;

    private const double InitialNoiseDecibels = -60;
    private double _noiseDecibels = InitialNoiseDecibels;

    public int FrameSize => 512;

    public string Name => "energy";

    public float Process(ReadOnlySpan<float> frame)
    {
        if (frame.Length != FrameSize)
        {
            throw new ArgumentException($"The energy detector takes frames of {FrameSize} samples at 16 kHz; got {frame.Length}.", nameof(frame));
        }

        double sumSquares = 0;
        var crossings = 0;
        for (var index = 0; index < frame.Length; index++)
        {
            sumSquares += (double)frame[index] * frame[index];
            if (index > 0 && (frame[index] >= 0) != (frame[index - 1] >= 0))
            {
                crossings++;
            }
        }

        var decibels = 10 * Math.Log10(sumSquares / frame.Length + 1e-12);
        var crossingRate = (double)crossings / frame.Length;

        // The floor falls fast and rises slowly, so speech does not drag it up but a louder room eventually does.
        var rate = decibels < _noiseDecibels ? 0.3 : 0.01;
        _noiseDecibels += rate * (decibels - _noiseDecibels);

        var aboveFloor = decibels - Math.Max(_noiseDecibels, AbsoluteFloorDecibels - MarginDecibels);
        var score = 1 / (1 + Math.Exp(-(aboveFloor - MarginDecibels) / 3));
        if (decibels < AbsoluteFloorDecibels)
        {
            score = 0;
        }

        // Voiced speech crosses zero far less than 0.35 per sample (about 2.8 kHz); broadband hiss crosses about 0.5.
        if (crossingRate > 0.35)
        {
            score *= 0.2;
        }

        return (float)score;
    }

    public void Reset() => _noiseDecibels = InitialNoiseDecibels;

    public void Dispose()
    {
    }
}
