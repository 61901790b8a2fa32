namespace Anima.Voice.Emotion;

/// <summary>
/// In-place iterative radix-2 complex FFT with cached twiddles, for the spectral and pitch analysis; checked in
/// tests against the plain O(n²) DFT (<see cref="ReferenceDft"/>).
/// </summary>
internal sealed class Fft
{
    private readonly int _size;
    private readonly int[] _bitReverse;
    private readonly float[] _cos;
    private readonly float[] _sin;

    public Fft(int size)
    {
        if (size < 2 || (size & (size - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "The FFT size must be a power of two.");
        }

        _size = size;
        _bitReverse = new int[size];
        var bits = System.Numerics.BitOperations.Log2((uint)size);
        for (var index = 0; index < size; index++)
        {
            var reversed = 0;
            for (var bit = 0; bit < bits; bit++)
            {
                reversed |= ((index >> bit) & 1) << (bits - 1 - bit);
            }

            _bitReverse[index] = reversed;
        }

        _cos = new float[size / 2];
        _sin = new float[size / 2];
        for (var index = 0; index < size / 2; index++)
        {
            _cos[index] = (float)Math.Cos(-2 * Math.PI * index / size);
            _sin[index] = (float)Math.Sin(-2 * Math.PI * index / size);
        }
    }

    public int Size => _size;

    /// <summary>Forward transform of (real, imaginary), each [size], in place.</summary>
    public void Forward(Span<float> real, Span<float> imaginary)
    {
        if (real.Length != _size || imaginary.Length != _size)
        {
            throw new ArgumentException($"Both spans must hold {_size} values.");
        }

        for (var index = 0; index < _size; index++)
        {
            var other = _bitReverse[index];
            if (other > index)
            {
                (real[index], real[other]) = (real[other], real[index]);
                (imaginary[index], imaginary[other]) = (imaginary[other], imaginary[index]);
            }
        }

        for (var length = 2; length <= _size; length <<= 1)
        {
            var half = length >> 1;
            var step = _size / length;
            for (var start = 0; start < _size; start += length)
            {
                for (var offset = 0; offset < half; offset++)
                {
                    var twiddleCos = _cos[offset * step];
                    var twiddleSin = _sin[offset * step];
                    var even = start + offset;
                    var odd = even + half;
                    var oddReal = real[odd] * twiddleCos - imaginary[odd] * twiddleSin;
                    var oddImaginary = real[odd] * twiddleSin + imaginary[odd] * twiddleCos;
                    real[odd] = real[even] - oddReal;
                    imaginary[odd] = imaginary[even] - oddImaginary;
                    real[even] += oddReal;
                    imaginary[even] += oddImaginary;
                }
            }
        }
    }

    /// <summary>The plain discrete Fourier transform, for checking <see cref="Forward"/>.</summary>
    internal static (double[] Real, double[] Imaginary) ReferenceDft(ReadOnlySpan<float> real, ReadOnlySpan<float> imaginary)
    {
        var size = real.Length;
        var outReal = new double[size];
        var outImaginary = new double[size];
        for (var k = 0; k < size; k++)
        {
            for (var n = 0; n < size; n++)
            {
                var angle = -2 * Math.PI * k * n / size;
                outReal[k] += real[n] * Math.Cos(angle) - imaginary[n] * Math.Sin(angle);
                outImaginary[k] += real[n] * Math.Sin(angle) + imaginary[n] * Math.Cos(angle);
            }
        }

        return (outReal, outImaginary);
    }
}
