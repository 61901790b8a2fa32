using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Anima.Perception;

/// <summary>
/// The one numeric kernel of inference: output[h] += Σ_i values[i] · weights[indices[i], h], a sparse
/// row vector times a dense [buckets, stride] matrix stored row-major. A plain reference and a
/// vectorized version are kept side by side and compared in tests.
/// </summary>
internal static class SparseKernels
{
    /// <summary>Row width of the weight matrix, a multiple of the vector width.</summary>
    public const int Stride = 32;

    /// <summary>
    /// weights: [buckets, Stride]; indices, values: [n]; output: [Stride].
    /// </summary>
    public static void AccumulateReference(ReadOnlySpan<float> weights, ReadOnlySpan<int> indices, ReadOnlySpan<float> values, Span<float> output)
    {
        for (var feature = 0; feature < indices.Length; feature++)
        {
            var row = weights.Slice(indices[feature] * Stride, Stride);
            var value = values[feature];
            for (var head = 0; head < Stride; head++)
            {
                output[head] += row[head] * value;
            }
        }
    }

    /// <summary>The same sum with four 256-bit accumulators held in registers across all features.</summary>
    public static void Accumulate(ReadOnlySpan<float> weights, ReadOnlySpan<int> indices, ReadOnlySpan<float> values, Span<float> output)
    {
        if (!Vector256.IsHardwareAccelerated || output.Length < Stride)
        {
            AccumulateReference(weights, indices, values, output);
            return;
        }

        if (indices.Length != values.Length)
        {
            throw new ArgumentException("Indices and values differ in length.", nameof(values));
        }

        var rowCount = weights.Length / Stride;
        ref var weightsStart = ref MemoryMarshal.GetReference(weights);
        ref var outputStart = ref MemoryMarshal.GetReference(output);
        var sum0 = Vector256.LoadUnsafe(ref outputStart, 0);
        var sum1 = Vector256.LoadUnsafe(ref outputStart, 8);
        var sum2 = Vector256.LoadUnsafe(ref outputStart, 16);
        var sum3 = Vector256.LoadUnsafe(ref outputStart, 24);
        for (var feature = 0; feature < indices.Length; feature++)
        {
            var index = indices[feature];
            if ((uint)index >= (uint)rowCount)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), index, "Feature index outside the weight matrix.");
            }

            ref var row = ref Unsafe.Add(ref weightsStart, (nint)index * Stride);
            var value = Vector256.Create(values[feature]);
            sum0 += Vector256.LoadUnsafe(ref row, 0) * value;
            sum1 += Vector256.LoadUnsafe(ref row, 8) * value;
            sum2 += Vector256.LoadUnsafe(ref row, 16) * value;
            sum3 += Vector256.LoadUnsafe(ref row, 24) * value;
        }

        sum0.StoreUnsafe(ref outputStart, 0);
        sum1.StoreUnsafe(ref outputStart, 8);
        sum2.StoreUnsafe(ref outputStart, 16);
        sum3.StoreUnsafe(ref outputStart, 24);
    }
}
