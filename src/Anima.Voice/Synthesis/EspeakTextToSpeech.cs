using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;
using Anima.Voice.Audio;

namespace Anima.Voice.Synthesis;

/// <summary>
/// Embedded text-to-speech through espeak-ng (libespeak-ng.so.1, Debian package libespeak-ng1) in synchronous
/// mode: the engine calls back with ~60 ms buffers while it synthesizes, and each is resampled to 16 kHz and
/// streamed out at once. espeak-ng keeps global state, so all synthesis in the process is serialized on one lock
/// and runs on a worker thread; cancelling aborts the current utterance at the next buffer.
/// </summary>
public sealed class EspeakTextToSpeech : ITextToSpeech
{
    /// <summary>The longest text accepted in one call, in characters; split longer replies into sentences first.</summary>
    public const int MaximumTextLength = 4000;

    private const int BufferMilliseconds = 60;
    private const int NormalWordsPerMinute = 175;
    private static readonly Lock EngineGate = new();
    private static int s_nativeRate;
    private static string? s_initializationError;
    private static EspeakNative.SynthCallback? s_callback; // kept alive while native code holds it
    private static Func<short[], bool>? s_sink;
    private readonly Dictionary<string, string> _voices;

    /// <param name="voices">espeak-ng voice per language code ("en", "ko"), e.g. "en-us+f3" for a variant; missing languages use the defaults "en-us" and "ko".</param>
    public EspeakTextToSpeech(IReadOnlyDictionary<string, string>? voices = null)
    {
        _voices = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["en"] = "en-us", ["ko"] = "ko" };
        foreach (var (language, voice) in voices ?? new Dictionary<string, string>())
        {
            if (string.IsNullOrWhiteSpace(voice) || voice.Any(character => char.IsControl(character)))
            {
                throw new ArgumentException($"The espeak-ng voice for '{language}' is empty or malformed.", nameof(voices));
            }

            _voices[language] = voice;
        }
    }

    public string Name => "espeak-ng";

    /// <summary>Whether libespeak-ng can be loaded and initialized here; <paramref name="reason"/> says why not.</summary>
    public static bool IsAvailable(out string? reason)
    {
        lock (EngineGate)
        {
            EnsureInitialized();
            reason = s_initializationError;
            return reason is null;
        }
    }

    public async IAsyncEnumerable<AudioClip> SynthesizeAsync(string text, string language, SpeechStyle style, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(style);
        var voice = VoiceFor(language);
        if (text.Length > MaximumTextLength)
        {
            throw new SpeechSynthesisException($"espeak-ng: the text has {text.Length} characters; at most {MaximumTextLength} are synthesized in one call (split it into sentences).");
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            yield break;
        }

        var channel = Channel.CreateUnbounded<AudioClip>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

        // Stopping early (the caller broke out of the loop on barge-in) must also stop the engine.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var worker = Task.Factory.StartNew(
            () => SynthesizeBlocking(text, voice, style.Clamped(), channel.Writer, stop.Token),
            stop.Token,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        try
        {
            await foreach (var chunk in channel.Reader.ReadAllAsync(cancellationToken))
            {
                // Chunks already buffered must not play after a barge-in.
                cancellationToken.ThrowIfCancellationRequested();
                yield return chunk;
            }
        }
        finally
        {
            await stop.CancelAsync();
            try
            {
                await worker;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Stopped on purpose; a real engine failure has already surfaced through the channel.
            }
        }
    }

    private string VoiceFor(string language)
    {
        var code = language?.ToLowerInvariant() switch
        {
            "en" or "en-us" or "en-gb" or "english" => "en",
            "ko" or "ko-kr" or "korean" => "ko",
            _ => language ?? string.Empty,
        };
        return _voices.TryGetValue(code, out var voice)
            ? voice
            : throw new SpeechSynthesisException($"espeak-ng: no voice is configured for language '{language}'; use \"en\" or \"ko\".");
    }

    private static unsafe void SynthesizeBlocking(string text, string voice, SpeechStyle style, ChannelWriter<AudioClip> writer, CancellationToken cancellationToken)
    {
        try
        {
            lock (EngineGate)
            {
                EnsureInitialized();
                if (s_initializationError is not null)
                {
                    throw new SpeechSynthesisException($"espeak-ng is not available: {s_initializationError}");
                }

                // A synthesis stopped early (a barge-in, a caller leaving the loop) can leave espeak-ng mid-utterance;
                // resetting first makes every synthesis start from the same state, so the same text gives the same audio.
                EspeakNative.Cancel();
                Check(EspeakNative.SetVoiceByName(voice), $"selecting voice '{voice}'");
                Check(EspeakNative.SetParameter(EspeakNative.ParameterRate, (int)Math.Round(NormalWordsPerMinute * style.Rate), 0), "setting the rate");
                Check(EspeakNative.SetParameter(EspeakNative.ParameterPitch, (int)Math.Round(50 + 35 * style.Pitch), 0), "setting the pitch");
                Check(EspeakNative.SetParameter(EspeakNative.ParameterRange, (int)Math.Round(50 + 45 * style.PitchRange), 0), "setting the pitch range");
                Check(EspeakNative.SetParameter(EspeakNative.ParameterVolume, (int)Math.Round(100 * style.Volume), 0), "setting the volume");

                var resampler = new StreamingResampler(s_nativeRate, AudioClip.PipelineSampleRate);
                s_sink = samples =>
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        return false;
                    }

                    var floats = new float[samples.Length];
                    for (var index = 0; index < samples.Length; index++)
                    {
                        floats[index] = samples[index] / 32768f;
                    }

                    var converted = resampler.Process(floats);
                    if (converted.Length > 0)
                    {
                        writer.TryWrite(new AudioClip(converted, AudioClip.PipelineSampleRate));
                    }

                    return true;
                };

                var bytes = Encoding.UTF8.GetBytes(text + "\0");
                int status;
                fixed (byte* pointer = bytes)
                {
                    status = EspeakNative.Synth(pointer, (nuint)bytes.Length, 0, EspeakNative.PositionCharacter, 0, EspeakNative.CharsUtf8, IntPtr.Zero, IntPtr.Zero);
                }

                s_sink = null;
                cancellationToken.ThrowIfCancellationRequested();
                Check(status, "synthesizing");
                var tail = resampler.Flush();
                if (tail.Length > 0)
                {
                    writer.TryWrite(new AudioClip(tail, AudioClip.PipelineSampleRate));
                }
            }

            writer.TryComplete();
        }
        catch (Exception exception)
        {
            writer.TryComplete(exception);
            if (exception is not OperationCanceledException)
            {
                // Reported to the reader through the channel; the worker itself ends quietly.
                return;
            }

            throw;
        }
    }

    private static unsafe void EnsureInitialized()
    {
        if (s_nativeRate > 0 || s_initializationError is not null)
        {
            return;
        }

        try
        {
            var rate = EspeakNative.Initialize(EspeakNative.AudioOutputSynchronous, BufferMilliseconds, IntPtr.Zero, EspeakNative.InitializeDontExit);
            if (rate <= 0)
            {
                s_initializationError = $"espeak_Initialize failed ({rate}); is the espeak-ng-data package installed?";
                return;
            }

            s_callback = OnSynth;
            EspeakNative.SetSynthCallback(Marshal.GetFunctionPointerForDelegate(s_callback));
            s_nativeRate = rate;
        }
        catch (Exception exception) when (exception is DllNotFoundException or EntryPointNotFoundException)
        {
            s_initializationError = $"{EspeakNative.Library} could not be loaded (install the Debian package libespeak-ng1): {exception.Message}";
        }
    }

    private static unsafe int OnSynth(short* wav, int sampleCount, IntPtr events)
    {
        var sink = s_sink;
        if (sink is null || wav is null || sampleCount <= 0)
        {
            return 0;
        }

        return sink(new ReadOnlySpan<short>(wav, sampleCount).ToArray()) ? 0 : 1;
    }

    private static void Check(int status, string what)
    {
        if (status != EspeakNative.ErrorOk)
        {
            throw new SpeechSynthesisException($"espeak-ng failed {what} (error {status}).");
        }
    }
}
