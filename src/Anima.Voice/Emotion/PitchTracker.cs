namespace Anima.Voice.Emotion;

/// <summary>One analysis frame of the pitch track.</summary>
/// <param name="FrequencyHz">The fundamental frequency, or 0 when the frame is unvoiced.</param>
/// <param name="Periodicity">1 − the minimum of YIN's normalized difference (1 = perfectly periodic, near 0 = noise).</param>
public readonly record struct PitchFrame(float FrequencyHz, float Periodicity)
{
    public bool IsVoiced => FrequencyHz > 0;
}

/// <summary>
/// YIN fundamental-frequency estimation (de Cheveigné &amp; Kawahara 2002) on 16 kHz audio: the difference function
/// d(τ) = Σ (x[j] − x[j+τ])² over a 32 ms window, its cumulative-mean normalization, the first dip under the
/// threshold, parabolic interpolation. The difference function is computed from an FFT autocorrelation
/// (O(n log n)); <see cref="DifferenceReference"/> is the direct O(W·τ) definition it is tested against.
/// A frame is voiced when the dip is under the threshold and the frame is not much quieter than the loudest.
/// </summary>
public sealed class PitchTracker
{
    public const int SampleRate = 16_000;
    public const int HopSamples = 160; // 10 ms
    public const int WindowSamples = 512; // 32 ms
    public const float MinimumFrequencyHz = 60;
    public const float MaximumFrequencyHz = 500;
    public const float Threshold = 0.15f;

    /// <summary>When no dip is under <see cref="Threshold"/>, the global minimum still counts as voiced below this (breathy or synthetic voices).</summary>
    public const float VoicingThreshold = 0.35f;

    private const int MinimumLag = (int)(SampleRate / MaximumFrequencyHz); // 32
    private const int MaximumLag = (int)(SampleRate / MinimumFrequencyHz); // 266
    private const int SegmentSamples = WindowSamples + MaximumLag + 1;
    private const int FftSize = 1024; // ≥ window + maximum lag, so no lag of interest wraps around
    private readonly Fft _fft = new(FftSize);
    private readonly float[] _real = new float[FftSize];
    private readonly float[] _imaginary = new float[FftSize];
    private readonly float[] _difference = new float[MaximumLag + 2];
    private readonly double[] _squares = new double[SegmentSamples + 1];

    /// <summary>The number of frames <see cref="Track"/> returns for <paramref name="sampleCount"/> samples.</summary>
    public static int FrameCount(int sampleCount) => Math.Max(0, (sampleCount - SegmentSamples) / HopSamples + 1);

    /// <summary>Tracks the pitch of <paramref name="samples"/> (16 kHz), one frame every 10 ms.</summary>
    public PitchFrame[] Track(ReadOnlySpan<float> samples)
    {
        var frames = new PitchFrame[FrameCount(samples.Length)];
        for (var frame = 0; frame < frames.Length; frame++)
        {
            frames[frame] = Estimate(samples.Slice(frame * HopSamples, SegmentSamples));
        }

        return frames;
    }

    /// <summary>Estimates one frame from <see cref="WindowSamples"/> + 267 samples.</summary>
    public PitchFrame Estimate(ReadOnlySpan<float> segment)
    {
        if (segment.Length < SegmentSamples)
        {
            throw new ArgumentException($"A pitch frame needs {SegmentSamples} samples; got {segment.Length}.", nameof(segment));
        }

        segment = segment[..SegmentSamples];
        Difference(segment, _difference);
        return PickPitch(_difference);
    }

