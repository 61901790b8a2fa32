using System.Buffers.Binary;

namespace Anima.Voice.Audio;

/// <summary>Conversion between little-endian signed 16-bit PCM (the wire format of the voice socket) and float samples.</summary>
public static class Pcm16
{
    private const float Scale = 32768f;

    /// <summary>Decodes little-endian PCM16 bytes to samples in [-1, 1).</summary>
    /// <exception cref="AudioFormatException">The byte count is odd, so the data cannot be 16-bit samples.</exception>
    public static float[] Decode(ReadOnlySpan<byte> bytes)
    {
        if ((bytes.Length & 1) != 0)
        {
            throw new AudioFormatException($"PCM16 audio needs an even number of bytes (2 per sample); got {bytes.Length}.");
        }

        var samples = new float[bytes.Length / 2];
        for (var index = 0; index < samples.Length; index++)
        {
            samples[index] = BinaryPrimitives.ReadInt16LittleEndian(bytes.Slice(index * 2, 2)) / Scale;
        }

        return samples;
    }

    /// <summary>Encodes samples to little-endian PCM16, clamping to the 16-bit range.</summary>
    public static byte[] Encode(ReadOnlySpan<float> samples)
    {
        var bytes = new byte[samples.Length * 2];
        Encode(samples, bytes);
        return bytes;
    }

    /// <summary>Encodes into <paramref name="destination"/>, which must hold 2 bytes per sample.</summary>
    public static void Encode(ReadOnlySpan<float> samples, Span<byte> destination)
    {
        if (destination.Length < samples.Length * 2)
        {
            throw new ArgumentException($"The destination holds {destination.Length} bytes; {samples.Length * 2} are needed.", nameof(destination));
        }

        for (var index = 0; index < samples.Length; index++)
        {
            BinaryPrimitives.WriteInt16LittleEndian(destination.Slice(index * 2, 2), ToInt16(samples[index]));
        }
    }

    /// <summary>One sample in [-1, 1] as a 16-bit integer, rounded and clamped.</summary>
    public static short ToInt16(float sample)
    {
        var scaled = MathF.Round(sample * Scale);
        return (short)Math.Clamp(scaled, short.MinValue, short.MaxValue);
    }
}
