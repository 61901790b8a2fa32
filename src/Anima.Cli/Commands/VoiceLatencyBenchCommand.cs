using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Anima.Testing;
using Anima.Voice.Audio;
using Anima.Voice.Synthesis;
using Anima.Voice.Turns;

namespace Anima.Cli.Commands;

/// <summary>
/// End of the user's speech → first byte of reply audio, over a running server's real voice WebSocket. Utterances
/// are made with espeak-ng (several voices and rates), streamed in real time like a microphone (32 ms frames,
/// silence between turns), and answered by a scripted streaming mind served on loopback, so what is measured is
/// the voice pipeline and the platform, not a model. The clock starts at the last audible sample of each
/// utterance (found in the audio itself, not from the server's voice activity detector).
/// </summary>
public sealed class VoiceLatencyBenchCommand : ICliCommand
{
    private const int Rate = AudioClip.PipelineSampleRate;
    private const int FrameSamples = 512; // 32 ms, what the page's AudioWorklet sends
    private const string Reply = "Okay, I hear you. Tell me more about it.";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static readonly string[] Sentences =
    [
        "I went for a walk by the river this morning.", "Do you remember what we talked about yesterday?",
        "That sounds like a really good idea.", "I had a long day at work and I am tired.",
        "What do you think about writing letters by hand?", "My sister is coming to visit next week.",
        "I finally finished the book I was reading.", "Can you tell me a story before I sleep?",
        "The weather was beautiful today.", "I am not sure what to do about my job.",
        "Hello, how are you today?", "I cooked dinner for my friends last night.",
        "Sometimes I feel like nobody really listens to me.", "Where would you go if you could travel anywhere?",
        "I started learning the piano.", "It was raining all afternoon.",
        "Thank you for listening to me.", "Why do people like watching the sea?",
        "I want to go to bed early tonight.", "My cat knocked a glass off the table.",
    ];

    private static readonly string[] Voices = ["en-us", "en-us+m3", "en-us+f3", "en-us+f2"];

    public string Name => "bench voice latency";

    public string Summary => "End of speech → first reply audio over a running server's voice WebSocket (espeak-ng utterances, scripted mind); p50/p90/p99 per stage.";

    public string Usage => """
        Usage: anima bench voice latency --server URL [--utterances 40] [--first-token-ms 0] [--tokens-per-second 0]
                                         [--admin-user NAME --admin-password PASSWORD] [--mind-port 0]
          Starts a scripted OpenAI-compatible mind on 127.0.0.1 and points the server at it (as the administrator: the
          first account), signs up a user, makes --utterances English utterances with espeak-ng (4 voices, 3 rates) and
          streams them in real time over /api/voice, each followed by silence until the reply has played. The clock
          starts at each utterance's last audible sample and stops at the first reply audio byte. Prints p50/p90/p99 of
          each stage and of the total; the last line is `p50 end of speech to first audio excluding the mind ms: X`
          (the total minus the scripted mind's measured first-token time). English only: the embedded recognizer
          (pocketsphinx) cannot transcribe Korean.
        """;

    public async Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        var server = new Uri(arguments.Require("--server").TrimEnd('/') + "/");
        var count = arguments.GetInt32("--utterances", 40, 1, 10_000);
        var firstToken = TimeSpan.FromMilliseconds(arguments.GetInt32("--first-token-ms", 0, 0, 60_000));
        var tokensPerSecond = arguments.GetDouble("--tokens-per-second", 0);
        var adminUser = arguments.Get("--admin-user") ?? "bench-admin";
        var adminPassword = arguments.Get("--admin-password") ?? "bench-admin-password";
        var mindPort = arguments.GetInt32("--mind-port", 0, 0, 65535);
        arguments.ThrowIfUnused();
        if (!EspeakTextToSpeech.IsAvailable(out var reason))
        {
            await context.Error.WriteLineAsync($"espeak-ng is needed to make the utterances: {reason}");
            return 1;
        }

