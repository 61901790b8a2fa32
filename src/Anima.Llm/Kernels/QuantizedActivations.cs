using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Anima.Llm.Kernels;

/// <summary>
/// Activations quantized to 8 bits the way llama.cpp feeds its integer dot products: for each run of
/// 32 values one float scale and 32 signed bytes, plus the integer sum of every 16 bytes (which the
/// weight types with an offset or a minimum need). Shapes: values [rows, columns], scales
/// [rows, columns / 32], sums [rows, columns / 16]. The arrays are pinned for pointer access.
/// </summary>
public sealed unsafe class QuantizedActivations
{
    public QuantizedActivations(int capacityRows, int columns)
    {
        if (columns <= 0 || columns % 32 != 0)
        {
            throw new ArgumentException($"Quantized activations need a positive multiple of 32 columns; got {columns}.", nameof(columns));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityRows);
        Columns = columns;
        CapacityRows = capacityRows;
        Values = GC.AllocateArray<sbyte>(capacityRows * columns, pinned: true);
        Scales = GC.AllocateArray<float>(capacityRows * columns / 32, pinned: true);
        Sums = GC.AllocateArray<short>(capacityRows * columns / 16, pinned: true);
    }

    public int Columns { get; }

    public int CapacityRows { get; }

    /// <summary>Rows currently held.</summary>
    public int Rows { get; private set; }

    public sbyte[] Values { get; }

    public float[] Scales { get; }

    public short[] Sums { get; }

    public sbyte* ValuesOf(int row) => (sbyte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref Values[row * Columns]);

    public float* ScalesOf(int row) => (float*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref Scales[row * Columns / 32]);

    public short* SumsOf(int row) => (short*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref Sums[row * Columns / 16]);

    /// <summary>
    /// Row <paramref name="row"/>'s values reordered for the Q4_K single-token kernel, which takes a Q4_K block's nibbles 64
    /// bytes at a time: per 256 values, values 0-31 and 64-95 (the low nibbles of the first 64 bytes), 32-63 and 96-127
    /// (their high nibbles), then the same for 128-255. Made by <see cref="Quantize"/> with super-block scales only.
    /// </summary>
    public sbyte* Q4KOrderOf(int row)
    {
        RequireSuperBlockLayout();
        return (sbyte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref _q4kOrder![row * Columns]);
    }

    /// <summary>Row <paramref name="row"/>'s sums of every 32 values (<see cref="Sums"/> added in pairs); with super-block scales only.</summary>
    public short* PairSumsOf(int row)
    {
        RequireSuperBlockLayout();
        return (short*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref _pairSums![row * Columns / 32]);
    }

    private sbyte[]? _q4kOrder;
    private short[]? _pairSums;

    private void RequireSuperBlockLayout()
    {
        if (!SuperBlockScaled || _q4kOrder is null)
        {
            throw new InvalidOperationException("The Q4_K layout is made only for activations quantized with super-block scales.");
        }
    }

    /// <summary>
    /// Whether every run of 256 values shares one scale (the 8 entries of <see cref="Scales"/> for it
    /// are equal). The k-quant kernels need this: it lets them sum whole super-blocks in integers.
    /// </summary>
    public bool SuperBlockScaled { get; private set; }

    /// <summary>
    /// Quantizes <paramref name="rows"/> rows of <paramref name="source"/> ([rows, Columns]); with
    /// <paramref name="superBlock"/> one scale per 256 values (Columns must be a multiple of 256), else one per 32.
    /// </summary>
    public void Quantize(ReadOnlySpan<float> source, int rows, bool superBlock = false)
    {
        Begin(source.Length, rows, superBlock);
        QuantizeRows(source, 0, rows, superBlock);
    }

    /// <summary>
    /// <see cref="Quantize(ReadOnlySpan{float}, int, bool)"/> of a prompt's rows on up to <paramref name="threads"/> threads
    /// (rows are independent, so the result is the same as on one).
    /// </summary>
    public void Quantize(float* source, int rows, bool superBlock, int threads)
    {
        ArgumentNullException.ThrowIfNull(source);
        Begin((long)rows * Columns, rows, superBlock);
        if (threads <= 1 || rows < 2)
        {
            QuantizeRows(new ReadOnlySpan<float>(source, rows * Columns), 0, rows, superBlock);
            return;
        }

        var columns = Columns;
        var start = (nint)source;
        ParallelWork.For(rows, threads, row => QuantizeRows(new ReadOnlySpan<float>((float*)start + (long)row * columns, columns), row, 1, superBlock));
    }

