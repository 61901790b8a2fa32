using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Anima.Llm.Gguf;

namespace Anima.Llm.Kernels;

/// <summary>
/// Dot products of one quantized weight row with activations, the hot loop of every matrix product.
/// Integer types multiply 8-bit weights by 8-bit activations (<see cref="QuantizedActivations"/>) with
/// AVX2 <c>vpmaddubsw</c>/<c>vpmaddwd</c> and scale per block in float, as llama.cpp does; F32/F16/BF16
/// rows use float activations. <see cref="Reference"/> is the plain version the tests compare against,
/// and the fallback where AVX2 is absent.
/// </summary>
public static unsafe class QuantizedDot
{
    /// <summary>Whether <paramref name="type"/> is multiplied against 8-bit activations (else float activations).</summary>
    public static bool UsesQuantizedActivations(GgmlType type) => type is GgmlType.Q8_0 or GgmlType.Q4_0 or GgmlType.Q5_0 or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K;

    public static bool IsAccelerated => Avx2.IsSupported && Fma.IsSupported && Sse41.IsSupported && Ssse3.IsSupported;

    /// <summary>Dot of a quantized row (<paramref name="columns"/> values) with one row of quantized activations.</summary>
    public static float Dot(GgmlType type, byte* row, sbyte* values, float* scales, short* sums, int columns) =>
        Dot(type, row, values, scales, sums, columns, Avx512BW.IsSupported);

    /// <summary>
    /// <see cref="Dot(GgmlType, byte*, sbyte*, float*, short*, int)"/> restricted to the 256-bit kernels even
    /// where AVX-512 is present, so that the tests check both widths against the reference on such a CPU.
    /// </summary>
    public static float Dot256(GgmlType type, byte* row, sbyte* values, float* scales, short* sums, int columns) =>
        Dot(type, row, values, scales, sums, columns, allow512: false);

    private static float Dot(GgmlType type, byte* row, sbyte* values, float* scales, short* sums, int columns, bool allow512)
    {
        if (!IsAccelerated)
        {
            return Reference(type, row, values, scales, columns);
        }

        return type switch
        {
            GgmlType.Q8_0 => DotQ8_0(row, values, scales, columns / 32),
            GgmlType.Q4_0 => DotQ4_0(row, values, scales, sums, columns / 32),
            GgmlType.Q5_0 => allow512 && HasSignedQ5 ? DotQ5_0Signed(row, values, scales, columns / 32) : DotQ5_0(row, values, scales, columns / 32),
            GgmlType.Q4_K => allow512 ? DotQ4_K512(row, values, scales, sums, columns / 256) : DotQ4_K(row, values, scales, sums, columns / 256),
            GgmlType.Q5_K => DotQ5_K(row, values, scales, sums, columns / 256),
            GgmlType.Q6_K => allow512 ? DotQ6_K512(row, values, scales, sums, columns / 256) : DotQ6_K(row, values, scales, sums, columns / 256),
            _ => throw new NotSupportedException($"{type} rows are multiplied with float activations."),
        };
    }

    /// <summary>Dot of an F32/F16/BF16 row with float activations.</summary>
    public static float DotFloat(GgmlType type, byte* row, float* x, int columns)
    {
        switch (type)
        {
            case GgmlType.F32:
                return System.Numerics.Tensors.TensorPrimitives.Dot(new ReadOnlySpan<float>(row, columns), new ReadOnlySpan<float>(x, columns));
            case GgmlType.F16:
                {
                    var table = Dequantize.HalfToSingle;
                    var halves = (ushort*)row;
                    float sum = 0;
                    for (var i = 0; i < columns; i++)
                    {
                        sum += table[halves[i]] * x[i];
                    }

                    return sum;
                }

            case GgmlType.BF16:
                {
                    var halves = (ushort*)row;
                    var i = 0;
                    var accumulator = Vector256<float>.Zero;
                    if (Avx2.IsSupported)
                    {
                        for (; i + 8 <= columns; i += 8)
                        {
                            var widened = Avx2.ConvertToVector256Int32(Sse2.LoadVector128(halves + i));
                            var weights = Avx2.ShiftLeftLogical(widened, 16).AsSingle();
                            accumulator += weights * Avx.LoadVector256(x + i);
                        }
                    }

                    var sum = Vector256.Sum(accumulator);
                    for (; i < columns; i++)
                    {
                        sum += BitConverter.Int32BitsToSingle(halves[i] << 16) * x[i];
                    }

                    return sum;
                }

            default:
                throw new NotSupportedException($"{type} rows are multiplied with quantized activations.");
        }
    }

    /// <summary>Plain reference: dequantize the weight row and the activations to float and sum the products.</summary>
    public static float Reference(GgmlType type, byte* row, sbyte* values, float* scales, int columns)
    {
        var weights = new float[columns];
        Dequantize.Row(type, new ReadOnlySpan<byte>(row, (int)GgmlTypeInfo.ByteCount(type, columns)), weights);
        double sum = 0;
        for (var i = 0; i < columns; i++)
        {
            sum += (double)weights[i] * (values[i] * scales[i / 32]);
        }

        return (float)sum;
    }

    /// <summary>Plain reference for float activations.</summary>
    public static float ReferenceFloat(GgmlType type, byte* row, float* x, int columns)
    {
        var weights = new float[columns];
        Dequantize.Row(type, new ReadOnlySpan<byte>(row, (int)GgmlTypeInfo.ByteCount(type, columns)), weights);
        double sum = 0;
        for (var i = 0; i < columns; i++)
        {
            sum += (double)weights[i] * x[i];
        }

        return (float)sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ToFloat(Vector256<short> products16, Vector256<short> weights16) =>
        Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(products16, weights16));

    private static float DotQ8_0(byte* row, sbyte* values, float* scales, int blocks)
    {
        var table = Dequantize.HalfToSingle;
        var ones = Vector256.Create((short)1);
        // Two accumulators: consecutive FMAs into one register would wait on each other's latency.
        var accumulator0 = Vector256<float>.Zero;
        var accumulator1 = Vector256<float>.Zero;
        var b = 0;
        for (; b + 2 <= blocks; b += 2)
        {
            var block0 = row + b * 34;
            var block1 = block0 + 34;
            var weights0 = Avx.LoadVector256((sbyte*)(block0 + 2));
            var weights1 = Avx.LoadVector256((sbyte*)(block1 + 2));
            // vpmaddubsw multiplies unsigned by signed: move the weights' signs onto the activations.
            var products0 = Avx2.MultiplyAddAdjacent(Avx2.Abs(weights0), Avx2.Sign(Avx.LoadVector256(values + b * 32), weights0));
            var products1 = Avx2.MultiplyAddAdjacent(Avx2.Abs(weights1), Avx2.Sign(Avx.LoadVector256(values + b * 32 + 32), weights1));
            accumulator0 = Fma.MultiplyAdd(ToFloat(products0, ones), Vector256.Create(table[*(ushort*)block0] * scales[b]), accumulator0);
            accumulator1 = Fma.MultiplyAdd(ToFloat(products1, ones), Vector256.Create(table[*(ushort*)block1] * scales[b + 1]), accumulator1);
        }

        for (; b < blocks; b++)
        {
            var block = row + b * 34;
            var weights = Avx.LoadVector256((sbyte*)(block + 2));
            var products = Avx2.MultiplyAddAdjacent(Avx2.Abs(weights), Avx2.Sign(Avx.LoadVector256(values + b * 32), weights));
            accumulator0 = Fma.MultiplyAdd(ToFloat(products, ones), Vector256.Create(table[*(ushort*)block] * scales[b]), accumulator0);
        }

        return Vector256.Sum(accumulator0 + accumulator1);
    }

    private static float DotQ4_0(byte* row, sbyte* values, float* scales, short* sums, int blocks)
    {
        var table = Dequantize.HalfToSingle;
        var ones = Vector256.Create((short)1);
        var mask = Vector128.Create((byte)0xF);
        var accumulator = Vector256<float>.Zero;
        float offset = 0;
        for (var b = 0; b < blocks; b++)
        {
            var block = row + b * 18;
            var packed = Sse2.LoadVector128(block + 2);
            var weights = Vector256.Create(packed & mask, Sse2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & mask);
            var activations = Avx.LoadVector256(values + b * 32);
            var products = Avx2.MultiplyAddAdjacent(weights, activations);
            var scale = table[*(ushort*)block] * scales[b];
            accumulator = Fma.MultiplyAdd(ToFloat(products, ones), Vector256.Create(scale), accumulator);
            offset += scale * (sums[2 * b] + sums[2 * b + 1]);
        }

        return Vector256.Sum(accumulator) - 8 * offset;
    }

