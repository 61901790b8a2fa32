namespace Anima.Voice.Audio;

/// <summary>Level measurements of a piece of audio: how loud, whether silent, whether clipped.</summary>
/// <param name="PeakLevel">The largest absolute sample, 0..1 (or more for float audio beyond full scale).</param>
/// <param name="RmsDecibels">Root-mean-square level in dBFS (−∞ for digital silence, reported as −120).</param>
/// <param name="ClippedFraction">The fraction of samples at or beyond full scale in runs of at least three.</param>
/// <param name="DcOffset">The mean sample value.</param>
public sealed record AudioLevels(double PeakLevel, double RmsDecibels, double ClippedFraction, double DcOffset)
{
    /// <summary>Below this RMS level a clip is treated as silence (room noise of a quiet microphone is about −60 dBFS).</summary>
    public const double SilenceThresholdDecibels = -55;

    /// <summary>Above this fraction of clipped samples a clip is reported as clipped.</summary>
    public const double ClippingThreshold = 0.001;

    public bool IsSilent => RmsDecibels < SilenceThresholdDecibels;

    public bool IsClipped => ClippedFraction > ClippingThreshold;
}

/// <summary>Computes <see cref="AudioLevels"/>.</summary>
public static class AudioQuality
{
    private const float FullScale = 32767f / 32768f;
    private const int MinimumClipRun = 3;

    public static AudioLevels Measure(ReadOnlySpan<float> samples)
    {
        if (samples.IsEmpty)
        {
            return new AudioLevels(0, -120, 0, 0);
        }

        double sumSquares = 0, sum = 0, peak = 0;
        var clipped = 0;
        var run = 0;
        foreach (var sample in samples)
        {
            var magnitude = Math.Abs(sample);
            peak = Math.Max(peak, magnitude);
            sum += sample;
            sumSquares += (double)sample * sample;
            if (magnitude >= FullScale - 1e-4f)
            {
                run++;
                if (run == MinimumClipRun)
                {
                    clipped += MinimumClipRun;
                }
                else if (run > MinimumClipRun)
                {
                    clipped++;
                }
            }
            else
            {
                run = 0;
            }
        }

        var rms = Math.Sqrt(sumSquares / samples.Length);
        var decibels = rms <= 1e-6 ? -120 : 20 * Math.Log10(rms);
        return new AudioLevels(peak, decibels, (double)clipped / samples.Length, sum / samples.Length);
    }
}