    /// <summary>d(τ) for τ = 0..MaximumLag via r(τ) = Σ_{j&lt;W} x[j]·x[j+τ] from one FFT cross-correlation.</summary>
    internal void Difference(ReadOnlySpan<float> segment, Span<float> difference)
    {
        // One complex FFT carries both real signals: z = segment + i·window, so Z[k] = X[k] + i·W[k].
        Array.Clear(_real);
        Array.Clear(_imaginary);
        segment.CopyTo(_real);
        segment[..WindowSamples].CopyTo(_imaginary);
        _fft.Forward(_real, _imaginary);

        // Separate X[k] = (Z[k] + conj Z[N−k]) / 2 and W[k] = (Z[k] − conj Z[N−k]) / 2i, form the cross-spectrum
        // C[k] = conj(W[k])·X[k], and store conj(C) so a forward FFT followed by conjugation is the inverse.
        Span<float> crossReal = stackalloc float[FftSize];
        Span<float> crossImaginary = stackalloc float[FftSize];
        for (var bin = 0; bin < FftSize; bin++)
        {
            var mirror = (FftSize - bin) & (FftSize - 1);
            float zr = _real[bin], zi = _imaginary[bin], mr = _real[mirror], mi = -_imaginary[mirror];
            var xr = (zr + mr) / 2;
            var xi = (zi + mi) / 2;
            var wr = (zi - mi) / 2;
            var wi = -(zr - mr) / 2;
            crossReal[bin] = wr * xr + wi * xi;
            crossImaginary[bin] = -(wr * xi - wi * xr);
        }

        crossReal.CopyTo(_real);
        crossImaginary.CopyTo(_imaginary);
        _fft.Forward(_real, _imaginary);
        _squares[0] = 0;
        for (var index = 0; index < SegmentSamples; index++)
        {
            _squares[index + 1] = _squares[index] + (double)segment[index] * segment[index];
        }

        var energyAtZero = _squares[WindowSamples];
        for (var lag = 0; lag <= MaximumLag; lag++)
        {
            var correlation = _real[lag] / FftSize;
            var energyAtLag = _squares[lag + WindowSamples] - _squares[lag];
            difference[lag] = (float)Math.Max(0, energyAtZero + energyAtLag - 2 * correlation);
        }
    }

    /// <summary>The direct definition of the difference function, for checking <see cref="Difference"/>.</summary>
    internal static void DifferenceReference(ReadOnlySpan<float> segment, Span<float> difference)
    {
        for (var lag = 0; lag <= MaximumLag; lag++)
        {
            double sum = 0;
            for (var index = 0; index < WindowSamples; index++)
            {
                var delta = (double)segment[index] - segment[index + lag];
                sum += delta * delta;
            }

            difference[lag] = (float)sum;
        }
    }

    private static PitchFrame PickPitch(ReadOnlySpan<float> difference)
    {
        // Cumulative mean normalized difference d'(τ) = d(τ)·τ / Σ_{1..τ} d.
        Span<float> normalized = stackalloc float[MaximumLag + 1];
        normalized[0] = 1;
        double running = 0;
        for (var lag = 1; lag <= MaximumLag; lag++)
        {
            running += difference[lag];
            normalized[lag] = running <= 1e-12 ? 1 : (float)(difference[lag] * lag / running);
        }

        var best = -1;
        for (var lag = MinimumLag; lag <= MaximumLag; lag++)
        {
            if (normalized[lag] < Threshold)
            {
                while (lag + 1 <= MaximumLag && normalized[lag + 1] < normalized[lag])
                {
                    lag++;
                }

                best = lag;
                break;
            }
        }

        var globalMinimum = MinimumLag;
        for (var lag = MinimumLag; lag <= MaximumLag; lag++)
        {
            if (normalized[lag] < normalized[globalMinimum])
            {
                globalMinimum = lag;
            }
        }

        var periodicity = Math.Clamp(1 - normalized[globalMinimum], 0, 1);
        if (best < 0)
        {
            if (normalized[globalMinimum] >= VoicingThreshold)
            {
                return new PitchFrame(0, periodicity);
            }

            best = globalMinimum;
        }

        // Parabolic interpolation around the dip for sub-sample precision.
        var refined = (double)best;
        if (best > MinimumLag && best < MaximumLag)
        {
            double left = normalized[best - 1], center = normalized[best], right = normalized[best + 1];
            var denominator = left - 2 * center + right;
            if (Math.Abs(denominator) > 1e-12)
            {
                refined = best + 0.5 * (left - right) / denominator;
            }
        }

        var frequency = (float)(SampleRate / refined);
        return frequency is >= MinimumFrequencyHz and <= MaximumFrequencyHz
            ? new PitchFrame(frequency, Math.Clamp(1 - normalized[best], 0, 1))
            : new PitchFrame(0, periodicity);
    }
}
