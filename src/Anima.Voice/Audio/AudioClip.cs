namespace Anima.Voice.Audio;

/// <summary>
/// Mono audio as floating-point samples in [-1, 1] at a known sample rate. The voice pipeline works at
/// <see cref="AudioClip.PipelineSampleRate"/> (16 kHz); <see cref="ToSampleRate"/> converts other rates.
/// </summary>
public sealed class AudioClip
{
    /// <summary>The rate every component of the voice pipeline expects: 16 kHz mono.</summary>
    public const int PipelineSampleRate = 16_000;

    /// <summary>The lowest rate accepted (telephone audio).</summary>
    public const int MinimumSampleRate = 8_000;

    /// <summary>The highest rate accepted.</summary>
    public const int MaximumSampleRate = 192_000;

    public AudioClip(float[] samples, int sampleRate)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (sampleRate is < MinimumSampleRate or > MaximumSampleRate)
        {
            throw new AudioFormatException($"Sample rate {sampleRate} Hz is outside the supported range {MinimumSampleRate}–{MaximumSampleRate} Hz.");
        }

        Samples = samples;
        SampleRate = sampleRate;
    }

    /// <summary>The samples, mono, nominally in [-1, 1].</summary>
    public float[] Samples { get; }

    public int SampleRate { get; }

    public TimeSpan Duration => TimeSpan.FromSeconds((double)Samples.Length / SampleRate);

    /// <summary>This clip at <paramref name="targetRate"/>; the same instance when the rate already matches.</summary>
    public AudioClip ToSampleRate(int targetRate)
    {
        if (targetRate == SampleRate)
        {
            return this;
        }

        var resampler = new StreamingResampler(SampleRate, targetRate);
        var head = resampler.Process(Samples);
        var tail = resampler.Flush();
        var output = new float[head.Length + tail.Length];
        head.CopyTo(output, 0);
        tail.CopyTo(output, head.Length);
        return new AudioClip(output, targetRate);
    }

    /// <summary>A copy of samples [<paramref name="start"/>, start + length).</summary>
    public AudioClip Slice(int start, int length) => new(Samples.AsSpan(start, length).ToArray(), SampleRate);

    /// <summary>Concatenates clips of one sample rate.</summary>
    public static AudioClip Concatenate(IReadOnlyList<AudioClip> clips, int sampleRate)
    {
        ArgumentNullException.ThrowIfNull(clips);
        var total = 0;
        foreach (var clip in clips)
        {
            if (clip.SampleRate != sampleRate)
            {
                throw new AudioFormatException($"Cannot concatenate a {clip.SampleRate} Hz clip into {sampleRate} Hz audio.");
            }

            total += clip.Samples.Length;
        }

        var samples = new float[total];
        var offset = 0;
        foreach (var clip in clips)
        {
            clip.Samples.CopyTo(samples, offset);
            offset += clip.Samples.Length;
        }

        return new AudioClip(samples, sampleRate);
    }
}

/// <summary>Audio that is not in a format the voice pipeline can use; the message says what was wrong and what is accepted.</summary>
public sealed class AudioFormatException(string message) : Exception(message);
