using Anima.Voice.Audio;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Anima.Voice.Activity;

/// <summary>
/// Silero VAD (v5 ONNX) through ONNX Runtime. Each call feeds 512 new samples at 16 kHz preceded by the last
/// 64 samples of the previous frame (the context the model was trained with), so the model's <c>input</c> is
/// [1, 576]; <c>state</c> is the recurrent state [2, 1, 128] carried from <c>stateN</c>; <c>sr</c> is an int64 16000.
/// </summary>
public sealed class SileroVoiceActivityDetector : IVoiceActivityDetector
{
    public const int WindowSamples = 512;
    public const int ContextSamples = 64;
    private const int StateSize = 2 * 1 * 128;
    private readonly InferenceSession _session;
    private readonly float[] _input = new float[ContextSamples + WindowSamples];
    private readonly float[] _state = new float[StateSize];
    private readonly DenseTensor<long> _sampleRate = new(new long[] { AudioClip.PipelineSampleRate }, []);

    /// <summary>Loads the model from <paramref name="modelPath"/>.</summary>
    /// <exception cref="FileNotFoundException">The file is missing.</exception>
    /// <exception cref="InvalidDataException">The file is not a Silero VAD model ONNX Runtime can load.</exception>
    public SileroVoiceActivityDetector(string modelPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        if (!File.Exists(modelPath))
        {
            throw new FileNotFoundException($"The Silero VAD model is not at '{modelPath}'.", modelPath);
        }

        using var options = new SessionOptions
        {
            // One stream is scored per frame on the caller's thread; more threads only add overhead for a model this small.
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        try
        {
            _session = new InferenceSession(modelPath, options);
        }
        catch (OnnxRuntimeException exception)
        {
            throw new InvalidDataException($"'{modelPath}' could not be loaded as an ONNX model: {exception.Message}", exception);
        }

        var inputs = _session.InputMetadata.Keys.ToHashSet(StringComparer.Ordinal);
        if (!inputs.SetEquals(["input", "state", "sr"]))
        {
            _session.Dispose();
            throw new InvalidDataException($"'{modelPath}' is not a Silero VAD v5 model: its inputs are {string.Join(", ", inputs)}; expected input, state, sr.");
        }
    }

    public int FrameSize => WindowSamples;

    public string Name => "silero";

    public float Process(ReadOnlySpan<float> frame)
    {
        if (frame.Length != WindowSamples)
        {
            throw new ArgumentException($"Silero VAD takes frames of {WindowSamples} samples at 16 kHz; got {frame.Length}.", nameof(frame));
        }

        frame.CopyTo(_input.AsSpan(ContextSamples));
        var inputTensor = new DenseTensor<float>(_input, [1, ContextSamples + WindowSamples]);
        var stateTensor = new DenseTensor<float>(_state, [2, 1, 128]);
        var feeds = new[]
        {
            NamedOnnxValue.CreateFromTensor("input", inputTensor),
            NamedOnnxValue.CreateFromTensor("state", stateTensor),
            NamedOnnxValue.CreateFromTensor("sr", _sampleRate),
        };
        float probability;
        using (var results = _session.Run(feeds))
        {
            probability = 0;
            foreach (var result in results)
            {
                if (result.Name == "output")
                {
                    probability = result.AsTensor<float>().GetValue(0);
                }
                else if (result.Name == "stateN")
                {
                    var next = result.AsTensor<float>();
                    for (var index = 0; index < StateSize; index++)
                    {
                        _state[index] = next.GetValue(index);
                    }
                }
            }
        }

        // The last 64 samples of this frame are the next frame's context.
        _input.AsSpan(WindowSamples, ContextSamples).CopyTo(_input);
        return probability;
    }

    public void Reset()
    {
        Array.Clear(_input);
        Array.Clear(_state);
    }

    public void Dispose() => _session.Dispose();
}
