using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Anima.Abstractions;
using Anima.Server.Accounts;
using Anima.Server.Hosting;
using Anima.Voice.Activity;
using Anima.Voice.Emotion;
using Anima.Voice.OpenAi;
using Anima.Voice.Recognition;
using Anima.Voice.Sessions;
using Anima.Voice.Synthesis;
using Anima.Voice.Turns;
using Microsoft.Extensions.Options;

namespace Anima.Server.Voice;

/// <summary>
/// Voice over a WebSocket (<c>/api/voice?language=en</c>): the client streams 16 kHz mono PCM16 as binary
/// frames; the server detects speech and the end of the turn, transcribes it, runs the turn through the
/// user's companion grain, and streams the reply back sentence by sentence as binary PCM16 frames, with
/// JSON text frames for events (<c>speech-started</c>, <c>transcript</c>, <c>sentence</c>, <c>reply-finished</c>,
/// <c>stop-playback</c>, <c>warning</c>, <c>error</c>). Talking over the reply stops it (barge-in).
/// </summary>
public static class VoiceApi
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static IEndpointRouteBuilder MapVoiceApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.Map("/api/voice", HandleAsync).RequireAuthorization();
        return endpoints;
    }

    private static async Task HandleAsync(HttpContext context, IGrainFactory grains, VoiceEngines engines, string? language)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await AccountsApi.Problem(StatusCodes.Status400BadRequest, "WebSocket required", "Connect to /api/voice with a WebSocket and send 16 kHz mono 16-bit PCM as binary frames.", "websocket-required").ExecuteAsync(context);
            return;
        }

        if (language is not null and not ("en" or "ko"))
        {
            await AccountsApi.Problem(StatusCodes.Status400BadRequest, "Unsupported language", "language must be 'en' or 'ko'.", "unsupported-language").ExecuteAsync(context);
            return;
        }

        var companion = grains.GetGrain<ICompanionGrain>(context.User.UserId());
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var cancellationToken = context.RequestAborted;
        VoiceSession session;
        try
        {
            session = await engines.CreateSessionAsync(companion, language ?? "en", cancellationToken);
        }
        catch (Exception exception) when (exception is DllNotFoundException or InvalidOperationException or IOException)
        {
            await SendJsonAsync(socket, new { type = "error", message = "Voice is not available on this server: " + exception.Message }, cancellationToken);
            await socket.CloseAsync(WebSocketCloseStatus.InternalServerError, "voice unavailable", cancellationToken);
            return;
        }

        await using (session)
        {
            var sender = SendOutputsAsync(socket, session, companion, cancellationToken);
            var buffer = new byte[16 * 1024];
            try
            {
                while (socket.State == WebSocketState.Open)
                {
                    var result = await socket.ReceiveAsync(buffer, cancellationToken);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }

                    if (result.MessageType == WebSocketMessageType.Binary && result.Count > 0)
                    {
                        await session.WriteAudioAsync(buffer.AsMemory(0, result.Count), cancellationToken);
                    }
                    else if (result.MessageType == WebSocketMessageType.Text && result.EndOfMessage && TryReadPlayed(buffer.AsSpan(0, result.Count)) is { } played)
                    {
                        // {"type":"played","ms":N}: how much of the interrupted reply the page really played.
                        await session.ReportPlaybackAsync(played, cancellationToken);
                    }
                }

                // The user hung up or stopped sending: finish the turn that was in progress, so no words are lost.
                await session.CompleteAsync(CancellationToken.None);
            }
            catch (Exception exception) when (exception is WebSocketException or OperationCanceledException)
            {
                // A dropped connection mid-utterance: what was said is still transcribed and answered (and stored).
                await session.CompleteAsync(CancellationToken.None);
            }

            await session.DisposeAsync();
            await sender;
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
            }
        }
    }

    private static async Task SendOutputsAsync(WebSocket socket, VoiceSession session, ICompanionGrain companion, CancellationToken cancellationToken)
    {
        await foreach (var output in session.Outputs.ReadAllAsync(CancellationToken.None))
        {
            if (socket.State != WebSocketState.Open)
            {
                continue;
            }

            try
            {
                switch (output)
                {
                    case ReplyAudio audio:
                        await socket.SendAsync(audio.Pcm16, WebSocketMessageType.Binary, true, cancellationToken);
                        break;
                    case UserSpeechStarted:
                        await SendJsonAsync(socket, new { type = "speech-started" }, cancellationToken);
                        break;
                    case UserTranscript transcript:
                        await SendJsonAsync(socket, new { type = "transcript", text = transcript.Turn.Transcript, emotion = transcript.Turn.Emotion?.Label }, cancellationToken);
                        break;
                    case ReplySentence sentence:
                        await SendJsonAsync(socket, new { type = "sentence", text = sentence.Text }, cancellationToken);
                        break;
                    case ReplyFinished finished:
                        await SendJsonAsync(socket, new
                        {
                            type = "reply-finished",
                            text = finished.Text,
                            timingsMs = new
                            {
                                endOfTurn = finished.Timings.EndOfTurnWait.TotalMilliseconds,
                                transcription = finished.Timings.Transcription.TotalMilliseconds,
                                mindFirstText = finished.Timings.MindFirstText.TotalMilliseconds,
                                firstSentence = finished.Timings.FirstSentence.TotalMilliseconds,
                                firstAudio = finished.Timings.FirstAudio.TotalMilliseconds,
                                decisionToMind = finished.Timings.DecisionToMind.TotalMilliseconds,
                                decisionToFirstAudio = finished.Timings.DecisionToFirstAudio.TotalMilliseconds,
                            },
                        }, cancellationToken);
                        break;
                    case StopPlayback stop:
                        // Stops generation and stores the reply as cut off where the user stopped hearing it.
                        await companion.CutOffReplyAsync(stop.Heard.Text, CancellationToken.None);
                        await SendJsonAsync(socket, new { type = "stop-playback", heard = stop.Heard.Text }, cancellationToken);
                        break;
                    case ReplyHeard heard:
                        await companion.CutOffReplyAsync(heard.Heard.Text, CancellationToken.None);
                        break;
                    case BackchannelIgnored:
                        await SendJsonAsync(socket, new { type = "backchannel" }, cancellationToken);
                        break;
                    case AudioWarning warning:
                        await SendJsonAsync(socket, new { type = "warning", message = warning.Message }, cancellationToken);
                        break;
                    case VoiceSessionError error:
                        await SendJsonAsync(socket, new { type = "error", message = error.Message }, cancellationToken);
                        break;
                }
            }
            catch (Exception exception) when (exception is WebSocketException or OperationCanceledException)
            {
                // The client went away; keep draining so the session can finish storing the turn.
            }
        }
    }

    private static TimeSpan? TryReadPlayed(ReadOnlySpan<byte> message)
    {
        try
        {
            var reader = new Utf8JsonReader(message);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object && root.TryGetProperty("type", out var type) && type.ValueEquals("played")
                && root.TryGetProperty("ms", out var ms) && ms.TryGetDouble(out var milliseconds) && double.IsFinite(milliseconds) && milliseconds is >= 0 and <= 3_600_000
                ? TimeSpan.FromMilliseconds(milliseconds)
                : null;
        }
        catch (JsonException)
        {
            return null; // not ours to understand; the voice stream goes on
        }
    }

    private static Task SendJsonAsync(WebSocket socket, object message, CancellationToken cancellationToken) =>
        socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message, Json), WebSocketMessageType.Text, true, cancellationToken);
}

