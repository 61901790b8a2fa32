namespace Anima.Voice.Audio;

/// <summary>
/// Rational-ratio sample-rate conversion with a Blackman-windowed sinc low-pass, usable on a stream of chunks
/// (it keeps the history the filter needs, so chunk boundaries leave no clicks). The polyphase kernel table is
/// [up phases × 2·halfWidth taps]; each phase is normalized to unit DC gain.
/// </summary>
public sealed class StreamingResampler
{
    private const int ZeroCrossings = 16;
    private readonly int _up;
    private readonly int _down;
    private readonly int _halfWidth;
    private readonly float[] _kernel;
    private float[] _buffer = new float[4096];
    private int _bufferLength;
    private long _bufferStart; // absolute input index of _buffer[0]
    private long _inputCount;
    private long _nextOutput;
    private bool _flushed;

    public StreamingResampler(int inputRate, int outputRate)
    {
        if (inputRate <= 0 || outputRate <= 0)
        {
            throw new AudioFormatException($"Sample rates must be positive; got {inputRate} Hz → {outputRate} Hz.");
        }

        var divisor = GreatestCommonDivisor(inputRate, outputRate);
        _up = outputRate / divisor;
        _down = inputRate / divisor;
        if (_up > 4096)
        {
            throw new AudioFormatException($"Converting {inputRate} Hz to {outputRate} Hz needs {_up} filter phases; use a common rate (8, 11.025, 16, 22.05, 24, 32, 44.1 or 48 kHz).");
        }

        InputRate = inputRate;
        OutputRate = outputRate;
        var cutoff = Math.Min(1.0, (double)_up / _down); // relative to the input Nyquist frequency
        _halfWidth = (int)Math.Ceiling(ZeroCrossings / cutoff);
        var taps = 2 * _halfWidth;
        _kernel = new float[_up * taps];
        for (var phase = 0; phase < _up; phase++)
        {
            var fraction = (double)phase / _up;
            var sum = 0.0;
            var row = new double[taps];
            for (var tap = 0; tap < taps; tap++)
            {
                var offset = tap - _halfWidth + 1; // input sample index relative to floor(output time)
                var distance = fraction - offset;
                var x = cutoff * distance;
                var sinc = Math.Abs(x) < 1e-12 ? 1.0 : Math.Sin(Math.PI * x) / (Math.PI * x);
                var windowPosition = distance / _halfWidth; // -1..1
                var window = Math.Abs(windowPosition) >= 1 ? 0 : 0.42 + 0.5 * Math.Cos(Math.PI * windowPosition) + 0.08 * Math.Cos(2 * Math.PI * windowPosition);
                row[tap] = sinc * window;
                sum += row[tap];
            }

            for (var tap = 0; tap < taps; tap++)
            {
                _kernel[phase * taps + tap] = (float)(row[tap] / sum);
            }
        }
    }

    public int InputRate { get; }

    public int OutputRate { get; }

    /// <summary>Adds input samples and returns every output sample that they complete.</summary>
    public float[] Process(ReadOnlySpan<float> input)
    {
        if (_flushed)
        {
            throw new InvalidOperationException("The resampler was flushed; create a new one for a new stream.");
        }

        if (_up == _down)
        {
            _inputCount += input.Length;
            return input.ToArray();
        }

        Append(input);
        _inputCount += input.Length;
        return Produce(final: false);
    }

    /// <summary>Ends the stream: returns the remaining output (the filter's tail, padded with silence).</summary>
    public float[] Flush()
    {
        if (_flushed)
        {
            return [];
        }

        _flushed = true;
        return _up == _down ? [] : Produce(final: true);
    }

    private float[] Produce(bool final)
    {
        // Output n sits at input time n·down/up; it needs inputs up to floor(that) + halfWidth.
        var totalOutputs = final ? (_inputCount * _up + _down - 1) / _down : long.MaxValue;
        var output = new List<float>();
        var taps = 2 * _halfWidth;
        while (_nextOutput < totalOutputs)
        {
            var position = _nextOutput * _down;
            var center = position / _up;
            var phase = (int)(position % _up);
            if (!final && center + _halfWidth >= _inputCount)
            {
                break;
            }

            var sum = 0f;
            var kernelRow = _kernel.AsSpan(phase * taps, taps);
            var first = center - _halfWidth + 1;
            for (var tap = 0; tap < taps; tap++)
            {
                var index = first + tap;
                if (index >= 0 && index < _inputCount)
                {
                    sum += kernelRow[tap] * _buffer[index - _bufferStart];
                }
            }

            output.Add(sum);
            _nextOutput++;
        }

        Trim();
        return output.ToArray();
    }

    private void Append(ReadOnlySpan<float> input)
    {
        if (_bufferLength + input.Length > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _bufferLength + input.Length));
        }

        input.CopyTo(_buffer.AsSpan(_bufferLength));
        _bufferLength += input.Length;
    }

    private void Trim()
    {
        // Keep inputs from the first one the next output needs.
        var neededFrom = Math.Max(0, _nextOutput * _down / _up - _halfWidth + 1);
        var drop = (int)Math.Min(_bufferLength, Math.Max(0, neededFrom - _bufferStart));
        if (drop > 0)
        {
            _buffer.AsSpan(drop, _bufferLength - drop).CopyTo(_buffer);
            _bufferLength -= drop;
            _bufferStart += drop;
        }
    }

    private static int GreatestCommonDivisor(int a, int b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }
}
