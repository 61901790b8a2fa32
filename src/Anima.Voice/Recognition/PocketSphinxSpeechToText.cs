using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Anima.Voice.Audio;

namespace Anima.Voice.Recognition;

/// <summary>
/// Embedded English speech recognition with pocketsphinx (Debian packages libpocketsphinx3 and pocketsphinx-en-us)
/// and its generic US-English acoustic and language models. It needs no server but is far less accurate than
/// Whisper; for Korean, or for better accuracy, configure <see cref="OpenAiCompatibleSpeechToText"/>. It streams:
/// <see cref="StartStream"/> decodes while the user speaks, so only pocketsphinx's finalization is left at the end
/// of the turn. Decoders are pooled (one per utterance in progress, up to <c>maximumDecoders</c>; each takes about a
/// second to load, the first in the constructor).
/// </summary>
public sealed class PocketSphinxSpeechToText : IStreamingSpeechToText, IDisposable
{
    /// <summary>Where the Debian package puts the US-English models.</summary>
    public const string DefaultModelDirectory = "/usr/share/pocketsphinx/model/en-us";

    /// <summary>Utterances decoded at the same time (more wait for a free decoder).</summary>
    public const int DefaultMaximumDecoders = 4;

    private const int ChunkSamples = 16_000;
    private readonly string _modelDirectory;
    private readonly bool _flatPass;
    private readonly SemaphoreSlim _available;
    private readonly ConcurrentBag<Decoder> _idle = [];
    private volatile bool _disposed;

