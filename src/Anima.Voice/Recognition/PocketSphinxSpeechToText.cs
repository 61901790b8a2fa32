using System.Runtime.InteropServices;
using Anima.Voice.Audio;

namespace Anima.Voice.Recognition;

/// <summary>
/// Embedded English speech recognition with pocketsphinx (Debian packages libpocketsphinx3 and pocketsphinx-en-us)
/// and its generic US-English acoustic and language models. It needs no server but is far less accurate than
/// Whisper; for Korean, or for better accuracy, configure <see cref="OpenAiCompatibleSpeechToText"/>. One decoder
/// per instance; calls are serialized.
/// </summary>
public sealed class PocketSphinxSpeechToText : ISpeechToText, IDisposable
{
    /// <summary>Where the Debian package puts the US-English models.</summary>
    public const string DefaultModelDirectory = "/usr/share/pocketsphinx/model/en-us";

    private const int ChunkSamples = 16_000;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IntPtr _decoder;
    private IntPtr _config;

    /// <summary>Loads the decoder (about a second) from <paramref name="modelDirectory"/>.</summary>
    /// <exception cref="SpeechRecognitionException">The library or the model files are missing.</exception>
    public unsafe PocketSphinxSpeechToText(string modelDirectory = DefaultModelDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDirectory);
        var acoustic = Path.Combine(modelDirectory, "en-us");
        var language = Path.Combine(modelDirectory, "en-us.lm.bin");
        var dictionary = Path.Combine(modelDirectory, "cmudict-en-us.dict");
        foreach (var required in new[] { acoustic, language, dictionary })
        {
            if (!File.Exists(required) && !Directory.Exists(required))
            {
                throw new SpeechRecognitionException($"pocketsphinx: the model file '{required}' is missing (install the Debian package pocketsphinx-en-us).");
            }
        }

        string[] arguments = ["-hmm", acoustic, "-lm", language, "-dict", dictionary, "-logfn", "/dev/null"];
        var pointers = arguments.Select(Marshal.StringToCoTaskMemUTF8).ToArray();
        try
        {
            fixed (IntPtr* argv = pointers)
            {
                _config = PocketSphinxNative.ParseCommandLine(IntPtr.Zero, PocketSphinxNative.Arguments(), pointers.Length, argv, 1);
            }

            if (_config == IntPtr.Zero)
            {
                throw new SpeechRecognitionException("pocketsphinx rejected its configuration.");
            }

            _decoder = PocketSphinxNative.Initialize(_config);
            if (_decoder == IntPtr.Zero)
            {
                PocketSphinxNative.FreeCommandLine(_config);
                throw new SpeechRecognitionException($"pocketsphinx could not load the models from '{modelDirectory}'.");
            }
        }
        catch (Exception exception) when (exception is DllNotFoundException or EntryPointNotFoundException)
        {
            throw new SpeechRecognitionException($"{PocketSphinxNative.Library} could not be loaded (install the Debian packages libpocketsphinx3 and pocketsphinx-en-us): {exception.Message}", exception);
        }
        finally
        {
            foreach (var pointer in pointers)
            {
                Marshal.FreeCoTaskMem(pointer);
            }
        }
    }

    public string Name => "pocketsphinx";

    public IReadOnlyCollection<string>? Languages { get; } = ["en"];

    /// <summary>Whether the native library and models are present; <paramref name="reason"/> says why not.</summary>
    public static bool IsAvailable(out string? reason, string modelDirectory = DefaultModelDirectory)
    {
        if (!NativeLibrary.TryLoad(PocketSphinxNative.Library, out var handle))
        {
            reason = $"{PocketSphinxNative.Library} is not installed (Debian package libpocketsphinx3)";
            return false;
        }

        NativeLibrary.Free(handle);
        if (!Directory.Exists(Path.Combine(modelDirectory, "en-us")))
        {
            reason = $"the pocketsphinx models are not in '{modelDirectory}' (Debian package pocketsphinx-en-us)";
            return false;
        }

        reason = null;
        return true;
    }

    public async Task<Transcript> TranscribeAsync(AudioClip audio, string? language, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(audio);
        if (language is not null && !language.StartsWith("en", StringComparison.OrdinalIgnoreCase))
        {
            throw new SpeechRecognitionException($"pocketsphinx transcribes English only; for '{language}' configure an OpenAI-compatible transcription server.");
        }

        var samples = audio.ToSampleRate(AudioClip.PipelineSampleRate).Samples;
        var pcm = new short[samples.Length];
        for (var index = 0; index < samples.Length; index++)
        {
            pcm[index] = Pcm16.ToInt16(samples[index]);
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_decoder == IntPtr.Zero, this);
            var text = await Task.Run(() => Decode(pcm, cancellationToken), cancellationToken);
            return new Transcript(text, "en", Name);
        }
        finally
        {
            _gate.Release();
        }
    }

    private unsafe string Decode(short[] pcm, CancellationToken cancellationToken)
    {
        if (PocketSphinxNative.StartUtterance(_decoder) < 0)
        {
            throw new SpeechRecognitionException("pocketsphinx could not start an utterance.");
        }

        var ended = false;
        try
        {
            fixed (short* data = pcm)
            {
                for (var offset = 0; offset < pcm.Length; offset += ChunkSamples)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var count = Math.Min(ChunkSamples, pcm.Length - offset);
                    if (PocketSphinxNative.ProcessRaw(_decoder, data + offset, (nuint)count, 0, 0) < 0)
                    {
                        throw new SpeechRecognitionException("pocketsphinx failed while decoding the audio.");
                    }
                }
            }

            ended = true;
            if (PocketSphinxNative.EndUtterance(_decoder) < 0)
            {
                throw new SpeechRecognitionException("pocketsphinx could not end the utterance.");
            }

            var hypothesis = PocketSphinxNative.GetHypothesis(_decoder, out _);
            return hypothesis == IntPtr.Zero ? string.Empty : (Marshal.PtrToStringUTF8(hypothesis) ?? string.Empty).Trim();
        }
        finally
        {
            if (!ended)
            {
                PocketSphinxNative.EndUtterance(_decoder);
            }
        }
    }

    public void Dispose()
    {
        _gate.Wait();
        try
        {
            if (_decoder != IntPtr.Zero)
            {
                PocketSphinxNative.Free(_decoder);
                _decoder = IntPtr.Zero;
            }

            if (_config != IntPtr.Zero)
            {
                PocketSphinxNative.FreeCommandLine(_config);
                _config = IntPtr.Zero;
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}
