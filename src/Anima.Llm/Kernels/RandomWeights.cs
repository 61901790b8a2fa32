using System.Buffers.Binary;
using Anima.Llm.Gguf;

namespace Anima.Llm.Kernels;

/// <summary>
/// Fills tensors with random but well-formed blocks of any supported type: random quantized values and
/// scales chosen so that the dequantized weights have a standard deviation near <c>0.02</c> (the scale
/// of an initialized transformer). Used for benchmark models of real shapes and for kernel tests.
/// </summary>
public static class RandomWeights
{
    public static void Fill(GgmlType type, Span<byte> destination, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var blockBytes = GgmlTypeInfo.BlockBytes(type);
        if (!GgmlTypeInfo.IsSupported(type) || destination.Length % blockBytes != 0)
        {
            throw new ArgumentException($"Cannot fill {destination.Length} bytes with whole blocks of {type}.");
        }

        random.NextBytes(destination);
        for (var offset = 0; offset < destination.Length; offset += blockBytes)
        {
            var block = destination.Slice(offset, blockBytes);
            switch (type)
            {
                case GgmlType.F32:
                    BinaryPrimitives.WriteSingleLittleEndian(block, Gaussian(random) * 0.02f);
                    break;
                case GgmlType.F16:
                    BinaryPrimitives.WriteHalfLittleEndian(block, (Half)(Gaussian(random) * 0.02f));
                    break;
                case GgmlType.BF16:
                    BinaryPrimitives.WriteUInt16LittleEndian(block, (ushort)(BitConverter.SingleToInt32Bits(Gaussian(random) * 0.02f) >> 16));
                    break;
                case GgmlType.Q8_0:
                    WriteHalf(block, 0, 0.02f / 64 * Jitter(random));
                    break;
                case GgmlType.Q4_0:
                    WriteHalf(block, 0, 0.02f / 4 * Jitter(random));
                    break;
                case GgmlType.Q5_0:
                    WriteHalf(block, 0, 0.02f / 8 * Jitter(random));
                    break;
                case GgmlType.Q4_K:
                    WriteHalf(block, 0, 0.02f / (32 * 4) * Jitter(random));
                    WriteHalf(block, 2, 0.02f / 32 * 7.5f / 2 * Jitter(random));
                    break;
                case GgmlType.Q5_K:
                    WriteHalf(block, 0, 0.02f / (32 * 8) * Jitter(random));
                    WriteHalf(block, 2, 0.02f / 32 * 15.5f / 2 * Jitter(random));
                    break;
                case GgmlType.Q6_K:
                    for (var i = 192; i < 208; i++)
                    {
                        block[i] = (byte)(sbyte)random.Next(-64, 64);
                    }

                    WriteHalf(block, 208, 0.02f / (32 * 18) * Jitter(random));
                    break;
            }
        }
    }

    /// <summary>A new array of <paramref name="count"/> random values of <paramref name="type"/>.</summary>
    public static byte[] Create(GgmlType type, long count, Random random)
    {
        var bytes = new byte[GgmlTypeInfo.ByteCount(type, count)];
        Fill(type, bytes, random);
        return bytes;
    }

    private static float Jitter(Random random) => 0.5f + (float)random.NextDouble();

    private static void WriteHalf(Span<byte> block, int offset, float value) =>
        BinaryPrimitives.WriteHalfLittleEndian(block[offset..], (Half)value);

    internal static float Gaussian(Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }
}
