using System.Buffers.Binary;
using Anima.Voice.Audio;

namespace Anima.Voice.Tests;

public sealed class AudioTests
{
    [Fact]
    public void Pcm16_EncodeThenDecode_RoundTripsWithinOneStep()
    {
        var samples = TestAudio.Sine(440, 0.1);
        var decoded = Pcm16.Decode(Pcm16.Encode(samples));
        Assert.Equal(samples.Length, decoded.Length);
        Assert.True(samples.Zip(decoded).Max(pair => Math.Abs(pair.First - pair.Second)) <= 1f / 32768);
    }

    [Fact]
    public void Pcm16_Encode_ClampsBeyondFullScale()
    {
        var decoded = Pcm16.Decode(Pcm16.Encode([2f, -2f]));
        Assert.Equal(32767f / 32768f, decoded[0]);
        Assert.Equal(-1f, decoded[1]);
    }

    [Fact]
    public void Pcm16_DecodeOddByteCount_ThrowsClearError()
    {
        var exception = Assert.Throws<AudioFormatException>(() => Pcm16.Decode(new byte[3]));
        Assert.Contains("even number of bytes", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WaveFile_WriteThenRead_RoundTrips16kMono()
    {
        var clip = new AudioClip(TestAudio.Sine(300, 0.25), 16000);
        var read = WaveFile.Parse(WaveFile.ToBytes(clip));
        Assert.Equal(16000, read.SampleRate);
        Assert.Equal(clip.Samples.Length, read.Samples.Length);
        Assert.True(clip.Samples.Zip(read.Samples).Max(pair => Math.Abs(pair.First - pair.Second)) <= 1f / 32768);
    }

    [Fact]
    public void WaveFile_Stereo24BitAt44100_MixesDownAndResamplesTo16k()
    {
        var left = TestAudio.Sine(1000, 0.5, 0.4, 44100);
        var bytes = BuildWave(formatTag: 1, channels: 2, rate: 44100, bits: 24, frames: left.Length, (frame, channel, span) =>
        {
            var value = (int)Math.Round(left[frame] * 8388607);
            span[0] = (byte)value;
            span[1] = (byte)(value >> 8);
            span[2] = (byte)(value >> 16);
        });
        var clip = WaveFile.Parse(bytes);
        Assert.Equal(44100, clip.SampleRate);
        var pipeline = clip.ToSampleRate(16000);
        Assert.Equal(8000, pipeline.Samples.Length);
        Assert.InRange(DominantFrequency(pipeline.Samples.AsSpan(2000, 4000).ToArray(), 16000), 990, 1010);
        Assert.InRange(pipeline.Samples.Skip(1000).Take(6000).Max(), 0.38f, 0.42f);
    }

    [Fact]
    public void WaveFile_Float32_IsRead()
    {
        var samples = TestAudio.Sine(200, 0.1, 0.3);
        var bytes = BuildWave(formatTag: 3, channels: 1, rate: 16000, bits: 32, frames: samples.Length,
            (frame, _, span) => BinaryPrimitives.WriteSingleLittleEndian(span, samples[frame]));
        var clip = WaveFile.Parse(bytes);
        Assert.Equal(samples, clip.Samples);
    }

    [Theory]
    [InlineData(7, "law")]
    [InlineData(0x55, "compressed")]
    public void WaveFile_UnsupportedEncoding_ThrowsNamingIt(int formatTag, string expected)
    {
        var bytes = BuildWave((ushort)formatTag, 1, 16000, 8, 100, (_, _, span) => span[0] = 0);
        var exception = Assert.Throws<AudioFormatException>(() => WaveFile.Parse(bytes));
        Assert.Contains(expected, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WaveFile_RateOutOfRange_ThrowsNamingRate()
    {
        var bytes = BuildWave(1, 1, 4000, 16, 100, (_, _, span) => span.Clear());
        var exception = Assert.Throws<AudioFormatException>(() => WaveFile.Parse(bytes));
        Assert.Contains("4000 Hz", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WaveFile_NotRiff_ThrowsClearError()
    {
        var exception = Assert.Throws<AudioFormatException>(() => WaveFile.Parse("ID3\u0004 this is an mp3"u8));
        Assert.Contains("RIFF/WAVE", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WaveFile_NoDataChunk_ThrowsClearError()
    {
        var bytes = BuildWave(1, 1, 16000, 16, 0, (_, _, _) => { })[..36];
        var exception = Assert.Throws<AudioFormatException>(() => WaveFile.Parse(bytes));
        Assert.Contains("no data chunk", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WaveFile_MissingFile_ThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => WaveFile.Read(Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".wav")));
    }

    [Theory]
    [InlineData(8000)]
    [InlineData(22050)]
    [InlineData(48000)]
    public void StreamingResampler_ChunkedInput_MatchesReference(int inputRate)
    {
        var input = TestAudio.Concat(TestAudio.Sine(330, 0.2, 0.5, inputRate), TestAudio.WhiteNoise(0.1, 0.2, 3, inputRate));
        var reference = ReferenceResample(input, inputRate, 16000);

        var resampler = new StreamingResampler(inputRate, 16000);
        var chunked = new List<float>();
        var random = new Random(5);
        for (var offset = 0; offset < input.Length;)
        {
            var length = Math.Min(random.Next(1, 700), input.Length - offset);
            chunked.AddRange(resampler.Process(input.AsSpan(offset, length)));
            offset += length;
        }

        chunked.AddRange(resampler.Flush());
        Assert.Equal(reference.Length, chunked.Count);
        var maximumDifference = reference.Zip(chunked).Max(pair => Math.Abs(pair.First - pair.Second));
        Assert.True(maximumDifference < 1e-5, $"max abs diff {maximumDifference}");
    }

    [Fact]
    public void StreamingResampler_Downsampling_RemovesContentAboveNewNyquist()
    {
        // 11 kHz cannot exist at 16 kHz; it must be filtered out rather than aliased to 5 kHz.
        var clip = new AudioClip(TestAudio.Sine(11000, 0.5, 0.5, 48000), 48000).ToSampleRate(16000);
        var levels = AudioQuality.Measure(clip.Samples.AsSpan(500, 7000));
        Assert.True(levels.RmsDecibels < -40, $"aliased energy {levels.RmsDecibels:0.0} dBFS");
    }

    [Fact]
    public void AudioQuality_Silence_IsSilentAndNotClipped()
    {
        var levels = AudioQuality.Measure(TestAudio.Silence(1));
        Assert.True(levels.IsSilent);
        Assert.False(levels.IsClipped);
    }

    [Fact]
    public void AudioQuality_OverdrivenSine_IsClipped()
    {
        var samples = TestAudio.Sine(200, 1, 3).Select(value => Math.Clamp(value, -1f, 32767f / 32768f)).ToArray();
        var levels = AudioQuality.Measure(samples);
        Assert.True(levels.IsClipped);
        Assert.False(levels.IsSilent);
    }

    [Fact]
    public void AudioQuality_NormalSpeechLevel_IsNeitherSilentNorClipped()
    {
        var levels = AudioQuality.Measure(TestAudio.Sine(200, 1, 0.3));
        Assert.False(levels.IsSilent);
        Assert.False(levels.IsClipped);
        Assert.InRange(levels.RmsDecibels, -14, -13);
    }

    internal static double DominantFrequency(float[] samples, int rate)
    {
        // Counting zero crossings is enough for a pure tone.
        var crossings = 0;
        for (var index = 1; index < samples.Length; index++)
        {
            if ((samples[index] >= 0) != (samples[index - 1] >= 0))
            {
                crossings++;
            }
        }

        return crossings / 2.0 / ((double)samples.Length / rate);
    }

    /// <summary>The plain definition: each output sample is a windowed-sinc sum over the input, computed directly.</summary>
    private static float[] ReferenceResample(float[] input, int inputRate, int outputRate)
    {
        var divisor = (int)System.Numerics.BigInteger.GreatestCommonDivisor(inputRate, outputRate);
        int up = outputRate / divisor, down = inputRate / divisor;
        var cutoff = Math.Min(1.0, (double)up / down);
        var half = (int)Math.Ceiling(16 / cutoff);
        var count = ((long)input.Length * up + down - 1) / down;
        var output = new float[count];
        for (long n = 0; n < count; n++)
        {
            var time = (double)n * down / up;
            var center = (long)Math.Floor(time);
            double sum = 0, weights = 0;
            for (var index = center - half + 1; index <= center + half; index++)
            {
                var distance = time - index;
                var x = cutoff * distance;
                var sinc = Math.Abs(x) < 1e-12 ? 1 : Math.Sin(Math.PI * x) / (Math.PI * x);
                var w = distance / half;
                var window = Math.Abs(w) >= 1 ? 0 : 0.42 + 0.5 * Math.Cos(Math.PI * w) + 0.08 * Math.Cos(2 * Math.PI * w);
                weights += sinc * window;
                if (index >= 0 && index < input.Length)
                {
                    sum += sinc * window * input[index];
                }
            }

            output[n] = (float)(sum / weights);
        }

        return output;
    }

    private static byte[] BuildWave(ushort formatTag, int channels, int rate, int bits, int frames, Action<int, int, Span<byte>> writeSample)
    {
        var bytesPerSample = bits / 8;
        var dataBytes = frames * channels * bytesPerSample;
        var bytes = new byte[44 + dataBytes];
        var span = bytes.AsSpan();
        "RIFF"u8.CopyTo(span);
        BinaryPrimitives.WriteInt32LittleEndian(span[4..], 36 + dataBytes);
        "WAVEfmt "u8.CopyTo(span[8..]);
        BinaryPrimitives.WriteInt32LittleEndian(span[16..], 16);
        BinaryPrimitives.WriteUInt16LittleEndian(span[20..], formatTag);
        BinaryPrimitives.WriteUInt16LittleEndian(span[22..], (ushort)channels);
        BinaryPrimitives.WriteInt32LittleEndian(span[24..], rate);
        BinaryPrimitives.WriteInt32LittleEndian(span[28..], rate * channels * bytesPerSample);
        BinaryPrimitives.WriteUInt16LittleEndian(span[32..], (ushort)(channels * bytesPerSample));
        BinaryPrimitives.WriteUInt16LittleEndian(span[34..], (ushort)bits);
        "data"u8.CopyTo(span[36..]);
        BinaryPrimitives.WriteInt32LittleEndian(span[40..], dataBytes);
        for (var frame = 0; frame < frames; frame++)
        {
            for (var channel = 0; channel < channels; channel++)
            {
                writeSample(frame, channel, span.Slice(44 + (frame * channels + channel) * bytesPerSample, bytesPerSample));
            }
        }

        return bytes;
    }
}
