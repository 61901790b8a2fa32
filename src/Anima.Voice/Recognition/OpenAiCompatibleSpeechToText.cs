using System.Net.Http.Headers;
using System.Text.Json;
using Anima.Voice.Audio;
using Anima.Voice.OpenAi;

namespace Anima.Voice.Recognition;

/// <summary>
/// Speech recognition through any server with OpenAI's <c>POST /v1/audio/transcriptions</c> (OpenAI, whisper.cpp's
/// server, faster-whisper servers): the utterance is sent as a 16 kHz 16-bit WAV in a multipart form with
/// <c>response_format=json</c>.
/// </summary>
public sealed class OpenAiCompatibleSpeechToText : ISpeechToText
{
    private readonly HttpClient _httpClient;
    private readonly OpenAiCompatibleOptions _options;

    public OpenAiCompatibleSpeechToText(HttpClient httpClient, OpenAiCompatibleOptions options)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _httpClient = httpClient;
        _options = options;
    }

    public string Name => "openai-compatible-stt";

    public IReadOnlyCollection<string>? Languages => null;

    public async Task<Transcript> TranscribeAsync(AudioClip audio, string? language, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(audio);
        var wave = WaveFile.ToBytes(audio.ToSampleRate(AudioClip.PipelineSampleRate));
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(wave);
        file.Headers.ContentType = new MediaTypeHeaderValue("audio/wav");
        form.Add(file, "file", "utterance.wav");
        form.Add(new StringContent(_options.Model), "model");
        form.Add(new StringContent("json"), "response_format");
        if (!string.IsNullOrEmpty(language))
        {
            form.Add(new StringContent(language), "language");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, _options.Endpoint("audio/transcriptions")) { Content = form };
        if (_options.ApiKey is { Length: > 0 } key)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        try
        {
            using var response = await _httpClient.SendAsync(request, timeout.Token);
            var body = await response.Content.ReadAsStringAsync(timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                throw new SpeechRecognitionException($"The transcription server answered HTTP {(int)response.StatusCode}: {(body.Length > 300 ? body[..300] + "…" : body)}");
            }

            TranscriptionResponse? parsed;
            try
            {
                parsed = JsonSerializer.Deserialize(body, OpenAiJsonContext.Default.TranscriptionResponse);
            }
            catch (JsonException exception)
            {
                throw new SpeechRecognitionException("The transcription server's answer is not the expected JSON object with a \"text\" field.", exception);
            }

            if (parsed?.Text is null)
            {
                throw new SpeechRecognitionException("The transcription server's answer has no \"text\" field.");
            }

            return new Transcript(parsed.Text.Trim(), parsed.Language ?? language, Name);
        }
        catch (HttpRequestException exception)
        {
            throw new SpeechRecognitionException($"The transcription server at {_options.BaseAddress} could not be reached: {exception.Message}", exception);
        }
        catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SpeechRecognitionException($"The transcription server at {_options.BaseAddress} did not answer within {_options.Timeout.TotalSeconds:0} s.", exception);
        }
    }
}
