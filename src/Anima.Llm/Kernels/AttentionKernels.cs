using System.Runtime.Intrinsics;

namespace Anima.Llm.Kernels;

/// <summary>
/// The two inner loops of attention over one head: query·key scores and the weighted sum of values.
/// Heads are short (64–128 floats), so these are written for that length with register accumulators;
/// <see cref="ReferenceDot"/> and <see cref="ReferenceWeightedSum"/> are the plain versions the tests compare against.
/// </summary>
public static unsafe class AttentionKernels
{
    /// <summary>Σ a[i]·b[i] over <paramref name="length"/> floats.</summary>
    public static float Dot(float* a, float* b, int length)
    {
        var i = 0;
        var sum = 0f;
        if (Vector256.IsHardwareAccelerated && length >= 16)
        {
            var accumulator0 = Vector256<float>.Zero;
            var accumulator1 = Vector256<float>.Zero;
            for (; i + 16 <= length; i += 16)
            {
                accumulator0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), accumulator0);
                accumulator1 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i + 8), Vector256.Load(b + i + 8), accumulator1);
            }

            sum = Vector256.Sum(accumulator0 + accumulator1);
        }

        for (; i < length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    /// <summary>
    /// output[t] = scale · Σ query[i]·rows[t · stride + i] for t in 0..count-1: the attention scores of one query head
    /// against <paramref name="count"/> cached keys spaced <paramref name="stride"/> floats apart. Four keys at a time, so
    /// that their four sums are reduced together (three horizontal adds instead of four full reductions) and the call is
    /// made once per head rather than once per key.
    /// </summary>
    public static void Scores(float* query, float* rows, int stride, int count, int length, float scale, float* output)
    {
        var t = 0;
        if (Vector256.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Avx.IsSupported && length % 8 == 0)
        {
            for (; t + 4 <= count; t += 4)
            {
                var row0 = rows + t * stride;
                var row1 = row0 + stride;
                var row2 = row1 + stride;
                var row3 = row2 + stride;
                Vector256<float> sum0 = default, sum1 = default, sum2 = default, sum3 = default;
                for (var i = 0; i < length; i += 8)
                {
                    var q = Vector256.Load(query + i);
                    sum0 = Vector256.FusedMultiplyAdd(q, Vector256.Load(row0 + i), sum0);
                    sum1 = Vector256.FusedMultiplyAdd(q, Vector256.Load(row1 + i), sum1);
                    sum2 = Vector256.FusedMultiplyAdd(q, Vector256.Load(row2 + i), sum2);
                    sum3 = Vector256.FusedMultiplyAdd(q, Vector256.Load(row3 + i), sum3);
                }

                var pairs = System.Runtime.Intrinsics.X86.Avx.HorizontalAdd(System.Runtime.Intrinsics.X86.Avx.HorizontalAdd(sum0, sum1), System.Runtime.Intrinsics.X86.Avx.HorizontalAdd(sum2, sum3));
                ((pairs.GetLower() + pairs.GetUpper()) * scale).Store(output + t);
            }
        }

        for (; t < count; t++)
        {
            output[t] = Dot(query, rows + t * stride, length) * scale;
        }
    }

    /// <summary>
    /// output[d] = Σ_t weights[t] · rows[t · stride + d] for d in 0..width-1: the attention-weighted sum
    /// of <paramref name="count"/> value rows spaced <paramref name="stride"/> floats apart.
    /// </summary>
    public static void WeightedSum(float* weights, float* rows, int stride, int count, float* output, int width)
    {
        var d = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            // 32 columns at a time in four registers, every row streamed once per 32 columns.
            for (; d + 32 <= width; d += 32)
            {
                Vector256<float> sum0 = default, sum1 = default, sum2 = default, sum3 = default;
                var row = rows + d;
                for (var t = 0; t < count; t++, row += stride)
                {
                    var weight = Vector256.Create(weights[t]);
                    sum0 = Vector256.FusedMultiplyAdd(Vector256.Load(row), weight, sum0);
                    sum1 = Vector256.FusedMultiplyAdd(Vector256.Load(row + 8), weight, sum1);
                    sum2 = Vector256.FusedMultiplyAdd(Vector256.Load(row + 16), weight, sum2);
                    sum3 = Vector256.FusedMultiplyAdd(Vector256.Load(row + 24), weight, sum3);
                }

                sum0.Store(output + d);
                sum1.Store(output + d + 8);
                sum2.Store(output + d + 16);
                sum3.Store(output + d + 24);
            }

            for (; d + 8 <= width; d += 8)
            {
                var sum = Vector256<float>.Zero;
                var row = rows + d;
                for (var t = 0; t < count; t++, row += stride)
                {
                    sum = Vector256.FusedMultiplyAdd(Vector256.Load(row), Vector256.Create(weights[t]), sum);
                }

                sum.Store(output + d);
            }
        }

        for (; d < width; d++)
        {
            var sum = 0f;
            for (var t = 0; t < count; t++)
            {
                sum += weights[t] * rows[t * stride + d];
            }

            output[d] = sum;
        }
    }

    /// <summary>Plain reference of <see cref="Dot"/>, summed in double.</summary>
    public static float ReferenceDot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += (double)a[i] * b[i];
        }

        return (float)sum;
    }

    /// <summary>Plain reference of <see cref="WeightedSum"/>, summed in double.</summary>
    public static void ReferenceWeightedSum(ReadOnlySpan<float> weights, ReadOnlySpan<float> rows, int stride, Span<float> output)
    {
        for (var d = 0; d < output.Length; d++)
        {
            double sum = 0;
            for (var t = 0; t < weights.Length; t++)
            {
                sum += (double)weights[t] * rows[t * stride + d];
            }

            output[d] = (float)sum;
        }
    }
}