        await using var mind = await ScriptedMindServer.StartAsync(mindPort, cancellationToken);
        mind.FirstTokenDelay = firstToken;
        mind.TokensPerSecond = tokensPerSecond;
        mind.Script = messages => messages.LastOrDefault(message => message.Role == "user").Text?.Contains("Answer with JSON only", StringComparison.Ordinal) == true
            ? ScriptedMindServer.DefaultScript(messages)
            : Reply;
        using var http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromMinutes(2) };
        var adminToken = await BenchAccounts.SignInOrUpAsync(http, adminUser, adminPassword, cancellationToken)
            ?? throw new CliUsageException($"Cannot sign in as '{adminUser}': give the administrator's --admin-user and --admin-password.");
        using (var request = new HttpRequestMessage(HttpMethod.Put, "api/mind/") { Content = JsonContent.Create(new { provider = "openai", endpoint = mind.Endpoint, model = "scripted" }, options: Json) })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
            using var response = await http.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                await context.Error.WriteLineAsync($"Could not point the server at the scripted mind ({(int)response.StatusCode}); is '{adminUser}' the administrator?");
                return 1;
            }
        }

        var user = "voice-bench-" + DateTime.UtcNow.ToString("HHmmss", CultureInfo.InvariantCulture);
        var token = await BenchAccounts.SignInOrUpAsync(http, user, "voice bench password", cancellationToken)
            ?? throw new InvalidOperationException("Sign-up of the benchmark user failed.");

        var utterances = await MakeUtterancesAsync(count, cancellationToken);
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        await socket.ConnectAsync(new Uri(server.ToString().Replace("http", "ws", StringComparison.Ordinal) + "api/voice?language=en"), cancellationToken);
        var listener = new ReplyListener(socket);
        var listening = listener.RunAsync(cancellationToken);
        var microphone = new Microphone(socket);
        var turns = new List<TurnMeasurement>();
        using (var progress = new ConsoleProgressBar(context, "talking"))
        {
            await microphone.SendSilenceAsync(TimeSpan.FromSeconds(1), cancellationToken);
            for (var index = 0; index < utterances.Count; index++)
            {
                var (text, clip, speechEnd) = utterances[index];
                var turn = listener.Expect();
                var endOfSpeech = await microphone.SendUtteranceAsync(clip.Samples, speechEnd, cancellationToken);
                // Keep the microphone open (silence) until the reply has been spoken and played, as a listener would.
                var limit = TimeSpan.FromSeconds(15);
                while (!turn.IsFinished && Stopwatch.GetElapsedTime(endOfSpeech) < limit)
                {
                    await microphone.SendSilenceAsync(TimeSpan.FromMilliseconds(96), cancellationToken);
                }

                if (turn.IsFinished && turn.FirstAudioAt is { } firstAudioAt)
                {
                    var playing = TimeSpan.FromSeconds(turn.AudioBytes / 2.0 / Rate) - Stopwatch.GetElapsedTime(firstAudioAt);
                    await microphone.SendSilenceAsync((playing > TimeSpan.Zero ? playing : TimeSpan.Zero) + TimeSpan.FromMilliseconds(400), cancellationToken);
                }

                turns.Add(new TurnMeasurement(text, endOfSpeech, turn, microphone.LastLateness));
                progress.Report((double)(index + 1) / utterances.Count, $"{index + 1} of {utterances.Count}");
            }
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        await listening;
        await ReportAsync(context.Out, turns, firstToken, tokensPerSecond);
        return turns.Any(turn => turn.Total is not null) ? 0 : 1;
    }

    /// <summary>
    /// The utterances: each sentence in each voice at 0.9×, 1× and 1.15× speed, trimmed to its audible part, with the
    /// index of the sample just after the last audible 10 ms window (the real end of speech).
    /// </summary>
    private static async Task<List<(string Text, AudioClip Clip, int SpeechEnd)>> MakeUtterancesAsync(int count, CancellationToken cancellationToken)
    {
        var result = new List<(string, AudioClip, int)>();
        var synthesizers = Voices.Select(voice => new EspeakTextToSpeech(new Dictionary<string, string> { ["en"] = voice })).ToArray();
        double[] rates = [1.0, 0.9, 1.15];
        for (var index = 0; index < count; index++)
        {
            var text = Sentences[index % Sentences.Length];
            var synthesizer = synthesizers[index % synthesizers.Length];
            var style = new SpeechStyle(Rate: rates[index / Sentences.Length % rates.Length]);
            var clip = await synthesizer.SynthesizeToClipAsync(text, "en", style, cancellationToken);
            var (start, end) = AudibleRange(clip.Samples);
            var speech = new float[end - start];
            Array.Copy(clip.Samples, start, speech, 0, speech.Length);
            result.Add((text, new AudioClip(speech, Rate), speech.Length));
        }

        return result;
    }

    /// <summary>The first and one past the last sample of the audible part: 10 ms windows above −50 dBFS RMS.</summary>
    internal static (int Start, int End) AudibleRange(float[] samples)
    {
        const int Window = Rate / 100;
        const double Threshold = 0.00316; // −50 dBFS
        int first = -1, last = -1;
        for (var offset = 0; offset + Window <= samples.Length; offset += Window)
        {
            double sum = 0;
            for (var index = offset; index < offset + Window; index++)
            {
                sum += (double)samples[index] * samples[index];
            }

            if (Math.Sqrt(sum / Window) >= Threshold)
            {
                first = first < 0 ? offset : first;
                last = offset + Window;
            }
        }

        return first < 0 ? (0, 0) : (first, last);
    }

    private static async Task ReportAsync(TextWriter output, List<TurnMeasurement> turns, TimeSpan firstToken, double tokensPerSecond)
    {
        var answered = turns.Where(turn => turn.Total is not null).ToList();
        var early = turns.Count(turn => turn.Turn.Transcripts > 1 || turn.Total < TimeSpan.Zero);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"utterances: {turns.Count}, answered: {answered.Count}, cut early (a reply started before the end of speech, or one utterance became two turns): {early}, errors: {turns.Count(turn => turn.Turn.Error is not null)}"));
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"scripted mind: first token after {firstToken.TotalMilliseconds} ms, {(tokensPerSecond > 0 ? tokensPerSecond + " tokens/s" : "tokens as fast as possible")}; reply \"{Reply}\""));
        var clean = answered.Where(turn => turn.Turn.Transcripts == 1 && turn.Total >= TimeSpan.Zero).ToList();
        (string Name, Func<TurnMeasurement, double?> Value)[] stages =
        [
            ("end of speech → end-of-turn decision (server; incl. network in)", turn => turn.Total!.Value.TotalMilliseconds - turn.Turn.Timing("decisionToFirstAudio")),
            ("  of which detector silence wait (stream time)", turn => turn.Turn.Timing("endOfTurn")),
            ("decision → transcript (speech-to-text left)", turn => turn.Turn.Timing("transcription")),
            ("decision → mind asked (STT, voice emotion)", turn => turn.Turn.Timing("decisionToMind")),
            ("mind asked → first token (grain + scripted mind)", turn => turn.Turn.Timing("mindFirstText")),
            ("first token → first speakable text", turn => turn.Turn.Timing("firstSentence") - turn.Turn.Timing("mindFirstText")),
            ("speakable text → first audio chunk (TTS)", turn => turn.Turn.Timing("firstAudio") - turn.Turn.Timing("firstSentence")),
            ("decision → first audio (server)", turn => turn.Turn.Timing("decisionToFirstAudio")),
            ("client sender lateness at the end of speech (counted in total)", turn => turn.SenderLateness.TotalMilliseconds),
            ("TOTAL end of speech → first audio byte (client)", turn => turn.Total!.Value.TotalMilliseconds),
            ("TOTAL excluding the mind's first-token time", turn => turn.Total!.Value.TotalMilliseconds - turn.Turn.Timing("mindFirstText")),
        ];
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"stage (ms, n={clean.Count} turns)                                  p50      p90      p99      max"));
        double? headline = null;
        foreach (var (name, value) in stages)
        {
            var values = clean.Select(value).Where(item => item is not null).Select(item => item!.Value).Order().ToList();
            if (values.Count == 0)
            {
                continue;
            }

            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{name,-66} {Percentile(values, 0.50),8:0.0} {Percentile(values, 0.90),8:0.0} {Percentile(values, 0.99),8:0.0} {values[^1],8:0.0}"));
            headline = Percentile(values, 0.50);
        }

        // The detector waits 160 ms after a falling or rising final pitch and 600 ms after a level one, so the total's
        // p50 moves with the share of short ends (which shifts between runs with the 32 ms frame phase of each utterance).
        var shortEnds = clean.Count(turn => turn.Turn.Timing("endOfTurn") < VoiceTurnOptions.DefaultEndOfTurnSilence.TotalMilliseconds);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"turns ended by the short pitch-based wait: {shortEnds} of {clean.Count}; the rest waited the full silence"));
        var errors = turns.Sum(turn => WordErrors(Words(turn.Text), Words(turn.Turn.Transcript ?? string.Empty)));
        var reference = turns.Sum(turn => Words(turn.Text).Length);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"word error rate of the transcripts: {100.0 * errors / Math.Max(1, reference):0.0}% ({errors} errors in {reference} words; espeak-ng speech, so only a rough check that recognition still works)"));
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"p50 end of speech to first audio excluding the mind ms: {headline:0.0}"));
    }

    private static string[] Words(string text) =>
        text.ToLowerInvariant().Replace("'", string.Empty, StringComparison.Ordinal).Split([' ', ',', '.', '?', '!'], StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Word-level edit distance (substitutions, insertions, deletions).</summary>
    internal static int WordErrors(string[] reference, string[] hypothesis)
    {
        var previous = Enumerable.Range(0, hypothesis.Length + 1).ToArray();
        for (var row = 1; row <= reference.Length; row++)
        {
            var current = new int[hypothesis.Length + 1];
            current[0] = row;
            for (var column = 1; column <= hypothesis.Length; column++)
            {
                var substitution = previous[column - 1] + (reference[row - 1] == hypothesis[column - 1] ? 0 : 1);
                current[column] = Math.Min(substitution, Math.Min(previous[column] + 1, current[column - 1] + 1));
            }

            previous = current;
        }

        return previous[hypothesis.Length];
    }

    private static double Percentile(List<double> sorted, double quantile) =>
        sorted[Math.Clamp((int)Math.Ceiling(quantile * sorted.Count) - 1, 0, sorted.Count - 1)];

    private sealed record TurnMeasurement(string Text, long EndOfSpeech, TurnRecord Turn, TimeSpan SenderLateness)
    {
        /// <summary>End of speech → first reply audio byte at the client; null when no reply audio came.</summary>
        public TimeSpan? Total => Turn.FirstAudioAt is { } at ? Stopwatch.GetElapsedTime(EndOfSpeech, at) : null;
    }

    /// <summary>What the server sent for one utterance.</summary>
    private sealed class TurnRecord
    {
        private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Transcripts { get; set; }

        public string? Transcript { get; set; }

        public long? FirstAudioAt { get; set; }

        public long AudioBytes { get; set; }

        public JsonElement? Timings { get; set; }

        public string? Error { get; set; }

        public bool IsFinished => _finished.Task.IsCompleted;

        public void Finish() => _finished.TrySetResult();

        public double? Timing(string name) => Timings is { } timings && timings.TryGetProperty(name, out var value) ? value.GetDouble() : null;
    }

    /// <summary>Reads the socket: events and reply audio, attributed to the utterance being measured.</summary>
    private sealed class ReplyListener(WebSocket socket)
    {
        private TurnRecord _current = new();

        public TurnRecord Expect()
        {
            var next = new TurnRecord();
            Volatile.Write(ref _current, next);
            return next;
        }

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            var buffer = new byte[64 * 1024];
            try
            {
                while (socket.State is WebSocketState.Open or WebSocketState.CloseSent)
                {
                    using var message = new MemoryStream();
                    var result = await socket.ReceiveMessageAsync(buffer, message, cancellationToken);
                    var now = Stopwatch.GetTimestamp();
                    var turn = Volatile.Read(ref _current);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }

                    if (result.MessageType == WebSocketMessageType.Binary)
                    {
                        turn.FirstAudioAt ??= now;
                        turn.AudioBytes += message.Length;
                        continue;
                    }

                    using var document = JsonDocument.Parse(message.ToArray());
                    var root = document.RootElement;
                    switch (root.GetProperty("type").GetString())
                    {
                        case "transcript":
                            turn.Transcripts++;
                            turn.Transcript = root.GetProperty("text").GetString();
                            break;
                        case "reply-finished":
                            turn.Timings = root.GetProperty("timingsMs").Clone();
                            turn.Finish();
                            break;
                        case "error":
                            turn.Error = root.GetProperty("message").GetString();
                            turn.Finish();
                            break;
                    }
                }
            }
            catch (WebSocketException)
            {
                // The server closed the connection; the turns measured so far are reported.
            }
        }
    }

    /// <summary>Sends 16 kHz PCM16 in 32 ms frames at the pace a microphone produces them.</summary>
    private sealed class Microphone(WebSocket socket)
    {
        private long _startedAt;
        private long _framesSent;

        /// <summary>Sends the utterance; returns the moment its last audible sample was (in real time) spoken.</summary>
        public async Task<long> SendUtteranceAsync(float[] samples, int speechEnd, CancellationToken cancellationToken)
        {
            long endOfSpeech = 0;
            var padded = new float[(samples.Length + FrameSamples - 1) / FrameSamples * FrameSamples];
            samples.CopyTo(padded, 0);
            for (var offset = 0; offset < padded.Length; offset += FrameSamples)
            {
                var (capturedAt, sentAt) = await SendFrameAsync(padded.AsSpan(offset, FrameSamples).ToArray(), cancellationToken);
                if (speechEnd > offset && speechEnd <= offset + FrameSamples)
                {
                    // The clock starts when the last audible sample was spoken (the frame's capture time minus the rest of
                    // the frame), not when this client managed to send it: a late sender counts against the server.
                    endOfSpeech = capturedAt - (long)((offset + FrameSamples - speechEnd) / (double)Rate * Stopwatch.Frequency);
                    LastLateness = Stopwatch.GetElapsedTime(capturedAt, sentAt);
                }
            }

            return endOfSpeech;
        }

        public async Task SendSilenceAsync(TimeSpan duration, CancellationToken cancellationToken)
        {
            var frames = Math.Max(1, (int)Math.Ceiling(duration.TotalSeconds * Rate / FrameSamples));
            var silence = new float[FrameSamples];
            for (var frame = 0; frame < frames; frame++)
            {
                await SendFrameAsync(silence, cancellationToken);
            }
        }

        /// <summary>How late the frame holding the end of the last utterance was sent after its capture time.</summary>
        public TimeSpan LastLateness { get; private set; }

        private async Task<(long CapturedAt, long SentAt)> SendFrameAsync(float[] frame, CancellationToken cancellationToken)
        {
            if (_startedAt == 0)
            {
                _startedAt = Stopwatch.GetTimestamp();
            }

            // Frame n is complete (captured) at start + (n + 1) × 32 ms; never send it earlier.
            var due = TimeSpan.FromSeconds((_framesSent + 1) * FrameSamples / (double)Rate);
            var wait = due - Stopwatch.GetElapsedTime(_startedAt);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken);
            }

            await socket.SendAsync(Pcm16.Encode(frame), WebSocketMessageType.Binary, true, cancellationToken);
            _framesSent++;
            return (_startedAt + (long)(due.TotalSeconds * Stopwatch.Frequency), Stopwatch.GetTimestamp());
        }
    }
}
