using Anima.Voice.Audio;

namespace Anima.Voice.Tests;

/// <summary>Synthetic signals for tests, generated from a fixed seed.</summary>
internal static class TestAudio
{
    public const int Rate = AudioClip.PipelineSampleRate;

    public static float[] Sine(double frequency, double seconds, double amplitude = 0.5, int rate = Rate)
    {
        var samples = new float[(int)(seconds * rate)];
        for (var index = 0; index < samples.Length; index++)
        {
            samples[index] = (float)(amplitude * Math.Sin(2 * Math.PI * frequency * index / rate));
        }

        return samples;
    }

    public static float[] Silence(double seconds, int rate = Rate) => new float[(int)(seconds * rate)];

    public static float[] WhiteNoise(double seconds, double amplitude, int seed, int rate = Rate)
    {
        var random = new Random(seed);
        var samples = new float[(int)(seconds * rate)];
        for (var index = 0; index < samples.Length; index++)
        {
            samples[index] = (float)(amplitude * (random.NextDouble() * 2 - 1));
        }

        return samples;
    }

    /// <summary>A cough-like burst: 120 ms of noise under a fast-decaying envelope.</summary>
    public static float[] Cough(int seed, double seconds = 0.12)
    {
        var noise = WhiteNoise(seconds, 0.6, seed);
        for (var index = 0; index < noise.Length; index++)
        {
            var time = (double)index / Rate;
            noise[index] *= (float)(Math.Min(1, time / 0.01) * Math.Exp(-time / 0.04));
        }

        return noise;
    }

    public static float[] Concat(params float[][] parts) => parts.SelectMany(part => part).ToArray();
}