/// <summary>The voice engines, created once on first use: Silero VAD (energy fallback), speech-to-text and espeak-ng.</summary>
public sealed class VoiceEngines(IOptions<AnimaOptions> anima, IHttpClientFactory httpClientFactory, IConfiguration configuration) : IDisposable
{
    private readonly Lazy<ISpeechToText> _speechToText = new(() => CreateSpeechToText(configuration, httpClientFactory));
    private readonly Lazy<ITextToSpeech> _textToSpeech = new(() => new EspeakTextToSpeech());
    private readonly Lazy<VoiceEmotionRecognizer> _emotion = new(() => new VoiceEmotionRecognizer(VoiceEmotionModel.LoadDefault()));

    /// <summary>Turn-taking settings: the language's defaults, with Anima:Voice:Turns (e.g. EndOfTurnSilence = "00:00:00.600") on top.</summary>
    private VoiceTurnOptions TurnOptions(string language)
    {
        var options = VoiceTurnOptions.ForLanguage(language);
        configuration.GetSection("Anima:Voice:Turns").Bind(options);
        options.Validate();
        return options;
    }

    public async Task<VoiceSession> CreateSessionAsync(ICompanionGrain companion, string language, CancellationToken cancellationToken)
    {
        var vad = await VoiceActivityDetectorFactory.CreateAsync(
            new VoiceActivityOptions { ModelPath = configuration["Anima:Voice:VadModelPath"] ?? Path.Combine(anima.Value.DataDirectory, "models", "silero_vad.onnx") },
            httpClientFactory.CreateClient(nameof(VoiceEngines)),
            cancellationToken);
        var detector = new VoiceTurnDetector(vad.Detector, TurnOptions(language));
        // The user's voice baseline (speaker statistics) is kept by their companion, so the recognizer judges the
        // feeling relative to how this user usually sounds from the first turn of a new connection on; it uses its
        // speaker-independent model until it has heard enough of the voice.
        var speaker = await LoadSpeakerAsync(companion, _emotion.Value, cancellationToken);
        return new VoiceSession(detector, _speechToText.Value, _textToSpeech.Value, (turn, token) => Reply(companion, turn, language, speaker, token), _emotion.Value, speaker, language);
    }