    /// <summary>Checks the models and loads the first decoder (about a second) from <paramref name="modelDirectory"/>.</summary>
    /// <param name="flatPass">
    /// Run pocketsphinx's second, flat-lexicon search when an utterance ends. Off by default: it re-decodes the whole
    /// utterance at the end of the turn (about 0.06 × its length in CPU time, several hundred milliseconds on a busy
    /// machine), which is exactly the wait streaming removes, and on the voice benchmark it did not lower the word error rate.
    /// </param>
    /// <exception cref="SpeechRecognitionException">The library or the model files are missing.</exception>
    public PocketSphinxSpeechToText(string modelDirectory = DefaultModelDirectory, int maximumDecoders = DefaultMaximumDecoders, bool flatPass = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDirectory);
        ArgumentOutOfRangeException.ThrowIfLessThan(maximumDecoders, 1);
        _modelDirectory = modelDirectory;
        _flatPass = flatPass;
        _available = new SemaphoreSlim(maximumDecoders, maximumDecoders);
        _idle.Add(Decoder.Load(modelDirectory, flatPass));
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
        CheckLanguage(language);
        var pcm = ToPcm(audio.ToSampleRate(AudioClip.PipelineSampleRate).Samples);
        var decoder = await RentAsync(cancellationToken);
        try
        {
            var text = await Task.Run(
                () =>
                {
                    decoder.Start();
                    try
                    {
                        for (var offset = 0; offset < pcm.Length; offset += ChunkSamples)
                        {
                            cancellationToken.ThrowIfCancellationRequested();
                            decoder.Process(pcm.AsSpan(offset, Math.Min(ChunkSamples, pcm.Length - offset)));
                        }

                        return decoder.End();
                    }
                    catch
                    {
                        decoder.Abandon();
                        throw;
                    }
                },
                cancellationToken);
            return new Transcript(text, "en", Name);
        }
        finally
        {
            Return(decoder);
        }
    }

    public ISpeechRecognitionStream StartStream(string? language)
    {
        CheckLanguage(language);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new Stream(this);
    }

    private static void CheckLanguage(string? language)
    {
        if (language is not null && !language.StartsWith("en", StringComparison.OrdinalIgnoreCase))
        {
            throw new SpeechRecognitionException($"pocketsphinx transcribes English only; for '{language}' configure an OpenAI-compatible transcription server.");
        }
    }

    private static short[] ToPcm(ReadOnlySpan<float> samples)
    {
        var pcm = new short[samples.Length];
        for (var index = 0; index < samples.Length; index++)
        {
            pcm[index] = Pcm16.ToInt16(samples[index]);
        }

        return pcm;
    }

    private async Task<Decoder> RentAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _available.WaitAsync(cancellationToken);
        if (_idle.TryTake(out var decoder))
        {
            return decoder;
        }

        try
        {
            return await Task.Run(() => Decoder.Load(_modelDirectory, _flatPass), CancellationToken.None);
        }
        catch
        {
            _available.Release();
            throw;
        }
    }

    private void Return(Decoder decoder)
    {
        if (_disposed)
        {
            decoder.Dispose();
        }
        else
        {
            _idle.Add(decoder);
        }

        _available.Release();
    }

    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryTake(out var decoder))
        {
            decoder.Dispose();
        }
    }

    /// <summary>One utterance decoded as it arrives, on a pooled decoder, in the background.</summary>
    private sealed class Stream : ISpeechRecognitionStream
    {
        private readonly PocketSphinxSpeechToText _owner;
        private readonly Channel<short[]> _audio = Channel.CreateUnbounded<short[]>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        private readonly CancellationTokenSource _abandon = new();
        private readonly Task<string> _decoding;

        public Stream(PocketSphinxSpeechToText owner)
        {
            _owner = owner;
            _decoding = Task.Run(DecodeAsync);
        }

        public void Write(ReadOnlySpan<float> samples)
        {
            if (!samples.IsEmpty)
            {
                _audio.Writer.TryWrite(ToPcm(samples));
            }
        }

        public async Task<Transcript> FinishAsync(CancellationToken cancellationToken = default)
        {
            _audio.Writer.TryComplete();
            return new Transcript(await _decoding.WaitAsync(cancellationToken), "en", _owner.Name);
        }

        private async Task<string> DecodeAsync()
        {
            var decoder = await _owner.RentAsync(_abandon.Token);
            try
            {
                decoder.Start();
                try
                {
                    await foreach (var chunk in _audio.Reader.ReadAllAsync(_abandon.Token))
                    {
                        decoder.Process(chunk);
                    }

                    return decoder.End();
                }
                catch
                {
                    decoder.Abandon();
                    throw;
                }
            }
            finally
            {
                _owner.Return(decoder);
            }
        }

        public void Dispose()
        {
            _audio.Writer.TryComplete();
            _abandon.Cancel();
            // An abandoned stream's outcome (cancelled, or a transcript nobody wants) is of no interest.
            _decoding.ContinueWith(task => _ = task.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)
                .ContinueWith(_ => _abandon.Dispose(), TaskScheduler.Default);
        }
    }

    /// <summary>One native pocketsphinx decoder (its own copy of the models). Not thread-safe: one utterance at a time.</summary>
    private sealed class Decoder : IDisposable
    {
        private IntPtr _decoder;
        private IntPtr _config;
        private bool _inUtterance;

        private Decoder(IntPtr config, IntPtr decoder)
        {
            _config = config;
            _decoder = decoder;
        }

        public static unsafe Decoder Load(string modelDirectory, bool flatPass)
        {
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

            string[] arguments = ["-hmm", acoustic, "-lm", language, "-dict", dictionary, "-logfn", "/dev/null", "-fwdflat", flatPass ? "yes" : "no"];
            var pointers = arguments.Select(Marshal.StringToCoTaskMemUTF8).ToArray();
            try
            {
                IntPtr config;
                fixed (IntPtr* argv = pointers)
                {
                    config = PocketSphinxNative.ParseCommandLine(IntPtr.Zero, PocketSphinxNative.Arguments(), pointers.Length, argv, 1);
                }

                if (config == IntPtr.Zero)
                {
                    throw new SpeechRecognitionException("pocketsphinx rejected its configuration.");
                }

                var decoder = PocketSphinxNative.Initialize(config);
                if (decoder == IntPtr.Zero)
                {
                    PocketSphinxNative.FreeCommandLine(config);
                    throw new SpeechRecognitionException($"pocketsphinx could not load the models from '{modelDirectory}'.");
                }

                return new Decoder(config, decoder);
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

        public void Start()
        {
            if (PocketSphinxNative.StartUtterance(_decoder) < 0)
            {
                throw new SpeechRecognitionException("pocketsphinx could not start an utterance.");
            }

            _inUtterance = true;
        }

        public unsafe void Process(ReadOnlySpan<short> pcm)
        {
            fixed (short* data = pcm)
            {
                if (PocketSphinxNative.ProcessRaw(_decoder, data, (nuint)pcm.Length, 0, 0) < 0)
                {
                    throw new SpeechRecognitionException("pocketsphinx failed while decoding the audio.");
                }
            }
        }

        /// <summary>Finalizes the utterance (pocketsphinx's second passes run here) and returns its best hypothesis.</summary>
        public string End()
        {
            _inUtterance = false;
            if (PocketSphinxNative.EndUtterance(_decoder) < 0)
            {
                throw new SpeechRecognitionException("pocketsphinx could not end the utterance.");
            }

            var hypothesis = PocketSphinxNative.GetHypothesis(_decoder, out _);
            return hypothesis == IntPtr.Zero ? string.Empty : (Marshal.PtrToStringUTF8(hypothesis) ?? string.Empty).Trim();
        }

        /// <summary>Ends an utterance left open by a failure or cancellation, so the decoder can be reused.</summary>
        public void Abandon()
        {
            if (_inUtterance)
            {
                _inUtterance = false;
                PocketSphinxNative.EndUtterance(_decoder);
            }
        }

        public void Dispose()
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
    }
}
