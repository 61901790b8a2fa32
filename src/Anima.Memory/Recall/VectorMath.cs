using System.Numerics;
using System.Runtime.InteropServices;

namespace Anima.Memory.Recall;

/// <summary>
/// Cosine similarity of embeddings: a plain reference and a SIMD version (<see cref="Vector{T}"/>), checked against
/// each other in the tests. Vectors a[n], b[n]; the result is in [-1, 1], 0 when either vector is all zeros.
/// </summary>
public static class VectorMath
{
    /// <summary>The reference: one scalar loop, accumulated in double.</summary>
    public static double CosineReference(ReadOnlySpan<float> left, ReadOnlySpan<float> right)
    {
        ThrowIfDifferentLengths(left, right);
        double dot = 0, leftNorm = 0, rightNorm = 0;
        for (var index = 0; index < left.Length; index++)
        {
            dot += (double)left[index] * right[index];
            leftNorm += (double)left[index] * left[index];
            rightNorm += (double)right[index] * right[index];
        }

        return leftNorm == 0 || rightNorm == 0 ? 0 : dot / Math.Sqrt(leftNorm * rightNorm);
    }

    /// <summary>The optimized version: <see cref="Vector{T}"/> lanes of float, a scalar tail, the final sums in double.</summary>
    public static double Cosine(ReadOnlySpan<float> left, ReadOnlySpan<float> right)
    {
        ThrowIfDifferentLengths(left, right);
        var dot = Vector<float>.Zero;
        var leftNorm = Vector<float>.Zero;
        var rightNorm = Vector<float>.Zero;
        var leftVectors = MemoryMarshal.Cast<float, Vector<float>>(left);
        var rightVectors = MemoryMarshal.Cast<float, Vector<float>>(right);
        for (var index = 0; index < leftVectors.Length; index++)
        {
            var a = leftVectors[index];
            var b = rightVectors[index];
            dot += a * b;
            leftNorm += a * a;
            rightNorm += b * b;
        }

        double dotSum = Vector.Sum(dot), leftSum = Vector.Sum(leftNorm), rightSum = Vector.Sum(rightNorm);
        for (var index = leftVectors.Length * Vector<float>.Count; index < left.Length; index++)
        {
            dotSum += left[index] * right[index];
            leftSum += left[index] * left[index];
            rightSum += right[index] * right[index];
        }

        return leftSum == 0 || rightSum == 0 ? 0 : dotSum / Math.Sqrt(leftSum * rightSum);
    }

    private static void ThrowIfDifferentLengths(ReadOnlySpan<float> left, ReadOnlySpan<float> right)
    {
        if (left.Length != right.Length)
        {
            throw new ArgumentException($"Embeddings of different dimensions cannot be compared ({left.Length} and {right.Length}).", nameof(right));
        }
    }
}