    private void Begin(long sourceLength, int rows, bool superBlock)
    {
        if (rows > CapacityRows || sourceLength < (long)rows * Columns)
        {
            throw new ArgumentException($"{rows} rows of {Columns} exceed the capacity of {CapacityRows} rows or the {sourceLength} values given.");
        }

        if (superBlock && Columns % 256 != 0)
        {
            throw new ArgumentException($"Super-block scales need a multiple of 256 columns; got {Columns}.");
        }

        Rows = rows;
        SuperBlockScaled = superBlock;
        if (superBlock)
        {
            _q4kOrder ??= GC.AllocateArray<sbyte>(CapacityRows * Columns, pinned: true);
            _pairSums ??= GC.AllocateArray<short>(CapacityRows * Columns / 32, pinned: true);
        }
    }

    /// <summary>Rows <paramref name="firstRow"/>.. of <paramref name="count"/> rows, from <paramref name="source"/> (those rows only).</summary>
    private void QuantizeRows(ReadOnlySpan<float> source, int firstRow, int count, bool superBlock)
    {
        var first = firstRow * Columns / 32;
        var blocks = count * Columns / 32;
        var scale = 0f;
        for (var local = 0; local < blocks; local++)
        {
            var block = first + local;
            var groupBlocks = superBlock ? 8 : 1;
            if (local % groupBlocks == 0)
            {
                var group = source.Slice(local * 32, 32 * groupBlocks);
                scale = Math.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(group)) / 127f;
            }

            var input = source.Slice(local * 32, 32);
            var inverse = scale != 0 ? 1f / scale : 0f;
            Scales[block] = scale;
            var output = Values.AsSpan(block * 32, 32);
            int sum0, sum1;
            if (Avx2.IsSupported)
            {
                (sum0, sum1) = QuantizeBlock(input, inverse, output);
            }
            else
            {
                sum0 = sum1 = 0;
                for (var j = 0; j < 32; j++)
                {
                    var q = (int)MathF.Round(input[j] * inverse, MidpointRounding.ToEven);
                    output[j] = (sbyte)q;
                    if (j < 16)
                    {
                        sum0 += q;
                    }
                    else
                    {
                        sum1 += q;
                    }
                }
            }

            Sums[block * 2] = (short)sum0;
            Sums[block * 2 + 1] = (short)sum1;
        }

        if (superBlock)
        {
            MakeSuperBlockLayout(firstRow, count);
        }
    }

    /// <summary>Fills <see cref="Q4KOrderOf"/> and <see cref="PairSumsOf"/> for rows <paramref name="firstRow"/>.. of <paramref name="count"/>.</summary>
    private void MakeSuperBlockLayout(int firstRow, int count)
    {
        fixed (sbyte* values = Values, order = _q4kOrder)
        {
            var end = (long)(firstRow + count) * Columns;
            for (var half = (long)firstRow * Columns; half < end; half += 128)
            {
                Vector256.Store(Vector256.Load(values + half), order + half);
                Vector256.Store(Vector256.Load(values + half + 64), order + half + 32);
                Vector256.Store(Vector256.Load(values + half + 32), order + half + 64);
                Vector256.Store(Vector256.Load(values + half + 96), order + half + 96);
            }
        }

        for (var pair = firstRow * Columns / 32; pair < (firstRow + count) * Columns / 32; pair++)
        {
            _pairSums![pair] = (short)(Sums[2 * pair] + Sums[2 * pair + 1]);
        }
    }

    /// <summary>32 floats to 32 bytes with round-to-nearest-even (vcvtps2dq), and the sums of each half.</summary>
    private static (int Sum0, int Sum1) QuantizeBlock(ReadOnlySpan<float> input, float inverse, Span<sbyte> output)
    {
        fixed (float* source = input)
        fixed (sbyte* target = output)
        {
            var factor = Vector256.Create(inverse);
            var q0 = Avx.ConvertToVector256Int32(Avx.Multiply(Avx.LoadVector256(source), factor));
            var q1 = Avx.ConvertToVector256Int32(Avx.Multiply(Avx.LoadVector256(source + 8), factor));
            var q2 = Avx.ConvertToVector256Int32(Avx.Multiply(Avx.LoadVector256(source + 16), factor));
            var q3 = Avx.ConvertToVector256Int32(Avx.Multiply(Avx.LoadVector256(source + 24), factor));
            var sum0 = Vector256.Sum(q0 + q1);
            var sum1 = Vector256.Sum(q2 + q3);
            // packs work within 128-bit lanes; the final permute restores the order.
            var packed16a = Avx2.PackSignedSaturate(q0, q1);
            var packed16b = Avx2.PackSignedSaturate(q2, q3);
            var packed8 = Avx2.PackSignedSaturate(packed16a, packed16b);
            var ordered = Avx2.PermuteVar8x32(packed8.AsInt32(), Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7));
            Avx.Store((int*)target, ordered);
            return (sum0, sum1);
        }
    }
}
