using System.Buffers.Binary;
using Anima.Llm.Gguf;

namespace Anima.Llm.Kernels;

/// <summary>
/// Plain reference dequantization of every supported ggml type, written for clarity and checked by
/// the tests against the optimized dot products in <see cref="QuantizedDot"/>. The block layouts
/// are those of ggml (ggml-common.h).
/// </summary>
public static class Dequantize
{
    /// <summary>float value of every IEEE half bit pattern: one load instead of a conversion in the hot loops.</summary>
    internal static readonly float[] HalfToSingle = BuildHalfTable();

    private static float[] BuildHalfTable()
    {
        var table = new float[65536];
        for (var bits = 0; bits < table.Length; bits++)
        {
            table[bits] = (float)BitConverter.UInt16BitsToHalf((ushort)bits);
        }

        return table;
    }

    internal static float Half(ReadOnlySpan<byte> bytes) => HalfToSingle[BinaryPrimitives.ReadUInt16LittleEndian(bytes)];

    /// <summary>Dequantizes <paramref name="output"/>.Length values of <paramref name="type"/> from <paramref name="source"/>.</summary>
    public static void Row(GgmlType type, ReadOnlySpan<byte> source, Span<float> output)
    {
        var blockValues = GgmlTypeInfo.BlockValues(type);
        var blockBytes = GgmlTypeInfo.BlockBytes(type);
        if (!GgmlTypeInfo.IsSupported(type))
        {
            throw new NotSupportedException($"Tensor type {type} is not supported; supported: F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K.");
        }

        if (output.Length % blockValues != 0 || source.Length < output.Length / blockValues * blockBytes)
        {
            throw new ArgumentException($"{output.Length} values of {type} need {output.Length / Math.Max(1, blockValues) * blockBytes} bytes in whole blocks; got {source.Length}.");
        }

        var blocks = output.Length / blockValues;
        for (var block = 0; block < blocks; block++)
        {
            var input = source.Slice(block * blockBytes, blockBytes);
            var values = output.Slice(block * blockValues, blockValues);
            switch (type)
            {
                case GgmlType.F32: values[0] = BinaryPrimitives.ReadSingleLittleEndian(input); break;
                case GgmlType.F16: values[0] = Half(input); break;
                case GgmlType.BF16: values[0] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(input) << 16); break;
                case GgmlType.Q8_0: Q8_0(input, values); break;
                case GgmlType.Q4_0: Q4_0(input, values); break;
                case GgmlType.Q5_0: Q5_0(input, values); break;
                case GgmlType.Q4_K: Q4_K(input, values); break;
                case GgmlType.Q5_K: Q5_K(input, values); break;
                case GgmlType.Q6_K: Q6_K(input, values); break;
                default: throw new NotSupportedException($"Tensor type {type} is not supported.");
            }
        }
    }

    // block_q8_0 { half d; int8 qs[32]; }
    private static void Q8_0(ReadOnlySpan<byte> block, Span<float> values)
    {
        var d = Half(block);
        for (var j = 0; j < 32; j++)
        {
            values[j] = d * (sbyte)block[2 + j];
        }
    }

    // block_q4_0 { half d; uint8 qs[16]; } low nibbles are values 0..15, high nibbles 16..31, offset 8.
    private static void Q4_0(ReadOnlySpan<byte> block, Span<float> values)
    {
        var d = Half(block);
        for (var j = 0; j < 16; j++)
        {
            var q = block[2 + j];
            values[j] = d * ((q & 0xF) - 8);
            values[j + 16] = d * ((q >> 4) - 8);
        }
    }

    // block_q5_0 { half d; uint8 qh[4]; uint8 qs[16]; } bit j of qh is the fifth bit of value j, offset 16.
    private static void Q5_0(ReadOnlySpan<byte> block, Span<float> values)
    {
        var d = Half(block);
        var qh = BinaryPrimitives.ReadUInt32LittleEndian(block[2..]);
        for (var j = 0; j < 16; j++)
        {
            var q = block[6 + j];
            var high0 = (int)((qh >> j) & 1) << 4;
            var high1 = (int)((qh >> (j + 16)) & 1) << 4;
            values[j] = d * (((q & 0xF) | high0) - 16);
            values[j + 16] = d * (((q >> 4) | high1) - 16);
        }
    }

    /// <summary>The 6-bit scale and min of sub-block <paramref name="index"/> (0..7) of a Q4_K/Q5_K block.</summary>
    internal static (int Scale, int Min) ScaleMinK4(int index, ReadOnlySpan<byte> scales)
    {
        if (index < 4)
        {
            return (scales[index] & 63, scales[index + 4] & 63);
        }

        return ((scales[index + 4] & 0xF) | ((scales[index - 4] >> 6) << 4), (scales[index + 4] >> 4) | ((scales[index] >> 6) << 4));
    }

    // block_q4_K { half d; half dmin; uint8 scales[12]; uint8 qs[128]; }
    private static void Q4_K(ReadOnlySpan<byte> block, Span<float> values)
    {
        var d = Half(block);
        var dmin = Half(block[2..]);
        var scales = block.Slice(4, 12);
        var qs = block.Slice(16, 128);
        for (var chunk = 0; chunk < 4; chunk++)
        {
            var (scale0, min0) = ScaleMinK4(2 * chunk, scales);
            var (scale1, min1) = ScaleMinK4(2 * chunk + 1, scales);
            for (var l = 0; l < 32; l++)
            {
                var q = qs[32 * chunk + l];
                values[64 * chunk + l] = d * scale0 * (q & 0xF) - dmin * min0;
                values[64 * chunk + 32 + l] = d * scale1 * (q >> 4) - dmin * min1;
            }
        }
    }

    // block_q5_K { half d; half dmin; uint8 scales[12]; uint8 qh[32]; uint8 qs[128]; }
    private static void Q5_K(ReadOnlySpan<byte> block, Span<float> values)
    {
        var d = Half(block);
        var dmin = Half(block[2..]);
        var scales = block.Slice(4, 12);
        var qh = block.Slice(16, 32);
        var qs = block.Slice(48, 128);
        for (var chunk = 0; chunk < 4; chunk++)
        {
            var (scale0, min0) = ScaleMinK4(2 * chunk, scales);
            var (scale1, min1) = ScaleMinK4(2 * chunk + 1, scales);
            for (var l = 0; l < 32; l++)
            {
                var q = qs[32 * chunk + l];
                var high0 = ((qh[l] >> (2 * chunk)) & 1) << 4;
                var high1 = ((qh[l] >> (2 * chunk + 1)) & 1) << 4;
                values[64 * chunk + l] = d * scale0 * ((q & 0xF) | high0) - dmin * min0;
                values[64 * chunk + 32 + l] = d * scale1 * ((q >> 4) | high1) - dmin * min1;
            }
        }
    }

    // block_q6_K { uint8 ql[128]; uint8 qh[64]; int8 scales[16]; half d; }
    private static void Q6_K(ReadOnlySpan<byte> block, Span<float> values)
    {
        var d = Half(block[208..]);
        for (var half = 0; half < 2; half++)
        {
            var ql = block.Slice(64 * half, 64);
            var qh = block.Slice(128 + 32 * half, 32);
            var scales = block.Slice(192 + 8 * half, 8);
            var output = values.Slice(128 * half, 128);
            for (var l = 0; l < 32; l++)
            {
                var group = l / 16;
                var q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
                var q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                var q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                var q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                output[l] = d * (sbyte)scales[group] * q1;
                output[l + 32] = d * (sbyte)scales[group + 2] * q2;
                output[l + 64] = d * (sbyte)scales[group + 4] * q3;
                output[l + 96] = d * (sbyte)scales[group + 6] * q4;
            }
        }
    }
}
