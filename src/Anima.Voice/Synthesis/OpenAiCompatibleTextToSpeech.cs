using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using Anima.Voice.Audio;
using Anima.Voice.OpenAi;

namespace Anima.Voice.Synthesis;

/// <summary>
/// Text-to-speech through any server with OpenAI's <c>POST /v1/audio/speech</c>. With <c>response_format=pcm</c>
/// (raw 16-bit little-endian mono at <see cref="PcmSampleRate"/>, 24 kHz for OpenAI) the body is streamed and
/// converted to 16 kHz chunk by chunk; with <c>wav</c> the whole file is read first. The style's rate becomes
/// <c>speed</c>; with <see cref="SendStyleInstructions"/> the feeling is also described in <c>instructions</c>.
/// </summary>
public sealed class OpenAiCompatibleTextToSpeech : ITextToSpeech
{
    private const int ReadBufferBytes = 4800; // 100 ms at 24 kHz
    private readonly HttpClient _httpClient;
    private readonly OpenAiCompatibleOptions _options;

    /// <param name="httpClient">The client to send with (its own timeout is left alone; <see cref="OpenAiCompatibleOptions.Timeout"/> applies per request).</param>
    /// <param name="options">Server, key and model.</param>
    /// <param name="voices">Voice name per language ("en", "ko"); a missing language uses <paramref name="defaultVoice"/>.</param>
    /// <param name="defaultVoice">The voice for languages not in <paramref name="voices"/>.</param>
    /// <param name="responseFormat">"pcm" (streamed) or "wav".</param>
    public OpenAiCompatibleTextToSpeech(HttpClient httpClient, OpenAiCompatibleOptions options, IReadOnlyDictionary<string, string>? voices = null, string defaultVoice = "alloy", string responseFormat = "pcm")
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (responseFormat is not ("pcm" or "wav"))
        {
            throw new ArgumentException($"The response format must be \"pcm\" or \"wav\"; got '{responseFormat}'.", nameof(responseFormat));
        }

        _httpClient = httpClient;
        _options = options;
        Voices = voices ?? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        DefaultVoice = defaultVoice;
        ResponseFormat = responseFormat;
    }

    public string Name => "openai-compatible-tts";

    public IReadOnlyDictionary<string, string> Voices { get; }

    public string DefaultVoice { get; }

    public string ResponseFormat { get; }

    /// <summary>
    /// Whether to describe the feeling in <c>instructions</c> (OpenAI's gpt-4o-mini-tts reads it; servers with
    /// strict request validation may reject the field, so it is off unless asked for).
    /// </summary>
    public bool SendStyleInstructions { get; init; }

    /// <summary>The rate of <c>pcm</c> responses (OpenAI's is 24 kHz).</summary>
    public int PcmSampleRate { get; init; } = 24_000;

    public async IAsyncEnumerable<AudioClip> SynthesizeAsync(string text, string language, SpeechStyle style, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(style);
        if (string.IsNullOrWhiteSpace(text))
        {
            yield break;
        }

        style = style.Clamped();
        var request = new SpeechRequest(
            _options.Model,
            text,
            Voices.TryGetValue(language ?? string.Empty, out var voice) ? voice : DefaultVoice,
            ResponseFormat,
            Math.Round(style.Rate, 2),
            SendStyleInstructions ? Describe(style) : null);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        using var message = new HttpRequestMessage(HttpMethod.Post, _options.Endpoint("audio/speech"))
        {
            Content = JsonContent.Create(request, OpenAiJsonContext.Default.SpeechRequest),
        };
        if (_options.ApiKey is { Length: > 0 } key)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        HttpResponseMessage response;
        try
        {
            response = await _httpClient.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        }
        catch (HttpRequestException exception)
        {
            throw new SpeechSynthesisException($"The speech server at {_options.BaseAddress} could not be reached: {exception.Message}", exception);
        }
        catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SpeechSynthesisException($"The speech server at {_options.BaseAddress} did not answer within {_options.Timeout.TotalSeconds:0} s.", exception);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadAsStringAsync(timeout.Token);
                throw new SpeechSynthesisException($"The speech server answered HTTP {(int)response.StatusCode}: {Truncate(body)}");
            }

            await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
            if (ResponseFormat == "wav")
            {
                using var buffer = new MemoryStream();
                await stream.CopyToAsync(buffer, timeout.Token);
                AudioClip clip;
                try
                {
                    clip = WaveFile.Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
                }
                catch (AudioFormatException exception)
                {
                    throw new SpeechSynthesisException($"The speech server's WAV could not be read: {exception.Message}", exception);
                }

                yield return clip.ToSampleRate(AudioClip.PipelineSampleRate);
                yield break;
            }

            var resampler = new StreamingResampler(PcmSampleRate, AudioClip.PipelineSampleRate);
            var bytes = new byte[ReadBufferBytes + 1];
            var carried = 0; // an odd byte left from the previous read
            int read;
            while ((read = await stream.ReadAsync(bytes.AsMemory(carried, ReadBufferBytes), timeout.Token)) > 0)
            {
                var available = carried + read;
                var even = available & ~1;
                var converted = resampler.Process(Pcm16.Decode(bytes.AsSpan(0, even)));
                carried = available - even;
                if (carried == 1)
                {
                    bytes[0] = bytes[even];
                }

                if (converted.Length > 0)
                {
                    yield return new AudioClip(converted, AudioClip.PipelineSampleRate);
                }
            }

            var tail = resampler.Flush();
            if (tail.Length > 0)
            {
                yield return new AudioClip(tail, AudioClip.PipelineSampleRate);
            }
        }
    }

    /// <summary>A plain-language delivery hint for servers that accept <c>instructions</c>; null when neutral.</summary>
    internal static string? Describe(SpeechStyle style)
    {
        var parts = new List<string>();
        if (style.Rate > 1.08)
        {
            parts.Add("a little faster than usual");
        }
        else if (style.Rate < 0.92)
        {
            parts.Add("slowly");
        }

        if (style.Pitch + style.PitchRange > 0.3)
        {
            parts.Add("bright and lively");
        }
        else if (style.Pitch + style.PitchRange < -0.3)
        {
            parts.Add("soft and subdued");
        }

        if (style.Volume > 1.1)
        {
            parts.Add("with energy");
        }
        else if (style.Volume < 0.85)
        {
            parts.Add("quietly");
        }

        return parts.Count == 0 ? null : "Speak " + string.Join(", ", parts) + ".";
    }

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "…";

    internal sealed record SpeechRequest(
        [property: JsonPropertyName("model")] string Model,
        [property: JsonPropertyName("input")] string Input,
        [property: JsonPropertyName("voice")] string Voice,
        [property: JsonPropertyName("response_format")] string ResponseFormat,
        [property: JsonPropertyName("speed")] double Speed,
        [property: JsonPropertyName("instructions"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Instructions);
}