    private static async Task<SpeakerFeatureStatistics> LoadSpeakerAsync(ICompanionGrain companion, VoiceEmotionRecognizer recognizer, CancellationToken cancellationToken)
    {
        var saved = await companion.GetVoiceBaselineAsync(cancellationToken);
        return saved is not null && saved.Means.Length == recognizer.Model.FeatureCount
            ? new SpeakerFeatureStatistics(saved.Count, saved.Means, saved.Variances)
            : recognizer.CreateSpeakerStatistics();
    }

    private static VoiceReplyPlan Reply(ICompanionGrain companion, VoiceUserTurn turn, string language, SpeakerFeatureStatistics speaker, CancellationToken cancellationToken) =>
        new(ReplyTextAsync(companion, turn, speaker, cancellationToken), SpeechStyle.FromFeeling(0.3, 0.5), language);

    private static async IAsyncEnumerable<string> ReplyTextAsync(ICompanionGrain companion, VoiceUserTurn turn, SpeakerFeatureStatistics speaker, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var transcript = turn.Transcript;
        var heard = turn.Emotion is { } emotion ? new HeardEmotion(emotion.Label, (float)emotion.Valence, (float)emotion.Arousal, (float)emotion.Confidence) : null;
        var interrupted = turn.PreviousReplyInterrupted;
        // When this utterance was heard, it was added to the user's baseline: the finally below keeps it with the
        // companion once the reply is done, off the path to the first audio.

        if (interrupted is not null)
        {
            // Before the new turn, in order: the reply the user cut off ends where they stopped hearing it (the page's
            // report may have shortened it since the barge-in), so the prompt of this turn says where it was cut off.
            await companion.CutOffReplyAsync(interrupted.Text, CancellationToken.None);
        }

        try
        {
            await foreach (var replyEvent in companion.SendSpokenAsync(transcript, heard, cancellationToken).WithBatchSize(1).WithCancellation(cancellationToken))
            {
                if (replyEvent.Kind == ReplyEventKind.Token && replyEvent.Text is { Length: > 0 } text)
                {
                    yield return text;
                }
            }
        }
        finally
        {
            if (turn.Emotion is not null)
            {
                VoiceBaseline baseline;
                lock (speaker)
                {
                    baseline = new VoiceBaseline(speaker.Count, [.. speaker.Means], [.. speaker.Variances]);
                }

                await companion.SaveVoiceBaselineAsync(baseline, CancellationToken.None);
            }
        }
    }

    private static ISpeechToText CreateSpeechToText(IConfiguration configuration, IHttpClientFactory httpClientFactory) =>
        configuration["Anima:Voice:SpeechToTextEndpoint"] is { Length: > 0 } endpoint
            ? new OpenAiCompatibleSpeechToText(httpClientFactory.CreateClient(nameof(VoiceEngines)), new OpenAiCompatibleOptions { BaseAddress = new Uri(endpoint), Model = configuration["Anima:Voice:SpeechToTextModel"] ?? "whisper-1", ApiKey = configuration["Anima:Voice:ApiKey"] })
            : new PocketSphinxSpeechToText(flatPass: configuration.GetValue("Anima:Voice:PocketSphinxFlatPass", false));

    public void Dispose()
    {
        if (_speechToText.IsValueCreated && _speechToText.Value is IDisposable speech)
        {
            speech.Dispose();
        }

        if (_textToSpeech.IsValueCreated && _textToSpeech.Value is IDisposable synthesis)
        {
            synthesis.Dispose();
        }
    }
}
