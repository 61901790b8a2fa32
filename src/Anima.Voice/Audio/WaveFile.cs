using System.Buffers.Binary;
using System.Text;

namespace Anima.Voice.Audio;

/// <summary>
/// Reads and writes RIFF/WAVE files. Reading accepts integer PCM (8, 16, 24, 32 bit) and IEEE float (32, 64 bit),
/// any channel count (mixed down to mono) and rates from 8 to 192 kHz; everything else is rejected with an
/// <see cref="AudioFormatException"/> that names the problem. Writing produces 16-bit PCM mono.
/// </summary>
public static class WaveFile
{
    private const ushort FormatPcm = 1;
    private const ushort FormatIeeeFloat = 3;
    private const ushort FormatAlaw = 6;
    private const ushort FormatMulaw = 7;
    private const ushort FormatExtensible = 0xFFFE;

    /// <summary>The largest file read, so a runaway upload cannot exhaust memory (about 50 minutes of 16 kHz stereo float).</summary>
    public const long MaximumBytes = 400L * 1024 * 1024;

    /// <summary>Reads a WAV file as mono at its own sample rate.</summary>
    public static AudioClip Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"No WAV file at '{path}'.", path);
        }

        using var stream = File.OpenRead(path);
        try
        {
            return Read(stream);
        }
        catch (AudioFormatException exception)
        {
            throw new AudioFormatException($"{Path.GetFileName(path)}: {exception.Message}");
        }
    }

    /// <summary>Reads a WAV file and converts it to the 16 kHz mono the pipeline uses.</summary>
    public static AudioClip ReadForPipeline(string path) => Read(path).ToSampleRate(AudioClip.PipelineSampleRate);

    /// <summary>Reads a WAV stream as mono at its own sample rate.</summary>
    public static AudioClip Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var memory = new MemoryStream();
        CopyLimited(stream, memory);
        return Parse(memory.GetBuffer().AsSpan(0, (int)memory.Length));
    }

    /// <summary>Parses WAV bytes as mono at their own sample rate.</summary>
    public static AudioClip Parse(ReadOnlySpan<byte> data)
    {
        if (data.Length < 12 || !data[..4].SequenceEqual("RIFF"u8) || !data.Slice(8, 4).SequenceEqual("WAVE"u8))
        {
            var kind = data.Length >= 4 && data[..4].SequenceEqual("RIFX"u8) ? "a big-endian RIFX file" : "not a RIFF/WAVE file";
            throw new AudioFormatException($"The audio is {kind}; a WAV file (RIFF, WAVE) is expected.");
        }

        var position = 12;
        ushort formatTag = 0;
        int channels = 0, sampleRate = 0, bitsPerSample = 0, blockAlign = 0;
        var haveFormat = false;
        while (position + 8 <= data.Length)
        {
            var id = data.Slice(position, 4);
            var size = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(position + 4, 4));
            var body = position + 8;
            if (id.SequenceEqual("fmt "u8))
            {
                if (size < 16 || body + 16 > data.Length)
                {
                    throw new AudioFormatException("The WAV format chunk is truncated.");
                }

                var format = data.Slice(body, (int)Math.Min(size, (uint)(data.Length - body)));
                formatTag = BinaryPrimitives.ReadUInt16LittleEndian(format);
                channels = BinaryPrimitives.ReadUInt16LittleEndian(format[2..]);
                sampleRate = BinaryPrimitives.ReadInt32LittleEndian(format[4..]);
                blockAlign = BinaryPrimitives.ReadUInt16LittleEndian(format[12..]);
                bitsPerSample = BinaryPrimitives.ReadUInt16LittleEndian(format[14..]);
                if (formatTag == FormatExtensible && format.Length >= 26)
                {
                    // The sub-format GUID starts with the real format tag.
                    formatTag = BinaryPrimitives.ReadUInt16LittleEndian(format[24..]);
                }

                haveFormat = true;
            }
            else if (id.SequenceEqual("data"u8))
            {
                if (!haveFormat)
                {
                    throw new AudioFormatException("The WAV data chunk comes before its format chunk.");
                }

                // A streaming writer may leave the size as 0 or 0xFFFFFFFF; then the data runs to the end.
                var available = data.Length - body;
                var length = size == 0 || size > available ? available : (int)size;
                return Decode(data.Slice(body, length), formatTag, channels, sampleRate, bitsPerSample, blockAlign);
            }

            position = body + (int)Math.Min(size + (size & 1), int.MaxValue - body);
        }

        throw new AudioFormatException(haveFormat ? "The WAV file has no data chunk." : "The WAV file has no format chunk.");
    }

    private static AudioClip Decode(ReadOnlySpan<byte> data, ushort formatTag, int channels, int sampleRate, int bitsPerSample, int blockAlign)
    {
        if (formatTag is FormatAlaw or FormatMulaw)
        {
            throw new AudioFormatException($"{(formatTag == FormatAlaw ? "A-law" : "µ-law")} WAV is not supported; convert it to 16-bit PCM (e.g. sox in.wav -b 16 -e signed out.wav).");
        }

        if (formatTag is not (FormatPcm or FormatIeeeFloat))
        {
            throw new AudioFormatException($"WAV format tag 0x{formatTag:X4} (compressed audio) is not supported; use PCM or IEEE float.");
        }

        if (channels is < 1 or > 32)
        {
            throw new AudioFormatException($"The WAV file declares {channels} channels.");
        }

        if (sampleRate is < AudioClip.MinimumSampleRate or > AudioClip.MaximumSampleRate)
        {
            throw new AudioFormatException($"Sample rate {sampleRate} Hz is not supported; use {AudioClip.MinimumSampleRate}–{AudioClip.MaximumSampleRate} Hz (16000 Hz preferred).");
        }

        var validBits = formatTag == FormatIeeeFloat ? bitsPerSample is 32 or 64 : bitsPerSample is 8 or 16 or 24 or 32;
        if (!validBits)
        {
            throw new AudioFormatException($"{bitsPerSample}-bit {(formatTag == FormatIeeeFloat ? "float" : "integer")} WAV samples are not supported.");
        }

        var bytesPerSample = bitsPerSample / 8;
        var frameBytes = bytesPerSample * channels;
        if (blockAlign != 0 && blockAlign != frameBytes)
        {
            throw new AudioFormatException($"The WAV block alignment {blockAlign} does not match {channels} channel(s) of {bitsPerSample} bits.");
        }

        var frames = data.Length / frameBytes;
        var samples = new float[frames];
        for (var frame = 0; frame < frames; frame++)
        {
            var sum = 0.0;
            for (var channel = 0; channel < channels; channel++)
            {
                var sample = data.Slice(frame * frameBytes + channel * bytesPerSample, bytesPerSample);
                sum += (formatTag, bitsPerSample) switch
                {
                    (FormatIeeeFloat, 32) => BinaryPrimitives.ReadSingleLittleEndian(sample),
                    (FormatIeeeFloat, _) => BinaryPrimitives.ReadDoubleLittleEndian(sample),
                    (_, 8) => (sample[0] - 128) / 128.0,
                    (_, 16) => BinaryPrimitives.ReadInt16LittleEndian(sample) / 32768.0,
                    (_, 24) => ((sample[0] | (sample[1] << 8) | ((sbyte)sample[2] << 16))) / 8388608.0,
                    _ => BinaryPrimitives.ReadInt32LittleEndian(sample) / 2147483648.0,
                };
            }

            var mono = sum / channels;
            samples[frame] = double.IsFinite(mono) ? (float)mono : 0f;
        }

        return new AudioClip(samples, sampleRate);
    }

    /// <summary>Writes <paramref name="clip"/> as a 16-bit PCM mono WAV file.</summary>
    public static void Write(string path, AudioClip clip)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.Create(path);
        Write(stream, clip);
    }

    /// <summary>Writes <paramref name="clip"/> as 16-bit PCM mono WAV.</summary>
    public static void Write(Stream stream, AudioClip clip)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(clip);
        var bytes = ToBytes(clip);
        stream.Write(bytes);
    }

    /// <summary>The bytes of a 16-bit PCM mono WAV file holding <paramref name="clip"/>.</summary>
    public static byte[] ToBytes(AudioClip clip)
    {
        ArgumentNullException.ThrowIfNull(clip);
        var dataBytes = clip.Samples.Length * 2;
        var bytes = new byte[44 + dataBytes];
        var span = bytes.AsSpan();
        Encoding.ASCII.GetBytes("RIFF", span);
        BinaryPrimitives.WriteInt32LittleEndian(span[4..], 36 + dataBytes);
        Encoding.ASCII.GetBytes("WAVEfmt ", span[8..]);
        BinaryPrimitives.WriteInt32LittleEndian(span[16..], 16);
        BinaryPrimitives.WriteUInt16LittleEndian(span[20..], FormatPcm);
        BinaryPrimitives.WriteUInt16LittleEndian(span[22..], 1);
        BinaryPrimitives.WriteInt32LittleEndian(span[24..], clip.SampleRate);
        BinaryPrimitives.WriteInt32LittleEndian(span[28..], clip.SampleRate * 2);
        BinaryPrimitives.WriteUInt16LittleEndian(span[32..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(span[34..], 16);
        Encoding.ASCII.GetBytes("data", span[36..]);
        BinaryPrimitives.WriteInt32LittleEndian(span[40..], dataBytes);
        Pcm16.Encode(clip.Samples, span[44..]);
        return bytes;
    }

    private static void CopyLimited(Stream source, Stream destination)
    {
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = source.Read(buffer)) > 0)
        {
            total += read;
            if (total > MaximumBytes)
            {
                throw new AudioFormatException($"The WAV file is larger than {MaximumBytes / (1024 * 1024)} MiB.");
            }

            destination.Write(buffer, 0, read);
        }
    }
}