    /// <summary>
    /// 0x10 in byte j where bit j of <paramref name="bits"/> is set (llama.cpp's bytes_from_bits_32):
    /// broadcast, spread byte k over bytes 8k..8k+7, and test one bit per byte.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> FifthBits(uint bits)
    {
        var spread = Avx2.Shuffle(Vector256.Create(bits).AsByte(), Vector256.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
        var tested = spread | Vector256.Create(0x7fbfdfeff7fbfdfeUL).AsByte();
        return Vector256.Equals(tested, Vector256<byte>.AllBitsSet) & Vector256.Create((byte)0x10);
    }

    private static float DotQ5_0(byte* row, sbyte* values, float* scales, int blocks)
    {
        var table = Dequantize.HalfToSingle;
        var ones = Vector256.Create((short)1);
        var sixteen = Vector256.Create((byte)16);
        var mask = Vector128.Create((byte)0xF);
        // The weights are stored as 0..31 for -16..15: Σ(q - 16)·a = Σ q·a - Σ 16·a, both sides as vpmaddubsw
        // pairs in 16 bits (|pair| ≤ 2·31·127), so the offset costs two vector operations and no scalar chain.
        // Two accumulators so that consecutive blocks do not wait on each other.
        var accumulator0 = Vector256<float>.Zero;
        var accumulator1 = Vector256<float>.Zero;
        var b = 0;
        for (; b + 2 <= blocks; b += 2)
        {
            var block0 = row + b * 22;
            var block1 = block0 + 22;
            var packed0 = Sse2.LoadVector128(block0 + 6);
            var packed1 = Sse2.LoadVector128(block1 + 6);
            var weights0 = Vector256.Create(packed0 & mask, Sse2.ShiftRightLogical(packed0.AsUInt16(), 4).AsByte() & mask) | FifthBits(*(uint*)(block0 + 2));
            var weights1 = Vector256.Create(packed1 & mask, Sse2.ShiftRightLogical(packed1.AsUInt16(), 4).AsByte() & mask) | FifthBits(*(uint*)(block1 + 2));
            var x0 = Avx.LoadVector256(values + b * 32);
            var x1 = Avx.LoadVector256(values + b * 32 + 32);
            var products0 = Avx2.MultiplyAddAdjacent(weights0, x0) - Avx2.MultiplyAddAdjacent(sixteen, x0);
            var products1 = Avx2.MultiplyAddAdjacent(weights1, x1) - Avx2.MultiplyAddAdjacent(sixteen, x1);
            accumulator0 = Fma.MultiplyAdd(ToFloat(products0, ones), Vector256.Create(table[*(ushort*)block0] * scales[b]), accumulator0);
            accumulator1 = Fma.MultiplyAdd(ToFloat(products1, ones), Vector256.Create(table[*(ushort*)block1] * scales[b + 1]), accumulator1);
        }

        for (; b < blocks; b++)
        {
            var block = row + b * 22;
            var packed = Sse2.LoadVector128(block + 6);
            var weights = Vector256.Create(packed & mask, Sse2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & mask) | FifthBits(*(uint*)(block + 2));
            var x = Avx.LoadVector256(values + b * 32);
            var products = Avx2.MultiplyAddAdjacent(weights, x) - Avx2.MultiplyAddAdjacent(sixteen, x);
            accumulator0 = Fma.MultiplyAdd(ToFloat(products, ones), Vector256.Create(table[*(ushort*)block] * scales[b]), accumulator0);
        }

        return Vector256.Sum(accumulator0 + accumulator1);
    }

    /// <summary>
    /// The 32 bytes at <paramref name="source"/> in both halves of a 512-bit register, as a load and vinserti64x4.
    /// Not <c>Avx512F.BroadcastVector256ToVector512</c>: .NET 10's JIT (10.0.12) folds its load into a vbroadcasti64x4
    /// whose 8-bit displacement it compresses by 16 instead of 32 bytes, so <c>[p + 0x20]</c> read <c>p + 0x40</c> in
    /// optimized code (the AVX-512 Q4_K/Q6_K kernels read the wrong nibbles; unoptimized Debug code was right).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Broadcast256(ulong* source)
    {
        var half = Avx.LoadVector256(source);
        return Avx512F.InsertVector256(half.ToVector512Unsafe(), half, 1);
    }

    /// <summary>Whether <see cref="Q5Signed"/> can run: it needs AVX-512's per-lane 16-bit shift and ternary logic on 256-bit registers.</summary>
    private static bool HasSignedQ5 => IsAccelerated && Avx512BW.VL.IsSupported && Avx512F.VL.IsSupported;

    /// <summary>
    /// The 32 weights of a Q5_0 block as signed bytes q - 16, in four vector operations after two broadcast loads
    /// (the AVX2 path takes eight): both nibble halves from one 128-bit broadcast shifted by 0 or 4 per lane
    /// (vpsrlvw), the fifth bits spread and tested as in <see cref="FifthBits"/>, and one vpternlogd that
    /// keeps the low nibble and sets the high nibble to 0xF where the fifth bit is clear:
    /// (n &amp; 0x0F) | (~h &amp; 0xF0) is n + 16·h - 16 as a signed byte (llama.cpp's andnot trick).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Q5Signed(byte* block)
    {
        var nibbles = Avx512BW.VL.ShiftRightLogicalVariable(
            Avx2.BroadcastVector128ToVector256(block + 6).AsUInt16(),
            Vector256.Create((ushort)0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 4, 4, 4)).AsByte();
        var spread = Avx2.Shuffle(Vector256.Create(*(uint*)(block + 2)).AsByte(), Vector256.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
        var set = Vector256.Equals(spread | Vector256.Create(0x7fbfdfeff7fbfdfeUL).AsByte(), Vector256<byte>.AllBitsSet);
        // Truth table of (A & C) | (~B & ~C) for A = nibbles, B = set, C = 0x0F.
        return Avx512F.VL.TernaryLogic(nibbles, set, Vector256.Create((byte)0x0F), 0xB1).AsSByte();
    }

    /// <summary>One Q5_0 block times 32 activations (signed weights: vpmaddubsw of |w| with x carrying w's sign), scaled and added to <paramref name="accumulator"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Q5SignedBlock(byte* block, Vector256<sbyte> x, float scale, ref float halfTable, Vector256<float> accumulator)
    {
        var weights = Q5Signed(block);
        var products = Avx2.MultiplyAddAdjacent(Avx2.Abs(weights), Avx2.Sign(x, weights));
        var blockScale = Unsafe.Add(ref halfTable, *(ushort*)block) * scale;
        return Fma.MultiplyAdd(ToFloat(products, Vector256.Create((short)1)), Vector256.Create(blockScale), accumulator);
    }

    private static float DotQ5_0Signed(byte* row, sbyte* values, float* scales, int blocks)
    {
        ref var table = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(Dequantize.HalfToSingle);
        Vector256<float> accumulator0 = default, accumulator1 = default;
        var b = 0;
        for (; b + 2 <= blocks; b += 2)
        {
            accumulator0 = Q5SignedBlock(row + b * 22, Avx.LoadVector256(values + b * 32), scales[b], ref table, accumulator0);
            accumulator1 = Q5SignedBlock(row + b * 22 + 22, Avx.LoadVector256(values + b * 32 + 32), scales[b + 1], ref table, accumulator1);
        }

        for (; b < blocks; b++)
        {
            accumulator0 = Q5SignedBlock(row + b * 22, Avx.LoadVector256(values + b * 32), scales[b], ref table, accumulator0);
        }

        return Vector256.Sum(accumulator0 + accumulator1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScalesMinsK4(byte* packed, int* scalesOut, int* minsOut)
    {
        for (var j = 0; j < 4; j++)
        {
            scalesOut[j] = packed[j] & 63;
            minsOut[j] = packed[j + 4] & 63;
        }

        for (var j = 4; j < 8; j++)
        {
            scalesOut[j] = (packed[j + 4] & 0xF) | ((packed[j - 4] >> 6) << 4);
            minsOut[j] = (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4);
        }
    }

    /// <summary>Whether <paramref name="type"/>'s kernels need <see cref="QuantizedActivations.SuperBlockScaled"/> activations.</summary>
    public static bool NeedsSuperBlockScales(GgmlType type) => type is GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K;

    /// <summary>
    /// Unpacks the twelve scale bytes of a Q4_K/Q5_K block with llama.cpp's 32-bit shuffle: the 8
    /// six-bit scales in the bytes of <paramref name="scales"/>, the 8 mins in those of <paramref name="mins"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UnpackScalesMinsK4(byte* packed, out ulong scales, out ulong mins)
    {
        const uint Mask1 = 0x3f3f3f3f;
        const uint Mask2 = 0x0f0f0f0f;
        const uint Mask3 = 0x03030303;
        var word0 = *(uint*)packed;
        var word1 = *(uint*)(packed + 4);
        var word2 = *(uint*)(packed + 8);
        var mins1 = ((word2 >> 4) & Mask2) | (((word1 >> 6) & Mask3) << 4);
        var mins0 = word1 & Mask1;
        var scales1 = (word2 & Mask2) | (((word0 >> 6) & Mask3) << 4);
        var scales0 = word0 & Mask1;
        scales = scales0 | ((ulong)scales1 << 32);
        mins = mins0 | ((ulong)mins1 << 32);
    }

    /// <summary>Σ mins[j] · (activation sum of sub-block j) over the 8 sub-blocks of a super-block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int MinTerm(ulong mins, short* sums16)
    {
        var pairSums = Ssse3.HorizontalAdd(Sse2.LoadVector128(sums16), Sse2.LoadVector128(sums16 + 8));
        var mins16 = Sse41.ConvertToVector128Int16(Vector128.CreateScalar(mins).AsByte());
        return Vector128.Sum(Sse2.MultiplyAddAdjacent(mins16, pairSums));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static short Byte(ulong packed, int index) => (short)((packed >> (8 * index)) & 0xFF);

    // The k-quant kernels rely on one activation scale per 256 values (as llama.cpp's Q8_K does): the
    // 6- or 8-bit sub-block scales are integers, so a whole super-block is summed in int32 and converted
    // to float once, instead of once per 32 values.
    private static float DotQ4_K(byte* row, sbyte* values, float* scales, short* sums, int superBlocks)
    {
        var table = Dequantize.HalfToSingle;
        var accumulator = Vector256<float>.Zero;
        // The minimum terms stay a vector too: one horizontal sum at the end instead of one per super-block.
        var minimum = Vector128<float>.Zero;
        for (var s = 0; s < superBlocks; s++)
        {
            var block = row + s * 144;
            UnpackScalesMinsK4(block + 4, out var subScales, out var subMins);
            // The 8 scales as 16-bit values in both 128-bit lanes; sub-block j's scale is broadcast with one vpshufb.
            var scales16 = Sse41.ConvertToVector128Int16(Vector128.CreateScalar(subScales).AsByte());
            var scalePairs = Vector256.Create(scales16, scales16).AsByte();
            var qs = block + 16;
            var a = values + s * 256;
            var sum = Q4KChunk(qs, a, scalePairs, 0) + Q4KChunk(qs, a, scalePairs, 1) + Q4KChunk(qs, a, scalePairs, 2) + Q4KChunk(qs, a, scalePairs, 3);
            var aScale = scales[s * 8];
            accumulator = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum), Vector256.Create(table[*(ushort*)block] * aScale), accumulator);
            minimum = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(MinTerms(subMins, sums + s * 16)), Vector128.Create(table[*(ushort*)(block + 2)] * aScale), minimum);
        }

        return Vector256.Sum(accumulator) - Vector128.Sum(minimum);
    }

    /// <summary>
    /// <see cref="DotQ4_K"/> with 512-bit registers: each 32-byte chunk of nibbles is broadcast to both
    /// halves and shifted by 0 and 4 bits in one variable shift, so one register holds the 64 values of two
    /// sub-blocks in order against one 64-byte load of activations, and one vpermw gives both sub-block scales.
    /// </summary>
    private static float DotQ4_K512(byte* row, sbyte* values, float* scales, short* sums, int superBlocks)
    {
        var table = Dequantize.HalfToSingle;
        var mask = Vector512.Create((byte)0xF);
        var shifts = Vector512.Create(Vector256<ushort>.Zero, Vector256.Create((ushort)4));
        var index0 = Vector512.Create(Vector256.Create((short)0), Vector256.Create((short)1));
        var index1 = Vector512.Create(Vector256.Create((short)2), Vector256.Create((short)3));
        var index2 = Vector512.Create(Vector256.Create((short)4), Vector256.Create((short)5));
        var index3 = Vector512.Create(Vector256.Create((short)6), Vector256.Create((short)7));
        var accumulator = Vector512<float>.Zero;
        var minimum = Vector128<float>.Zero;
        for (var s = 0; s < superBlocks; s++)
        {
            var block = row + s * 144;
            UnpackScalesMinsK4(block + 4, out var subScales, out var subMins);
            var scales16 = Vector512.CreateScalar(subScales).AsByte();
            scales16 = Avx512BW.ConvertToVector512Int16(scales16.GetLower()).AsByte();
            var qs = (ulong*)(block + 16);
            var a = values + s * 256;
            var w0 = Avx512BW.ShiftRightLogicalVariable(Broadcast256(qs).AsUInt16(), shifts).AsByte() & mask;
            var w1 = Avx512BW.ShiftRightLogicalVariable(Broadcast256(qs + 4).AsUInt16(), shifts).AsByte() & mask;
            var w2 = Avx512BW.ShiftRightLogicalVariable(Broadcast256(qs + 8).AsUInt16(), shifts).AsByte() & mask;
            var w3 = Avx512BW.ShiftRightLogicalVariable(Broadcast256(qs + 12).AsUInt16(), shifts).AsByte() & mask;
            var s16 = scales16.AsInt16();
            var sum = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w0, Vector512.Load(a)), Avx512BW.PermuteVar32x16(s16, index0))
                + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w1, Vector512.Load(a + 64)), Avx512BW.PermuteVar32x16(s16, index1))
                + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w2, Vector512.Load(a + 128)), Avx512BW.PermuteVar32x16(s16, index2))
                + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w3, Vector512.Load(a + 192)), Avx512BW.PermuteVar32x16(s16, index3));
            var aScale = scales[s * 8];
            accumulator = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum), Vector512.Create(table[*(ushort*)block] * aScale), accumulator);
            minimum = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(MinTerms(subMins, sums + s * 16)), Vector128.Create(table[*(ushort*)(block + 2)] * aScale), minimum);
        }

        return Vector512.Sum(accumulator) - Vector128.Sum(minimum);
    }

    /// <summary>mins[j] · (activation sum of sub-block j), summed in pairs: four int32 lanes whose total is <see cref="MinTerm"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> MinTerms(ulong mins, short* sums16)
    {
        var pairSums = Ssse3.HorizontalAdd(Sse2.LoadVector128(sums16), Sse2.LoadVector128(sums16 + 8));
        var mins16 = Sse41.ConvertToVector128Int16(Vector128.CreateScalar(mins).AsByte());
        return Sse2.MultiplyAddAdjacent(mins16, pairSums);
    }

    /// <summary>64 values of a Q4_K block (sub-blocks 2c and 2c+1) against activations, scaled by the sub-block scales, in int32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q4KChunk(byte* qs, sbyte* a, Vector256<byte> scalePairs, int chunk)
    {
        var mask = Vector256.Create((byte)0xF);
        var packed = Avx.LoadVector256(qs + 32 * chunk);
        var low = packed & mask;
        var high = Avx2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & mask;
        var scale0 = Avx2.Shuffle(scalePairs, Vector256.Create((ushort)((4 * chunk) | ((4 * chunk + 1) << 8))).AsByte()).AsInt16();
        var scale1 = Avx2.Shuffle(scalePairs, Vector256.Create((ushort)((4 * chunk + 2) | ((4 * chunk + 3) << 8))).AsByte()).AsInt16();
        // 6-bit scale times |pair products| <= 2*15*128 fits the 16-bit vpmaddwd multiplier.
        return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(low, Avx.LoadVector256(a + 64 * chunk)), scale0)
            + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(high, Avx.LoadVector256(a + 64 * chunk + 32)), scale1);
    }

    private static float DotQ5_K(byte* row, sbyte* values, float* scales, short* sums, int superBlocks)
    {
        var table = Dequantize.HalfToSingle;
        var mask = Vector256.Create((byte)0xF);
        var sixteen = Vector256.Create((byte)0x10);
        var accumulator = Vector256<float>.Zero;
        var subScales = stackalloc int[8];
        var subMins = stackalloc int[8];
        float minimum = 0;
        for (var s = 0; s < superBlocks; s++)
        {
            var block = row + s * 176;
            ScalesMinsK4(block + 4, subScales, subMins);
            var highBits = Avx.LoadVector256(block + 16);
            var qs = block + 48;
            var a = values + s * 256;
            var aSums = sums + s * 16;
            var sum = Vector256<int>.Zero;
            var minSum = 0;
            for (var chunk = 0; chunk < 4; chunk++)
            {
                var packed = Avx.LoadVector256(qs + 32 * chunk);
                var bit0 = Vector256.Create((byte)(1 << (2 * chunk)));
                var bit1 = Vector256.Create((byte)(2 << (2 * chunk)));
                var low = (packed & mask) | (Vector256.Equals(highBits & bit0, bit0) & sixteen);
                var high = (Avx2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & mask) | (Vector256.Equals(highBits & bit1, bit1) & sixteen);
                var sub0 = 2 * chunk;
                var sub1 = sub0 + 1;
                sum += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(low, Avx.LoadVector256(a + 64 * chunk)), Vector256.Create((short)subScales[sub0]));
                sum += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(high, Avx.LoadVector256(a + 64 * chunk + 32)), Vector256.Create((short)subScales[sub1]));
                minSum += subMins[sub0] * (aSums[2 * sub0] + aSums[2 * sub0 + 1]) + subMins[sub1] * (aSums[2 * sub1] + aSums[2 * sub1 + 1]);
            }

            var aScale = scales[s * 8];
            accumulator = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum), Vector256.Create(table[*(ushort*)block] * aScale), accumulator);
            minimum += table[*(ushort*)(block + 2)] * aScale * minSum;
        }

        return Vector256.Sum(accumulator) - minimum;
    }

    /// <summary>The 32 unsigned 6-bit values (0..63) of part 0..3 of one 128-value half of a Q6_K block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Q6Part(Vector256<byte> ql0, Vector256<byte> ql1, Vector256<ushort> qh16, int part)
    {
        var mask = Vector256.Create((byte)0xF);
        var three = Vector256.Create((byte)3);
        return part switch
        {
            0 => (ql0 & mask) | Avx2.ShiftLeftLogical((qh16.AsByte() & three).AsUInt16(), 4).AsByte(),
            1 => (ql1 & mask) | Avx2.ShiftLeftLogical((Avx2.ShiftRightLogical(qh16, 2).AsByte() & three).AsUInt16(), 4).AsByte(),
            2 => (Avx2.ShiftRightLogical(ql0.AsUInt16(), 4).AsByte() & mask) | Avx2.ShiftLeftLogical((Avx2.ShiftRightLogical(qh16, 4).AsByte() & three).AsUInt16(), 4).AsByte(),
            _ => (Avx2.ShiftRightLogical(ql1.AsUInt16(), 4).AsByte() & mask) | Avx2.ShiftLeftLogical((Avx2.ShiftRightLogical(qh16, 6).AsByte() & three).AsUInt16(), 4).AsByte(),
        };
    }

    private static float DotQ6_K(byte* row, sbyte* values, float* scales, short* sums, int superBlocks)
    {
        var table = Dequantize.HalfToSingle;
        var accumulator = Vector256<float>.Zero;
        for (var s = 0; s < superBlocks; s++)
        {
            var block = row + s * 210;
            // The 16 group scales as 16-bit values: groups 0..7 in both lanes of one vector, 8..15 of another.
            var scales16 = Avx2.ConvertToVector256Int16(Sse2.LoadVector128((sbyte*)(block + 192)));
            var lowGroups = Avx2.Permute2x128(scales16, scales16, 0x00).AsByte();
            var highGroups = Avx2.Permute2x128(scales16, scales16, 0x11).AsByte();
            var a = values + s * 256;
            var aSums = sums + s * 16;
            var ql0 = Avx.LoadVector256(block);
            var ql1 = Avx.LoadVector256(block + 32);
            var qh16 = Avx.LoadVector256(block + 128).AsUInt16();
            var sum = Q6KChunk(Q6Part(ql0, ql1, qh16, 0), a, lowGroups, 0)
                + Q6KChunk(Q6Part(ql0, ql1, qh16, 1), a + 32, lowGroups, 2)
                + Q6KChunk(Q6Part(ql0, ql1, qh16, 2), a + 64, lowGroups, 4)
                + Q6KChunk(Q6Part(ql0, ql1, qh16, 3), a + 96, lowGroups, 6);
            ql0 = Avx.LoadVector256(block + 64);
            ql1 = Avx.LoadVector256(block + 96);
            qh16 = Avx.LoadVector256(block + 160).AsUInt16();
            sum += Q6KChunk(Q6Part(ql0, ql1, qh16, 0), a + 128, highGroups, 0)
                + Q6KChunk(Q6Part(ql0, ql1, qh16, 1), a + 160, highGroups, 2)
                + Q6KChunk(Q6Part(ql0, ql1, qh16, 2), a + 192, highGroups, 4)
                + Q6KChunk(Q6Part(ql0, ql1, qh16, 3), a + 224, highGroups, 6);

            // The stored values are offset by 32: subtract 32 · Σ scale_g · (activation sum of group g),
            // lane by lane (only the total of the lanes matters), with no horizontal sum.
            var offset = Avx2.MultiplyAddAdjacent(scales16, Avx.LoadVector256(aSums));
            var total = Avx.ConvertToVector256Single(sum - Avx2.ShiftLeftLogical(offset, 5));
            accumulator = Fma.MultiplyAdd(total, Vector256.Create(table[*(ushort*)(block + 208)] * scales[s * 8]), accumulator);
        }

        return Vector256.Sum(accumulator);
    }

    /// <summary>
    /// <see cref="DotQ6_K"/> with 512-bit registers. Each 128-value half of a block is two registers: the 64
    /// low-bit bytes give values 0-63 (low nibbles) and 64-127 (high nibbles), each in order against one
    /// 64-byte load of activations; the 32 high-bit bytes, broadcast to both halves and shifted by a
    /// different amount in each, supply bits 4-5; one vpermw spreads four group scales over the 16-value
    /// groups of a register.
    /// </summary>
    private static float DotQ6_K512(byte* row, sbyte* values, float* scales, short* sums, int superBlocks)
    {
        var table = Dequantize.HalfToSingle;
        var low = Vector512.Create((byte)0xF);
        var highBits = Vector512.Create((byte)0x30);
        // Values 0-31 take qh bits 0-1 (<< 4), 32-63 bits 2-3 (<< 2), 64-95 bits 4-5 (>> 0), 96-127 bits 6-7 (>> 2).
        var leftShifts = Vector512.Create(Vector256.Create((ushort)4), Vector256.Create((ushort)2));
        var rightShifts = Vector512.Create(Vector256<ushort>.Zero, Vector256.Create((ushort)2));
        static Vector512<short> Groups(int first) => Vector512.Create(
            Vector256.Create(Vector128.Create((short)first), Vector128.Create((short)(first + 1))),
            Vector256.Create(Vector128.Create((short)(first + 2)), Vector128.Create((short)(first + 3))));
        var groups0 = Groups(0);
        var groups1 = Groups(4);
        var groups2 = Groups(8);
        var groups3 = Groups(12);
        var accumulator = Vector512<float>.Zero;
        for (var s = 0; s < superBlocks; s++)
        {
            var block = row + s * 210;
            var scales16 = Avx512BW.ConvertToVector512Int16(Vector256.Create(Sse2.LoadVector128((sbyte*)(block + 192)), Vector128<sbyte>.Zero));
            var a = values + s * 256;
            var sum = Vector512<int>.Zero;
            for (var half = 0; half < 2; half++)
            {
                var ql = Vector512.Load(block + 64 * half);
                var qh = Broadcast256((ulong*)(block + 128 + 32 * half)).AsUInt16();
                var weightsLow = (ql & low) | (Avx512BW.ShiftLeftLogicalVariable(qh, leftShifts).AsByte() & highBits);
                var weightsHigh = (Avx512BW.ShiftRightLogical(ql.AsUInt16(), 4).AsByte() & low) | (Avx512BW.ShiftRightLogicalVariable(qh, rightShifts).AsByte() & highBits);
                var h = a + 128 * half;
                sum += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(weightsLow, Vector512.Load(h)), Avx512BW.PermuteVar32x16(scales16, half == 0 ? groups0 : groups2))
                    + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(weightsHigh, Vector512.Load(h + 64)), Avx512BW.PermuteVar32x16(scales16, half == 0 ? groups1 : groups3));
            }

            // The stored values are offset by 32: subtract 32 · Σ scale_g · (activation sum of group g), lane by lane.
            var offset = Avx2.MultiplyAddAdjacent(scales16.GetLower(), Avx.LoadVector256(sums + s * 16));
            var total = sum - Vector512.Create(Avx2.ShiftLeftLogical(offset, 5), Vector256<int>.Zero);
            accumulator = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(total), Vector512.Create(table[*(ushort*)(block + 208)] * scales[s * 8]), accumulator);
        }

        return Vector512.Sum(accumulator);
    }

    /// <summary>32 values of a Q6_K block (groups g and g+1 of a half) against activations, scaled by the group scales, in int32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q6KChunk(Vector256<byte> weights, sbyte* a, Vector256<byte> groupScales, int group)
    {
        // Lane 0 takes scale g, lane 1 scale g+1 (each lane holds all eight as 16-bit values).
        var control = Vector256.Create(
            Vector128.Create((ushort)((2 * group) | ((2 * group + 1) << 8))).AsByte(),
            Vector128.Create((ushort)((2 * group + 2) | ((2 * group + 3) << 8))).AsByte());
        var scale = Avx2.Shuffle(groupScales, control).AsInt16();
        return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(weights, Avx.LoadVector256(a)), scale);
    }

    /// <summary>Whether <see cref="Dot4"/> has a kernel for <paramref name="type"/>.</summary>
    public static bool HasDot4(GgmlType type) => IsAccelerated && type is GgmlType.Q8_0 or GgmlType.Q5_0 or GgmlType.Q4_K or GgmlType.Q6_K;

    /// <summary>
    /// One weight row against four consecutive rows of quantized activations (a prompt's tokens):
    /// each weight block is loaded and unpacked once for all four, which is what makes prefill fast.
    /// <paramref name="output"/>[t] receives the dot with token t.
    /// </summary>
    public static void Dot4(GgmlType type, byte* row, QuantizedActivations activations, int firstToken, int columns, float* output)
    {
        var values = activations.ValuesOf(firstToken);
        var scales = activations.ScalesOf(firstToken);
        var sums = activations.SumsOf(firstToken);
        switch (type)
        {
            case GgmlType.Q8_0: Dot4Q8_0(row, values, scales, columns, output); break;
            case GgmlType.Q5_0: Dot4Q5_0(row, values, scales, sums, columns, output); break;
            case GgmlType.Q4_K: Dot4Q4_K(row, values, scales, sums, columns, output); break;
            case GgmlType.Q6_K: Dot4Q6_K(row, values, scales, sums, columns, output); break;
            default: throw new NotSupportedException($"No four-token kernel for {type}.");
        }
    }

    private static void Dot4Q8_0(byte* row, sbyte* values, float* scales, int columns, float* output)
    {
        var table = Dequantize.HalfToSingle;
        var ones = Vector256.Create((short)1);
        var blocks = columns / 32;
        var scaleStride = columns / 32;
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (var b = 0; b < blocks; b++)
        {
            var block = row + b * 34;
            var weights = Avx.LoadVector256((sbyte*)(block + 2));
            var magnitude = Avx2.Abs(weights);
            var d = table[*(ushort*)block];
            var a = values + b * 32;
            acc0 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(magnitude, Avx2.Sign(Avx.LoadVector256(a), weights)), ones), Vector256.Create(d * scales[b]), acc0);
            acc1 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(magnitude, Avx2.Sign(Avx.LoadVector256(a + columns), weights)), ones), Vector256.Create(d * scales[b + scaleStride]), acc1);
            acc2 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(magnitude, Avx2.Sign(Avx.LoadVector256(a + 2 * columns), weights)), ones), Vector256.Create(d * scales[b + 2 * scaleStride]), acc2);
            acc3 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(magnitude, Avx2.Sign(Avx.LoadVector256(a + 3 * columns), weights)), ones), Vector256.Create(d * scales[b + 3 * scaleStride]), acc3);
        }

        output[0] = Vector256.Sum(acc0);
        output[1] = Vector256.Sum(acc1);
        output[2] = Vector256.Sum(acc2);
        output[3] = Vector256.Sum(acc3);
    }

    /// <summary>Whether <see cref="Dot2x4"/> has a kernel for <paramref name="type"/>.</summary>
    public static bool HasDot2x4(GgmlType type) => IsAccelerated && type is GgmlType.Q8_0 or GgmlType.Q5_0 or GgmlType.Q4_K;

    /// <summary>
    /// Two weight rows against four consecutive rows of quantized activations: each activation block
    /// is loaded once for both rows and each weight block once for all four tokens, which halves the
    /// activation traffic of <see cref="Dot4"/> (it is what bounds the long rows of ffn_down).
    /// <paramref name="output"/>[4r + t] receives the dot of row r with token t.
    /// </summary>
    public static void Dot2x4(GgmlType type, byte* row0, byte* row1, QuantizedActivations activations, int firstToken, int columns, float* output)
    {
        var values = activations.ValuesOf(firstToken);
        var scales = activations.ScalesOf(firstToken);
        switch (type)
        {
            case GgmlType.Q8_0: Dot2x4Q8_0(row0, row1, values, scales, columns, output); break;
            case GgmlType.Q5_0: Dot2x4Q5_0(row0, row1, values, scales, activations.SumsOf(firstToken), columns, output); break;
            case GgmlType.Q4_K: Dot2x4Q4_K(row0, row1, values, scales, activations.SumsOf(firstToken), columns, output); break;
            default: throw new NotSupportedException($"No two-row kernel for {type}.");
        }
    }

    private static void Dot2x4Q8_0(byte* row0, byte* row1, sbyte* values, float* scales, int columns, float* output)
    {
        var table = Dequantize.HalfToSingle;
        var ones = Vector256.Create((short)1);
        var blocks = columns / 32;
        Vector256<float> acc00 = default, acc01 = default, acc02 = default, acc03 = default;
        Vector256<float> acc10 = default, acc11 = default, acc12 = default, acc13 = default;
        for (var b = 0; b < blocks; b++)
        {
            var block0 = row0 + b * 34;
            var block1 = row1 + b * 34;
            var weights0 = Avx.LoadVector256((sbyte*)(block0 + 2));
            var weights1 = Avx.LoadVector256((sbyte*)(block1 + 2));
            var magnitude0 = Avx2.Abs(weights0);
            var magnitude1 = Avx2.Abs(weights1);
            var d0 = Vector256.Create(table[*(ushort*)block0]);
            var d1 = Vector256.Create(table[*(ushort*)block1]);
            var a = values + b * 32;
            var s = scales + b;

            var x = Avx.LoadVector256(a);
            var scale = Vector256.Create(s[0]);
            acc00 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(magnitude0, Avx2.Sign(x, weights0)), ones), d0 * scale, acc00);
            acc10 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(magnitude1, Avx2.Sign(x, weights1)), ones), d1 * scale, acc10);
            x = Avx.LoadVector256(a + columns);
            scale = Vector256.Create(s[blocks]);
            acc01 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(magnitude0, Avx2.Sign(x, weights0)), ones), d0 * scale, acc01);
            acc11 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(magnitude1, Avx2.Sign(x, weights1)), ones), d1 * scale, acc11);
            x = Avx.LoadVector256(a + 2 * columns);
            scale = Vector256.Create(s[2 * blocks]);
            acc02 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(magnitude0, Avx2.Sign(x, weights0)), ones), d0 * scale, acc02);
            acc12 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(magnitude1, Avx2.Sign(x, weights1)), ones), d1 * scale, acc12);
            x = Avx.LoadVector256(a + 3 * columns);
            scale = Vector256.Create(s[3 * blocks]);
            acc03 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(magnitude0, Avx2.Sign(x, weights0)), ones), d0 * scale, acc03);
            acc13 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(magnitude1, Avx2.Sign(x, weights1)), ones), d1 * scale, acc13);
        }

        output[0] = Vector256.Sum(acc00);
        output[1] = Vector256.Sum(acc01);
        output[2] = Vector256.Sum(acc02);
        output[3] = Vector256.Sum(acc03);
        output[4] = Vector256.Sum(acc10);
        output[5] = Vector256.Sum(acc11);
        output[6] = Vector256.Sum(acc12);
        output[7] = Vector256.Sum(acc13);
    }

    private static void Dot2x4Q5_0(byte* row0, byte* row1, sbyte* values, float* scales, short* sums, int columns, float* output)
    {
        var table = Dequantize.HalfToSingle;
        var ones = Vector256.Create((short)1);
        var mask = Vector128.Create((byte)0xF);
        var blocks = columns / 32;
        var sumStride = columns / 16;
        Vector256<float> acc00 = default, acc01 = default, acc02 = default, acc03 = default;
        Vector256<float> acc10 = default, acc11 = default, acc12 = default, acc13 = default;
        // The weights are stored as 0..31 for -16..15: Σ d·s·(q - 16)·a = Σ d·s·q·a - 16·d·s·Σa, the
        // second term accumulated per (row, token) from the activation sums.
        var offset = Vector256<float>.Zero;
        for (var b = 0; b < blocks; b++)
        {
            var block0 = row0 + b * 22;
            var block1 = row1 + b * 22;
            var packed0 = Sse2.LoadVector128(block0 + 6);
            var packed1 = Sse2.LoadVector128(block1 + 6);
            var weights0 = Vector256.Create(packed0 & mask, Sse2.ShiftRightLogical(packed0.AsUInt16(), 4).AsByte() & mask) | FifthBits(*(uint*)(block0 + 2));
            var weights1 = Vector256.Create(packed1 & mask, Sse2.ShiftRightLogical(packed1.AsUInt16(), 4).AsByte() & mask) | FifthBits(*(uint*)(block1 + 2));
            var d0 = table[*(ushort*)block0];
            var d1 = table[*(ushort*)block1];
            var a = values + b * 32;
            var s = sums + 2 * b;
            var f = Vector128.Create(scales[b], scales[b + blocks], scales[b + 2 * blocks], scales[b + 3 * blocks]);
            var f0 = f * d0;
            var f1 = f * d1;
            // Activation sums of this block for the four tokens, times both rows' scales: lanes 0-3 row 0, 4-7 row 1.
            var tokenSums = Vector128.Create(s[0] + s[1], s[sumStride] + s[sumStride + 1], s[2 * sumStride] + s[2 * sumStride + 1], s[3 * sumStride] + s[3 * sumStride + 1]);
            var sumsFloat = Sse2.ConvertToVector128Single(tokenSums);
            offset = Fma.MultiplyAdd(Vector256.Create(sumsFloat, sumsFloat), Vector256.Create(f0, f1), offset);

            var x = Avx.LoadVector256(a);
            acc00 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(weights0, x), ones), Vector256.Create(f0.GetElement(0)), acc00);
            acc10 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(weights1, x), ones), Vector256.Create(f1.GetElement(0)), acc10);
            x = Avx.LoadVector256(a + columns);
            acc01 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(weights0, x), ones), Vector256.Create(f0.GetElement(1)), acc01);
            acc11 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(weights1, x), ones), Vector256.Create(f1.GetElement(1)), acc11);
            x = Avx.LoadVector256(a + 2 * columns);
            acc02 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(weights0, x), ones), Vector256.Create(f0.GetElement(2)), acc02);
            acc12 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(weights1, x), ones), Vector256.Create(f1.GetElement(2)), acc12);
            x = Avx.LoadVector256(a + 3 * columns);
            acc03 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(weights0, x), ones), Vector256.Create(f0.GetElement(3)), acc03);
            acc13 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(weights1, x), ones), Vector256.Create(f1.GetElement(3)), acc13);
        }

        offset *= 16;
        output[0] = Vector256.Sum(acc00) - offset.GetElement(0);
        output[1] = Vector256.Sum(acc01) - offset.GetElement(1);
        output[2] = Vector256.Sum(acc02) - offset.GetElement(2);
        output[3] = Vector256.Sum(acc03) - offset.GetElement(3);
        output[4] = Vector256.Sum(acc10) - offset.GetElement(4);
        output[5] = Vector256.Sum(acc11) - offset.GetElement(5);
        output[6] = Vector256.Sum(acc12) - offset.GetElement(6);
        output[7] = Vector256.Sum(acc13) - offset.GetElement(7);
    }

    /// <summary>
    /// Unpacks a Q8_0 row into its signed values (32 per block, contiguous) and its block scales as floats, for
    /// <see cref="Dot2x4Int8"/>.
    /// </summary>
    public static void UnpackQ8_0(byte* row, int columns, sbyte* values, float* rowScales)
    {
        var table = Dequantize.HalfToSingle;
        for (var b = 0; b < columns / 32; b++)
        {
            var block = row + b * 34;
            Avx.Store(values + b * 32, Avx.LoadVector256((sbyte*)(block + 2)));
            rowScales[b] = table[*(ushort*)block];
        }
    }

    /// <summary>
    /// Unpacks a Q5_0 row into its signed values (-16..15, 32 per block, contiguous) and its block scales as floats, for
    /// <see cref="Dot2x4Int8"/>.
    /// </summary>
    public static void UnpackQ5_0Signed(byte* row, int columns, sbyte* values, float* rowScales)
    {
        var table = Dequantize.HalfToSingle;
        var mask = Vector128.Create((byte)0xF);
        var sixteen = Vector256.Create((byte)16);
        for (var b = 0; b < columns / 32; b++)
        {
            var block = row + b * 22;
            var packed = Sse2.LoadVector128(block + 6);
            var weights = Vector256.Create(packed & mask, Sse2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & mask) | FifthBits(*(uint*)(block + 2));
            Avx.Store(values + b * 32, (weights - sixteen).AsSByte());
            rowScales[b] = table[*(ushort*)block];
        }
    }

    /// <summary>Whether <see cref="Dot2x4Int8"/> runs on this CPU (AVX-512BW).</summary>
    public static bool HasDot2x4Int8 => IsAccelerated && Avx512BW.IsSupported;

    /// <summary>
    /// Two rows of unpacked signed 8-bit weights (<see cref="UnpackQ8_0"/>) against four tokens, two blocks per 512-bit
    /// register: AVX-512 has no vpsignb, so each row's negative weights become a mask once per block pair, and each
    /// token's activations are negated once and blended per row (vpblendmb) before vpmaddubsw with |w|.
    /// <paramref name="output"/>[4r + t] receives the dot of row r with token <paramref name="firstToken"/> + t.
    /// </summary>
    public static void Dot2x4Int8(sbyte* row0, sbyte* row1, float* rowScales0, float* rowScales1, QuantizedActivations activations, int firstToken, int columns, float* output)
    {
        var values = activations.ValuesOf(firstToken);
        var scales = activations.ScalesOf(firstToken);
        var blocks = columns / 32;
        var ones = Vector512.Create((short)1);
        var pairIndex = Vector512.Create(Vector256<int>.Zero, Vector256.Create(1));
        Vector512<float> acc00 = default, acc01 = default, acc02 = default, acc03 = default;
        Vector512<float> acc10 = default, acc11 = default, acc12 = default, acc13 = default;
        var b = 0;
        for (; b + 2 <= blocks; b += 2)
        {
            var w0 = Vector512.Load(row0 + b * 32);
            var w1 = Vector512.Load(row1 + b * 32);
            var magnitude0 = Avx512BW.Abs(w0);
            var magnitude1 = Avx512BW.Abs(w1);
            var negative0 = Vector512.LessThan(w0, Vector512<sbyte>.Zero);
            var negative1 = Vector512.LessThan(w1, Vector512<sbyte>.Zero);
            var d0 = PairScales(rowScales0 + b, pairIndex);
            var d1 = PairScales(rowScales1 + b, pairIndex);
            var a = values + b * 32;
            var s = scales + b;
            Int8Pair(a, s, pairIndex, magnitude0, magnitude1, negative0, negative1, d0, d1, ones, ref acc00, ref acc10);
            Int8Pair(a + columns, s + blocks, pairIndex, magnitude0, magnitude1, negative0, negative1, d0, d1, ones, ref acc01, ref acc11);
            Int8Pair(a + 2 * columns, s + 2 * blocks, pairIndex, magnitude0, magnitude1, negative0, negative1, d0, d1, ones, ref acc02, ref acc12);
            Int8Pair(a + 3 * columns, s + 3 * blocks, pairIndex, magnitude0, magnitude1, negative0, negative1, d0, d1, ones, ref acc03, ref acc13);
        }

        var tail = stackalloc float[8];
        new Span<float>(tail, 8).Clear();
        if (b < blocks)
        {
            // An odd last block: plain 256-bit products.
            var w0 = Avx.LoadVector256(row0 + b * 32);
            var w1 = Avx.LoadVector256(row1 + b * 32);
            var ones256 = Vector256.Create((short)1);
            for (var t = 0; t < 4; t++)
            {
                var x = Avx.LoadVector256(values + t * columns + b * 32);
                var scale = scales[t * blocks + b];
                tail[t] = Vector256.Sum(ToFloat(Avx2.MultiplyAddAdjacent(Avx2.Abs(w0), Avx2.Sign(x, w0)), ones256)) * rowScales0[b] * scale;
                tail[4 + t] = Vector256.Sum(ToFloat(Avx2.MultiplyAddAdjacent(Avx2.Abs(w1), Avx2.Sign(x, w1)), ones256)) * rowScales1[b] * scale;
            }
        }

        Vector128.Store(Sum4(acc00, acc01, acc02, acc03) + Vector128.Load(tail), output);
        Vector128.Store(Sum4(acc10, acc11, acc12, acc13) + Vector128.Load(tail + 4), output + 4);
    }

    /// <summary>scales[0] in lanes 0-7 and scales[1] in lanes 8-15 (the int32 lanes of two blocks' products), without a trip through memory.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> PairScales(float* scales, Vector512<int> pairIndex) =>
        Avx512F.PermuteVar16x32(Vector128.CreateScalarUnsafe(*(double*)scales).AsSingle().ToVector256Unsafe().ToVector512Unsafe(), pairIndex);

    /// <summary>One token's two blocks against two rows' (see <see cref="Dot2x4Int8"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Int8Pair(sbyte* a, float* s, Vector512<int> pairIndex, Vector512<byte> magnitude0, Vector512<byte> magnitude1, Vector512<sbyte> negative0, Vector512<sbyte> negative1, Vector512<float> d0, Vector512<float> d1, Vector512<short> ones, ref Vector512<float> acc0, ref Vector512<float> acc1)
    {
        var x = Vector512.Load(a);
        var negated = Vector512<sbyte>.Zero - x;
        var scale = PairScales(s, pairIndex);
        var p0 = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(magnitude0, Vector512.ConditionalSelect(negative0, negated, x)), ones);
        var p1 = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(magnitude1, Vector512.ConditionalSelect(negative1, negated, x)), ones);
        acc0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(p0), d0 * scale, acc0);
        acc1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(p1), d1 * scale, acc1);
    }

    private static void Dot2x4Q4_K(byte* row0, byte* row1, sbyte* values, float* scales, short* sums, int columns, float* output)
    {
        var table = Dequantize.HalfToSingle;
        var mask = Vector256.Create((byte)0xF);
        var scaleStride = columns / 32;
        var sumStride = columns / 16;
        Vector256<float> acc00 = default, acc01 = default, acc02 = default, acc03 = default;
        Vector256<float> acc10 = default, acc11 = default, acc12 = default, acc13 = default;
        float min00 = 0, min01 = 0, min02 = 0, min03 = 0, min10 = 0, min11 = 0, min12 = 0, min13 = 0;
        for (var s = 0; s < columns / 256; s++)
        {
            var block0 = row0 + s * 144;
            var block1 = row1 + s * 144;
            UnpackScalesMinsK4(block0 + 4, out var subScales0, out var subMins0);
            UnpackScalesMinsK4(block1 + 4, out var subScales1, out var subMins1);
            Vector256<int> sum00 = default, sum01 = default, sum02 = default, sum03 = default;
            Vector256<int> sum10 = default, sum11 = default, sum12 = default, sum13 = default;
            for (var sub = 0; sub < 8; sub++)
            {
                var packed0 = Avx.LoadVector256(block0 + 16 + 32 * (sub >> 1));
                var packed1 = Avx.LoadVector256(block1 + 16 + 32 * (sub >> 1));
                var weights0 = (sub & 1) == 0 ? packed0 & mask : Avx2.ShiftRightLogical(packed0.AsUInt16(), 4).AsByte() & mask;
                var weights1 = (sub & 1) == 0 ? packed1 & mask : Avx2.ShiftRightLogical(packed1.AsUInt16(), 4).AsByte() & mask;
                var scale0 = Vector256.Create(Byte(subScales0, sub));
                var scale1 = Vector256.Create(Byte(subScales1, sub));
                var a = values + s * 256 + 32 * sub;
                var x = Avx.LoadVector256(a);
                sum00 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(weights0, x), scale0);
                sum10 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(weights1, x), scale1);
                x = Avx.LoadVector256(a + columns);
                sum01 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(weights0, x), scale0);
                sum11 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(weights1, x), scale1);
                x = Avx.LoadVector256(a + 2 * columns);
                sum02 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(weights0, x), scale0);
                sum12 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(weights1, x), scale1);
                x = Avx.LoadVector256(a + 3 * columns);
                sum03 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(weights0, x), scale0);
                sum13 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(weights1, x), scale1);
            }

            var d0 = table[*(ushort*)block0];
            var d1 = table[*(ushort*)block1];
            var dmin0 = table[*(ushort*)(block0 + 2)];
            var dmin1 = table[*(ushort*)(block1 + 2)];
            var index = s * 8;
            var si = s * 16;
            var a0 = scales[index];
            var a1 = scales[index + scaleStride];
            var a2 = scales[index + 2 * scaleStride];
            var a3 = scales[index + 3 * scaleStride];
            acc00 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum00), Vector256.Create(d0 * a0), acc00);
            acc01 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum01), Vector256.Create(d0 * a1), acc01);
            acc02 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum02), Vector256.Create(d0 * a2), acc02);
            acc03 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum03), Vector256.Create(d0 * a3), acc03);
            acc10 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum10), Vector256.Create(d1 * a0), acc10);
            acc11 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum11), Vector256.Create(d1 * a1), acc11);
            acc12 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum12), Vector256.Create(d1 * a2), acc12);
            acc13 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum13), Vector256.Create(d1 * a3), acc13);
            min00 += dmin0 * a0 * MinTerm(subMins0, sums + si);
            min01 += dmin0 * a1 * MinTerm(subMins0, sums + si + sumStride);
            min02 += dmin0 * a2 * MinTerm(subMins0, sums + si + 2 * sumStride);
            min03 += dmin0 * a3 * MinTerm(subMins0, sums + si + 3 * sumStride);
            min10 += dmin1 * a0 * MinTerm(subMins1, sums + si);
            min11 += dmin1 * a1 * MinTerm(subMins1, sums + si + sumStride);
            min12 += dmin1 * a2 * MinTerm(subMins1, sums + si + 2 * sumStride);
            min13 += dmin1 * a3 * MinTerm(subMins1, sums + si + 3 * sumStride);
        }

        output[0] = Vector256.Sum(acc00) - min00;
        output[1] = Vector256.Sum(acc01) - min01;
        output[2] = Vector256.Sum(acc02) - min02;
        output[3] = Vector256.Sum(acc03) - min03;
        output[4] = Vector256.Sum(acc10) - min10;
        output[5] = Vector256.Sum(acc11) - min11;
        output[6] = Vector256.Sum(acc12) - min12;
        output[7] = Vector256.Sum(acc13) - min13;
    }

    private static void Dot4Q5_0(byte* row, sbyte* values, float* scales, short* sums, int columns, float* output)
    {
        var table = Dequantize.HalfToSingle;
        var ones = Vector256.Create((short)1);
        var mask = Vector128.Create((byte)0xF);
        var blocks = columns / 32;
        var scaleStride = columns / 32;
        var sumStride = columns / 16;
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        float offset0 = 0, offset1 = 0, offset2 = 0, offset3 = 0;
        for (var b = 0; b < blocks; b++)
        {
            var block = row + b * 22;
            var high = FifthBits(*(uint*)(block + 2));
            var packed = Sse2.LoadVector128(block + 6);
            var weights = Vector256.Create(packed & mask, Sse2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & mask) | high;
            var d = table[*(ushort*)block];
            var a = values + b * 32;
            var s = sums + 2 * b;
            var f0 = d * scales[b];
            var f1 = d * scales[b + scaleStride];
            var f2 = d * scales[b + 2 * scaleStride];
            var f3 = d * scales[b + 3 * scaleStride];
            acc0 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(weights, Avx.LoadVector256(a)), ones), Vector256.Create(f0), acc0);
            acc1 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(weights, Avx.LoadVector256(a + columns)), ones), Vector256.Create(f1), acc1);
            acc2 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(weights, Avx.LoadVector256(a + 2 * columns)), ones), Vector256.Create(f2), acc2);
            acc3 = Fma.MultiplyAdd(ToFloat(Avx2.MultiplyAddAdjacent(weights, Avx.LoadVector256(a + 3 * columns)), ones), Vector256.Create(f3), acc3);
            offset0 += f0 * (s[0] + s[1]);
            offset1 += f1 * (s[sumStride] + s[sumStride + 1]);
            offset2 += f2 * (s[2 * sumStride] + s[2 * sumStride + 1]);
            offset3 += f3 * (s[3 * sumStride] + s[3 * sumStride + 1]);
        }

        output[0] = Vector256.Sum(acc0) - 16 * offset0;
        output[1] = Vector256.Sum(acc1) - 16 * offset1;
        output[2] = Vector256.Sum(acc2) - 16 * offset2;
        output[3] = Vector256.Sum(acc3) - 16 * offset3;
    }

    private static void Dot4Q4_K(byte* row, sbyte* values, float* scales, short* sums, int columns, float* output)
    {
        var table = Dequantize.HalfToSingle;
        var mask = Vector256.Create((byte)0xF);
        var scaleStride = columns / 32;
        var sumStride = columns / 16;
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        float minimum0 = 0, minimum1 = 0, minimum2 = 0, minimum3 = 0;
        for (var s = 0; s < columns / 256; s++)
        {
            var block = row + s * 144;
            UnpackScalesMinsK4(block + 4, out var subScales, out var subMins);
            var qs = block + 16;
            Vector256<int> sum0 = default, sum1 = default, sum2 = default, sum3 = default;
            for (var sub = 0; sub < 8; sub++)
            {
                var packed = Avx.LoadVector256(qs + 32 * (sub >> 1));
                var weights = (sub & 1) == 0 ? packed & mask : Avx2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & mask;
                var scale16 = Vector256.Create(Byte(subScales, sub));
                var a = values + s * 256 + 32 * sub;
                sum0 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(weights, Avx.LoadVector256(a)), scale16);
                sum1 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(weights, Avx.LoadVector256(a + columns)), scale16);
                sum2 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(weights, Avx.LoadVector256(a + 2 * columns)), scale16);
                sum3 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(weights, Avx.LoadVector256(a + 3 * columns)), scale16);
            }

            var d = table[*(ushort*)block];
            var dmin = table[*(ushort*)(block + 2)];
            var index = s * 8;
            var si = s * 16;
            acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum0), Vector256.Create(d * scales[index]), acc0);
            acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum1), Vector256.Create(d * scales[index + scaleStride]), acc1);
            acc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum2), Vector256.Create(d * scales[index + 2 * scaleStride]), acc2);
            acc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum3), Vector256.Create(d * scales[index + 3 * scaleStride]), acc3);
            minimum0 += dmin * scales[index] * MinTerm(subMins, sums + si);
            minimum1 += dmin * scales[index + scaleStride] * MinTerm(subMins, sums + si + sumStride);
            minimum2 += dmin * scales[index + 2 * scaleStride] * MinTerm(subMins, sums + si + 2 * sumStride);
            minimum3 += dmin * scales[index + 3 * scaleStride] * MinTerm(subMins, sums + si + 3 * sumStride);
        }

        output[0] = Vector256.Sum(acc0) - minimum0;
        output[1] = Vector256.Sum(acc1) - minimum1;
        output[2] = Vector256.Sum(acc2) - minimum2;
        output[3] = Vector256.Sum(acc3) - minimum3;
    }

    private static void Dot4Q6_K(byte* row, sbyte* values, float* scales, short* sums, int columns, float* output)
    {
        var table = Dequantize.HalfToSingle;
        var scaleStride = columns / 32;
        var sumStride = columns / 16;
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (var s = 0; s < columns / 256; s++)
        {
            var block = row + s * 210;
            var blockScales = (sbyte*)(block + 192);
            Vector256<int> sum0 = default, sum1 = default, sum2 = default, sum3 = default;
            int offset0 = 0, offset1 = 0, offset2 = 0, offset3 = 0;
            for (var half = 0; half < 2; half++)
            {
                var ql0 = Avx.LoadVector256(block + 64 * half);
                var ql1 = Avx.LoadVector256(block + 64 * half + 32);
                var qh16 = Avx.LoadVector256(block + 128 + 32 * half).AsUInt16();
                for (var part = 0; part < 4; part++)
                {
                    var group = 8 * half + 2 * part;
                    var weights = Q6Part(ql0, ql1, qh16, part);
                    short scale0 = blockScales[group];
                    short scale1 = blockScales[group + 1];
                    var scale16 = Vector256.Create(Vector128.Create(scale0), Vector128.Create(scale1));
                    var a = values + s * 256 + 16 * group;
                    sum0 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(weights, Avx.LoadVector256(a)), scale16);
                    sum1 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(weights, Avx.LoadVector256(a + columns)), scale16);
                    sum2 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(weights, Avx.LoadVector256(a + 2 * columns)), scale16);
                    sum3 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(weights, Avx.LoadVector256(a + 3 * columns)), scale16);
                    var si = s * 16 + group;
                    offset0 += scale0 * sums[si] + scale1 * sums[si + 1];
                    offset1 += scale0 * sums[si + sumStride] + scale1 * sums[si + sumStride + 1];
                    offset2 += scale0 * sums[si + 2 * sumStride] + scale1 * sums[si + 2 * sumStride + 1];
                    offset3 += scale0 * sums[si + 3 * sumStride] + scale1 * sums[si + 3 * sumStride + 1];
                }
            }

            var d = table[*(ushort*)(block + 208)];
            var index = s * 8;
            acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum0 - Vector256.CreateScalar(32 * offset0)), Vector256.Create(d * scales[index]), acc0);
            acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum1 - Vector256.CreateScalar(32 * offset1)), Vector256.Create(d * scales[index + scaleStride]), acc1);
            acc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum2 - Vector256.CreateScalar(32 * offset2)), Vector256.Create(d * scales[index + 2 * scaleStride]), acc2);
            acc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum3 - Vector256.CreateScalar(32 * offset3)), Vector256.Create(d * scales[index + 3 * scaleStride]), acc3);
        }

        output[0] = Vector256.Sum(acc0);
        output[1] = Vector256.Sum(acc1);
        output[2] = Vector256.Sum(acc2);
        output[3] = Vector256.Sum(acc3);
    }

    /// <summary>Whether <see cref="Dot4Rows"/> has a kernel for <paramref name="type"/> on this CPU.</summary>
    public static bool HasDot4Rows(GgmlType type) =>
        IsAccelerated && (type is GgmlType.Q8_0 or GgmlType.Q5_0 || (Avx512BW.IsSupported && type is GgmlType.Q4_K or GgmlType.Q6_K));

    /// <summary>
    /// Four consecutive weight rows (<paramref name="rowBytes"/> apart) against one row of quantized
    /// activations: the single-token (decode) product. The rows are read one after another (reading them
    /// side by side, sharing each activation load, ran 20-40% faster in cache but 2-3x slower from memory:
    /// four interleaved streams defeat the hardware prefetcher); each row takes two blocks per step with
    /// two accumulators, and the four horizontal sums are done together at the end, with one dispatch per
    /// four rows. <paramref name="output"/>[r] receives the dot with row r.
    /// </summary>
    public static void Dot4Rows(GgmlType type, byte* row, long rowBytes, QuantizedActivations activations, int token, int columns, float* output)
    {
        ArgumentNullException.ThrowIfNull(activations);
        var scales = activations.ScalesOf(token);
        switch (type)
        {
            case GgmlType.Q8_0: Dot4RowsQ8_0(row, rowBytes, activations.ValuesOf(token), scales, columns / 32, output); break;
            case GgmlType.Q5_0: Dot4RowsQ5_0(row, rowBytes, activations.ValuesOf(token), scales, columns / 32, output); break;
            case GgmlType.Q4_K: Dot4RowsQ4_K512(row, rowBytes, activations.Q4KOrderOf(token), scales, activations.PairSumsOf(token), columns / 256, output); break;
            case GgmlType.Q6_K: Dot4RowsQ6_K512(row, rowBytes, activations.ValuesOf(token), scales, activations.SumsOf(token), columns / 256, output); break;
            default: throw new NotSupportedException($"No four-row kernel for {type}.");
        }
    }

    /// <summary>The totals of four accumulators, in order, with three horizontal adds instead of four full reductions.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sum4(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)
    {
        var abcd = Avx.HorizontalAdd(Avx.HorizontalAdd(a, b), Avx.HorizontalAdd(c, d));
        return abcd.GetLower() + abcd.GetUpper();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sum4(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d) =>
        Sum4(a.GetLower() + a.GetUpper(), b.GetLower() + b.GetUpper(), c.GetLower() + c.GetUpper(), d.GetLower() + d.GetUpper());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sum4(Vector128<float> a, Vector128<float> b, Vector128<float> c, Vector128<float> d) =>
        Sse3.HorizontalAdd(Sse3.HorizontalAdd(a, b), Sse3.HorizontalAdd(c, d));

    /// <summary>
    /// How far ahead the four-row k-quant decode kernels prefetch their weight stream: the hardware prefetcher alone left
    /// a Q4_K matrix read from memory at 11.6–12.8 GB per CPU-second, 2048 bytes ahead gave 14.7–16.4 (loaded machine, +26%).
    /// </summary>
    private const int PrefetchDistance = 2048;

    /// <summary>
    /// A second, far prefetch into L2 (<see cref="Sse.Prefetch1"/>) for the Q4_K decode kernel: the near one alone keeps too
    /// few lines in flight for one core to stream from memory while it computes. On one core, a Q4_K matrix of 8,960
    /// columns read from memory went from 15.0 to 17.8–19.2 GB per CPU-second, one of 1,536 columns from 18.3–19.1 to
    /// 19.9–21.5 (microbenchmark, session 7; 8–32 KiB all helped, 16 KiB was best).
    /// </summary>
    private const int FarPrefetchDistance = 16384;

    /// <summary>
    /// Prefetches <paramref name="lines"/> cache lines of a row stream both <see cref="PrefetchDistance"/> ahead into L1 and
    /// <see cref="FarPrefetchDistance"/> ahead into L2 (a constant count, unrolled where it is inlined).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchStream(byte* position, int lines)
    {
        for (var line = 0; line < lines; line++)
        {
            Sse.Prefetch0(position + PrefetchDistance + 64 * line);
            Sse.Prefetch1(position + FarPrefetchDistance + 64 * line);
        }
    }

    /// <summary>
    /// Four Q4_K rows against one token: the nibbles of 64 bytes at a time, low and high, each against a register of
    /// activations laid out to match (<see cref="QuantizedActivations.Q4KOrderOf"/>), so that no byte is loaded twice or
    /// shifted by a variable amount; the two sub-block scales of a register come from one in-lane byte shuffle of the
    /// scales repeated in every 128-bit lane, and the activation sums for the minimums come already added in pairs
    /// (<see cref="QuantizedActivations.PairSumsOf"/>). In cache 18% faster than loading each 32 bytes into both halves
    /// of a register and permuting the scales with vpermw (session 7 microbenchmark).
    /// </summary>
    private static void Dot4RowsQ4_K512(byte* row, long rowBytes, sbyte* values, float* scales, short* pairSums, int superBlocks, float* output)
    {
        // The rows one after another: read side by side, four rows are four interleaved streams, which the
        // hardware prefetcher follows far worse than one (measured: 2.4x slower from memory). What four rows
        // per call still save is the per-row dispatch and three of the four horizontal sums.
        var table = Dequantize.HalfToSingle;
        // Constants made once here: created inside the inlined helper they would be rebuilt per call.
        var mask = Vector512.Create((byte)0xF);
        // Bytes 0-63 of the nibbles: low nibbles are sub-blocks 0 (first 32 bytes) and 2, high nibbles 1 and 3;
        // bytes 64-127: 4 and 6, 5 and 7.
        var control0 = Q4KScaleShuffle(0, 2);
        var control1 = Q4KScaleShuffle(1, 3);
        var control2 = Q4KScaleShuffle(4, 6);
        var control3 = Q4KScaleShuffle(5, 7);
        var totals = stackalloc Vector512<float>[4];
        var minimums = stackalloc Vector128<float>[4];
        for (var r = 0; r < 4; r++)
        {
            var accumulator = Vector512<float>.Zero;
            var minimum = Vector128<float>.Zero;
            var rowData = row + r * rowBytes;
            var s = 0;
            var accumulator1 = Vector512<float>.Zero;
            for (; s + 2 <= superBlocks; s += 2)
            {
                // Two super-blocks per step with their own accumulators: independent work for the out-of-order core.
                var a = values + s * 256;
                var aScale = scales[s * 8];
                var aScale1 = scales[s * 8 + 8];
                var block = rowData + s * 144;
                // The next 288 bytes of the stream, near into L1 and far into L2 (the same stream: rows follow one another).
                PrefetchStream(block, 5);
                UnpackScalesMinsK4(block + 4, out var subScales, out var subMins);
                UnpackScalesMinsK4(block + 148, out var subScales1, out var subMins1);
                var sum = Q4KSum512(block, subScales, a, mask, control0, control1, control2, control3);
                var sum1 = Q4KSum512(block + 144, subScales1, a + 256, mask, control0, control1, control2, control3);
                accumulator = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum), Vector512.Create(table[*(ushort*)block] * aScale), accumulator);
                accumulator1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum1), Vector512.Create(table[*(ushort*)(block + 144)] * aScale1), accumulator1);
                minimum = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(MinTerms(subMins, Sse2.LoadVector128(pairSums + s * 8))), Vector128.Create(table[*(ushort*)(block + 2)] * aScale), minimum);
                minimum = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(MinTerms(subMins1, Sse2.LoadVector128(pairSums + s * 8 + 8))), Vector128.Create(table[*(ushort*)(block + 146)] * aScale1), minimum);
            }

            accumulator += accumulator1;
            for (; s < superBlocks; s++)
            {
                var a = values + s * 256;
                var aScale = scales[s * 8];
                var block = rowData + s * 144;
                UnpackScalesMinsK4(block + 4, out var subScales, out var subMins);
                var sum = Q4KSum512(block, subScales, a, mask, control0, control1, control2, control3);
                accumulator = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum), Vector512.Create(table[*(ushort*)block] * aScale), accumulator);
                minimum = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(MinTerms(subMins, Sse2.LoadVector128(pairSums + s * 8))), Vector128.Create(table[*(ushort*)(block + 2)] * aScale), minimum);
            }

            totals[r] = accumulator;
            minimums[r] = minimum;
        }

        Vector128.Store(Sum4(totals[0], totals[1], totals[2], totals[3]) - Sum4(minimums[0], minimums[1], minimums[2], minimums[3]), output);
    }

    /// <summary>vpshufb control taking 16-bit scale <paramref name="lower"/> into the low 256 bits and <paramref name="upper"/> into the high 256 bits.</summary>
    private static Vector512<byte> Q4KScaleShuffle(int lower, int upper) => Vector512.Create(
        Vector256.Create((ushort)((2 * lower) | ((2 * lower + 1) << 8))).AsByte(),
        Vector256.Create((ushort)((2 * upper) | ((2 * upper + 1) << 8))).AsByte());

    /// <summary>mins[j] · (activation sum of sub-block j), in pairs, from sums already added in pairs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> MinTerms(ulong mins, Vector128<short> pairSums) =>
        Sse2.MultiplyAddAdjacent(Sse41.ConvertToVector128Int16(Vector128.CreateScalar(mins).AsByte()), pairSums);

    /// <summary>
    /// The integer sum of one Q4_K super-block of one row against activations in <see cref="QuantizedActivations.Q4KOrderOf"/>
    /// order, sub-block scales applied.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Q4KSum512(byte* block, ulong subScales, sbyte* a, Vector512<byte> mask, Vector512<byte> control0, Vector512<byte> control1, Vector512<byte> control2, Vector512<byte> control3)
    {
        // The 8 six-bit scales as 16-bit values, repeated in each 128-bit lane (a 64-bit broadcast, then zero-extended).
        var scales16 = Avx512BW.ConvertToVector512Int16(Vector256.Create(subScales).AsByte()).AsByte();
        var packed0 = Vector512.Load(block + 16);
        var packed1 = Vector512.Load(block + 80);
        var low0 = packed0 & mask;
        var high0 = Avx512BW.ShiftRightLogical(packed0.AsUInt16(), 4).AsByte() & mask;
        var low1 = packed1 & mask;
        var high1 = Avx512BW.ShiftRightLogical(packed1.AsUInt16(), 4).AsByte() & mask;
        // 6-bit scale times |pair products| <= 2*15*128 fits the 16-bit vpmaddwd multiplier.
        return Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(low0, Vector512.Load(a)), Avx512BW.Shuffle(scales16, control0).AsInt16())
            + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(high0, Vector512.Load(a + 64)), Avx512BW.Shuffle(scales16, control1).AsInt16())
            + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(low1, Vector512.Load(a + 128)), Avx512BW.Shuffle(scales16, control2).AsInt16())
            + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(high1, Vector512.Load(a + 192)), Avx512BW.Shuffle(scales16, control3).AsInt16());
    }

    private static void Dot4RowsQ6_K512(byte* row, long rowBytes, sbyte* values, float* scales, short* sums, int superBlocks, float* output)
    {
        // Rows one after another (see Dot4RowsQ4_K512), two super-blocks per step.
        var table = Dequantize.HalfToSingle;
        var constants = new Q6Constants512(
            Vector512.Create((byte)0xF),
            Vector512.Create((byte)0x30),
            Vector512.Create(Vector256.Create((ushort)4), Vector256.Create((ushort)2)),
            Vector512.Create(Vector256<ushort>.Zero, Vector256.Create((ushort)2)));
        var groups0 = Q6Groups(0);
        var groups1 = Q6Groups(4);
        var groups2 = Q6Groups(8);
        var groups3 = Q6Groups(12);
        var totals = stackalloc Vector512<float>[4];
        for (var r = 0; r < 4; r++)
        {
            var rowData = row + r * rowBytes;
            Vector512<float> acc0 = default, acc1 = default;
            var s = 0;
            for (; s + 2 <= superBlocks; s += 2)
            {
                var a = values + s * 256;
                var block = rowData + s * 210;
                // The next 420 bytes of the stream, near and far, as in Dot4RowsQ4_K512.
                PrefetchStream(block, 7);
                var sum0 = Q6KSum512(block, Vector512.Load(a), Vector512.Load(a + 64), Vector512.Load(a + 128), Vector512.Load(a + 192), Avx.LoadVector256(sums + s * 16), constants.Low, constants.HighBits, constants.LeftShifts, constants.RightShifts, groups0, groups1, groups2, groups3);
                var sum1 = Q6KSum512(block + 210, Vector512.Load(a + 256), Vector512.Load(a + 320), Vector512.Load(a + 384), Vector512.Load(a + 448), Avx.LoadVector256(sums + s * 16 + 16), constants.Low, constants.HighBits, constants.LeftShifts, constants.RightShifts, groups0, groups1, groups2, groups3);
                acc0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum0), Vector512.Create(table[*(ushort*)(block + 208)] * scales[s * 8]), acc0);
                acc1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum1), Vector512.Create(table[*(ushort*)(block + 418)] * scales[s * 8 + 8]), acc1);
            }

            for (; s < superBlocks; s++)
            {
                var a = values + s * 256;
                var block = rowData + s * 210;
                var sum0 = Q6KSum512(block, Vector512.Load(a), Vector512.Load(a + 64), Vector512.Load(a + 128), Vector512.Load(a + 192), Avx.LoadVector256(sums + s * 16), constants.Low, constants.HighBits, constants.LeftShifts, constants.RightShifts, groups0, groups1, groups2, groups3);
                acc0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum0), Vector512.Create(table[*(ushort*)(block + 208)] * scales[s * 8]), acc0);
            }

            totals[r] = acc0 + acc1;
        }

        Vector128.Store(Sum4(totals[0], totals[1], totals[2], totals[3]), output);
    }

    private readonly record struct Q6Constants512(Vector512<byte> Low, Vector512<byte> HighBits, Vector512<ushort> LeftShifts, Vector512<ushort> RightShifts);

    /// <summary>vpermw indices spreading group scales first..first+3 over the four 16-value quarters of a register.</summary>
    private static Vector512<short> Q6Groups(int first) => Vector512.Create(
        Vector256.Create(Vector128.Create((short)first), Vector128.Create((short)(first + 1))),
        Vector256.Create(Vector128.Create((short)(first + 2)), Vector128.Create((short)(first + 3))));

    /// <summary>
    /// The integer sum of one Q6_K super-block of one row against loaded activations (as in <see cref="DotQ6_K512"/>),
    /// group scales applied and the offset of 32 removed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Q6KSum512(byte* block, Vector512<sbyte> x0, Vector512<sbyte> x1, Vector512<sbyte> x2, Vector512<sbyte> x3, Vector256<short> groupSums, Vector512<byte> low, Vector512<byte> highBits, Vector512<ushort> leftShifts, Vector512<ushort> rightShifts, Vector512<short> groups0, Vector512<short> groups1, Vector512<short> groups2, Vector512<short> groups3)
    {
        var scales16 = Avx512BW.ConvertToVector512Int16(Sse2.LoadVector128((sbyte*)(block + 192)).ToVector256Unsafe());
        var ql = Vector512.Load(block);
        var qh = Broadcast256((ulong*)(block + 128)).AsUInt16();
        var weights0 = (ql & low) | (Avx512BW.ShiftLeftLogicalVariable(qh, leftShifts).AsByte() & highBits);
        var weights1 = (Avx512BW.ShiftRightLogical(ql.AsUInt16(), 4).AsByte() & low) | (Avx512BW.ShiftRightLogicalVariable(qh, rightShifts).AsByte() & highBits);
        ql = Vector512.Load(block + 64);
        qh = Broadcast256((ulong*)(block + 160)).AsUInt16();
        var weights2 = (ql & low) | (Avx512BW.ShiftLeftLogicalVariable(qh, leftShifts).AsByte() & highBits);
        var weights3 = (Avx512BW.ShiftRightLogical(ql.AsUInt16(), 4).AsByte() & low) | (Avx512BW.ShiftRightLogicalVariable(qh, rightShifts).AsByte() & highBits);
        var sum = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(weights0, x0), Avx512BW.PermuteVar32x16(scales16, groups0))
            + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(weights1, x1), Avx512BW.PermuteVar32x16(scales16, groups1))
            + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(weights2, x2), Avx512BW.PermuteVar32x16(scales16, groups2))
            + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(weights3, x3), Avx512BW.PermuteVar32x16(scales16, groups3));
        // The stored values are offset by 32: subtract 32 · Σ scale_g · (activation sum of group g), lane by lane.
        var offset = Avx2.MultiplyAddAdjacent(scales16.GetLower(), groupSums);
        return sum - Vector512.Create(Avx2.ShiftLeftLogical(offset, 5), Vector256<int>.Zero);
    }

    private static void Dot4RowsQ8_0(byte* row, long rowBytes, sbyte* values, float* scales, int blocks, float* output)
    {
        // Rows one after another (see Dot4RowsQ4_K512), two blocks per step.
        var table = Dequantize.HalfToSingle;
        var ones = Vector256.Create((short)1);
        var totals = stackalloc Vector256<float>[4];
        for (var r = 0; r < 4; r++)
        {
            var rowData = row + r * rowBytes;
            Vector256<float> acc0 = default, acc1 = default;
            var b = 0;
            for (; b + 2 <= blocks; b += 2)
            {
                // 68 bytes per step: two lines ahead, so that no line of the stream is skipped (see PrefetchDistance).
                PrefetchStream(rowData + b * 34, 2);
                acc0 = Q8Block(rowData + b * 34, Avx.LoadVector256(values + b * 32), scales[b], ones, table, acc0);
                acc1 = Q8Block(rowData + b * 34 + 34, Avx.LoadVector256(values + b * 32 + 32), scales[b + 1], ones, table, acc1);
            }

            for (; b < blocks; b++)
            {
                acc0 = Q8Block(rowData + b * 34, Avx.LoadVector256(values + b * 32), scales[b], ones, table, acc0);
            }

            totals[r] = acc0 + acc1;
        }

        Vector128.Store(Sum4(totals[0], totals[1], totals[2], totals[3]), output);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Q8Block(byte* block, Vector256<sbyte> x, float scale, Vector256<short> ones, float[] table, Vector256<float> accumulator)
    {
        var weights = Avx.LoadVector256((sbyte*)(block + 2));
        var products = Avx2.MultiplyAddAdjacent(Avx2.Abs(weights), Avx2.Sign(x, weights));
        return Fma.MultiplyAdd(ToFloat(products, ones), Vector256.Create(table[*(ushort*)block] * scale), accumulator);
    }

    private static void Dot4RowsQ5_0(byte* row, long rowBytes, sbyte* values, float* scales, int blocks, float* output)
    {
        // Rows one after another (see Dot4RowsQ4_K512), two blocks per step.
        if (HasSignedQ5)
        {
            ref var halfTable = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(Dequantize.HalfToSingle);
            var sums = stackalloc Vector256<float>[4];
            for (var r = 0; r < 4; r++)
            {
                var rowData = row + r * rowBytes;
                Vector256<float> acc0 = default, acc1 = default;
                var b = 0;
                for (; b + 2 <= blocks; b += 2)
                {
                    Sse.Prefetch0(rowData + b * 22 + PrefetchDistance);
                    acc0 = Q5SignedBlock(rowData + b * 22, Avx.LoadVector256(values + b * 32), scales[b], ref halfTable, acc0);
                    acc1 = Q5SignedBlock(rowData + b * 22 + 22, Avx.LoadVector256(values + b * 32 + 32), scales[b + 1], ref halfTable, acc1);
                }

                for (; b < blocks; b++)
                {
                    acc0 = Q5SignedBlock(rowData + b * 22, Avx.LoadVector256(values + b * 32), scales[b], ref halfTable, acc0);
                }

                sums[r] = acc0 + acc1;
            }

            Vector128.Store(Sum4(sums[0], sums[1], sums[2], sums[3]), output);
            return;
        }

        var table = Dequantize.HalfToSingle;
        var ones = Vector256.Create((short)1);
        var sixteen = Vector256.Create((byte)16);
        var totals = stackalloc Vector256<float>[4];
        for (var r = 0; r < 4; r++)
        {
            var rowData = row + r * rowBytes;
            Vector256<float> acc0 = default, acc1 = default;
            var b = 0;
            for (; b + 2 <= blocks; b += 2)
            {
                // Σ(q - 16)·a = Σ q·a - Σ 16·a, both in 16-bit pairs.
                var x0 = Avx.LoadVector256(values + b * 32);
                var x1 = Avx.LoadVector256(values + b * 32 + 32);
                acc0 = Q5Block(rowData + b * 22, x0, Avx2.MultiplyAddAdjacent(sixteen, x0), scales[b], ones, table, acc0);
                acc1 = Q5Block(rowData + b * 22 + 22, x1, Avx2.MultiplyAddAdjacent(sixteen, x1), scales[b + 1], ones, table, acc1);
            }

            for (; b < blocks; b++)
            {
                var x = Avx.LoadVector256(values + b * 32);
                acc0 = Q5Block(rowData + b * 22, x, Avx2.MultiplyAddAdjacent(sixteen, x), scales[b], ones, table, acc0);
            }

            totals[r] = acc0 + acc1;
        }

        Vector128.Store(Sum4(totals[0], totals[1], totals[2], totals[3]), output);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Q5Block(byte* block, Vector256<sbyte> x, Vector256<short> offset, float scale, Vector256<short> ones, float[] table, Vector256<float> accumulator)
    {
        var mask = Vector128.Create((byte)0xF);
        var packed = Sse2.LoadVector128(block + 6);
        var weights = Vector256.Create(packed & mask, Sse2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & mask) | FifthBits(*(uint*)(block + 2));
        var products = Avx2.MultiplyAddAdjacent(weights, x) - offset;
        return Fma.MultiplyAdd(ToFloat(products, ones), Vector256.Create(table[*(ushort*)block] * scale), accumulator);
    }
}
