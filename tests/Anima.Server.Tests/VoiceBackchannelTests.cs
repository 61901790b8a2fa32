using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Anima.Testing;

namespace Anima.Server.Tests;

/// <summary>
/// Backchannels and coughs over the companion's voice, through the real /api/voice WebSocket with the embedded
/// engines (Silero VAD, pocketsphinx, espeak-ng): the microphone is streamed in real time, as the page does, while the
/// reply plays. "yeah", "uh-huh", "네", "음" (spoken by espeak-ng) and a synthesized cough must neither stop playback
/// nor cancel generation; a real sentence must barge in.
/// </summary>
/// <remarks>
/// What the decision uses: the length of the speech the VAD hears (a cough's burst is under the 250 ms minimum or
/// too short to barge in; anything shorter than the 600 ms barge-in is transcribed) and the transcript's words
/// (<c>Backchannels.IsInterruption</c>). pocketsphinx hears espeak's "yeah" as "you" and the Korean words as English
/// noise words — which is why the decision lets a short utterance pass unless it holds an interruption word, rather
/// than requiring a recognized backchannel.
/// </remarks>
public sealed class VoiceBackchannelTests : IAsyncLifetime
{
    private const string Long =
        "Hello to you too. I was hoping you would call today. I have been thinking about our walk by the river last week, " +
        "and the way the light moved on the water when the clouds went past. You told me about your sister and the garden " +
        "she is planting behind her house, with tomatoes and beans and a row of sunflowers along the fence. " +
        "I would love to hear how it is growing now, and whether the rabbits found it yet.";

    private ScriptedMindServer _mind = null!;
    private AnimaTestHost _host = null!;

    public async ValueTask InitializeAsync()
    {
        Assert.SkipUnless(File.Exists("/usr/bin/espeak-ng") && File.Exists("/usr/bin/sox") && File.Exists("/usr/lib/x86_64-linux-gnu/libpocketsphinx.so.3"),
            "espeak-ng, sox and pocketsphinx are not installed (apt-get install espeak-ng sox pocketsphinx pocketsphinx-en-us).");
        var vad = Path.Combine(SharedData.RequireDirectory("silero-vad"), "silero_vad.onnx");
        _mind = await ScriptedMindServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        _mind.Script = messages => messages.Count(message => message.Role == "user") > 1 ? "Oh, sorry. Go on." : Long;
        _mind.TokensPerSecond = 12; // about 6 s of generation: the backchannels come while the reply is still being written
        _host = new AnimaTestHost(settings: AnimaTestHost.MindSettings(_mind, "scripted", ("Anima:Voice:VadModelPath", vad)));
        await _host.StartAsync(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        if (_mind is not null)
        {
            await _mind.DisposeAsync();
        }
    }

    [Fact]
    public async Task Voice_BackchannelsAndCoughOverReply_PlaybackAndGenerationGoOn_SentenceBargesIn()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        using var http = await _host.SignUpAsync("listener", "listener password");
        var token = await _host.SignInForTokenAsync(http, "listener", "listener password", cancellationToken);
        var hello = await VoiceApiTests.SpeakAsync("hello world", cancellationToken);
        var backchannels = new (string Name, byte[] Pcm, bool MustBeTranscribed)[]
        {
            ("yeah", await VoiceApiTests.SpeakAsync("yeah", cancellationToken), true),
            ("uh-huh", await VoiceApiTests.SpeakAsync("uh-huh", cancellationToken), true),
            ("네", await VoiceApiTests.SpeakAsync("네", cancellationToken, "ko"), false),
            ("음", await VoiceApiTests.SpeakAsync("음", cancellationToken, "ko"), false),
            ("cough", Cough(), false),
        };
        var sentence = await VoiceApiTests.SpeakAsync("I want to tell you about something completely different now", cancellationToken);

        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        await socket.ConnectAsync(new Uri(_host.BaseAddress.ToString().Replace("http", "ws", StringComparison.Ordinal) + "api/voice?language=en"), cancellationToken);
        var events = Channel.CreateUnbounded<JsonElement>();
        var log = new ConcurrentQueue<string>();
        var receiving = VoiceApiTests.ReceiveEventsAsync(socket, events.Writer, cancellationToken, log);
        await using var microphone = new RealTimeMicrophone(socket);

        microphone.Say(hello);
        await UntilAsync(events.Reader, "audio", TimeSpan.FromSeconds(30), cancellationToken);
        var seen = new List<string>();
        await microphone.PauseAsync(TimeSpan.FromSeconds(1.5), events.Reader, seen, cancellationToken);
        var reactions = new List<string>();
        foreach (var (name, pcm, mustBeTranscribed) in backchannels)
        {
            var before = seen.Count;
            microphone.Say(pcm);
            // The end of turn (600 ms of silence while the companion speaks), transcription and the decision: a word
            // must come back as a backchannel (on a busy machine recognition lags, hence the long limit); a cough or a
            // word too short for the VAD gets a fixed pause.
            await microphone.PauseAsync(mustBeTranscribed ? TimeSpan.FromSeconds(8) : TimeSpan.FromSeconds(1.6), events.Reader, seen, cancellationToken, mustBeTranscribed ? "backchannel" : null);
            var after = seen.Skip(before).ToList();
            reactions.Add($"{name}: {string.Join(",", after.Where(kind => kind != "audio").DefaultIfEmpty("(nothing)"))}");
            Assert.DoesNotContain("stop-playback", after);
            Assert.DoesNotContain("transcript", after);
            if (mustBeTranscribed)
            {
                Assert.True(after.Contains("backchannel"), $"'{name}' was not heard as a short utterance over the reply: {string.Join(" | ", reactions)}; {string.Join(" | ", log)}");
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine("reactions: " + string.Join(" | ", reactions));
        TestContext.Current.TestOutputHelper?.WriteLine("events: " + string.Join(" | ", log.Where(entry => !entry.StartsWith("audio", StringComparison.Ordinal))));

        // Generation went on through all of it: the whole reply was written, and it is still playing.
        Assert.True(seen.Contains("reply-finished"), $"the reply was not finished: {string.Join(" | ", reactions)}");
        Assert.DoesNotContain("stop-playback", seen);
        microphone.Say(sentence);
        var stop = await UntilAsync(events.Reader, "stop-playback", TimeSpan.FromSeconds(30), cancellationToken);
        var heard = stop.GetProperty("heard").GetString()!;

        // Cut at the sentence, about 13 s into the reply, not at the first backchannel (2 s in): well past the opening sentences.
        Assert.True(heard.Length > Long.IndexOf("You told me", StringComparison.Ordinal) && Long.StartsWith(heard, StringComparison.Ordinal) && heard.Length < Long.Length,
            $"heard '{heard}'; reactions: {string.Join(" | ", reactions)}");
        await microphone.PauseAsync(TimeSpan.FromSeconds(2.5), events.Reader, seen, cancellationToken);
        await microphone.DisposeAsync();
        // Only our half of the close handshake here: the receiving loop reads the server's close frame (a CloseAsync
        // beside that loop would race it for the frame).
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", cancellationToken);
        await receiving;
        Assert.Equal(WebSocketState.Closed, socket.State);

        using var history = await http.GetAsync("/api/companion/history", cancellationToken);
        var turns = JsonDocument.Parse(await history.Content.ReadAsStringAsync(cancellationToken)).RootElement.GetProperty("turns");
        Assert.Equal(4, turns.GetArrayLength()); // hello, the cut reply, the sentence, its answer: no turn for a backchannel or the cough
        Assert.Equal("interrupted", turns[1].GetProperty("status").GetString(), ignoreCase: true);
        Assert.Equal(heard, turns[1].GetProperty("text").GetString());
    }

    /// <summary>
    /// A cough: two explosive bursts of band-limited noise (fast attack, ~80 ms decay) with a little glottal buzz,
    /// 0.35 s in all, peaking near −6 dBFS; seeded, so the same every run.
    /// </summary>
    internal static byte[] Cough()
    {
        var random = new Random(6);
        const int Rate = 16_000;
        var samples = new float[(int)(0.35 * Rate)];
        double low = 0, band = 0;
        foreach (var (start, gain) in new[] { (0.0, 1.0), (0.17, 0.6) })
        {
            for (var index = (int)(start * Rate); index < samples.Length; index++)
            {
                var t = (double)index / Rate - start;
                var envelope = gain * Math.Min(1, t / 0.004) * Math.Exp(-t / 0.08);
                // A state-variable band-pass around 1.2 kHz shapes white noise into a throat-like hiss.
                var noise = random.NextDouble() * 2 - 1;
                low += 0.45 * band;
                var high = noise - low - 0.6 * band;
                band += 0.45 * high;
                var buzz = 0.25 * Math.Sign(Math.Sin(2 * Math.PI * 140 * t));
                samples[index] += (float)(envelope * (0.9 * band + buzz * Math.Exp(-t / 0.04)));
            }
        }

        var peak = samples.Max(Math.Abs);
        var pcm = new byte[samples.Length * 2];
        for (var index = 0; index < samples.Length; index++)
        {
            var value = (short)Math.Clamp(samples[index] / peak * 0.5 * short.MaxValue, short.MinValue, short.MaxValue);
            pcm[2 * index] = (byte)value;
            pcm[2 * index + 1] = (byte)(value >> 8);
        }

        return pcm;
    }

    private static async Task<JsonElement> UntilAsync(ChannelReader<JsonElement> events, string type, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var seen = new List<string>();
        await foreach (var item in events.ReadAllAsync(limit.Token))
        {
            var kind = item.GetProperty("type").GetString()!;
            Assert.NotEqual("error", kind);
            if (kind == type)
            {
                return item;
            }

            seen.Add(kind);
        }

        throw new InvalidOperationException($"No '{type}' event; saw {string.Join(", ", seen.Distinct())}");
    }

    /// <summary>
    /// A microphone that streams 32 ms PCM16 frames in real time: queued speech, otherwise silence — so stream time
    /// and wall-clock time agree, as with the page.
    /// </summary>
    private sealed class RealTimeMicrophone : IAsyncDisposable
    {
        private const int FrameBytes = 1024; // 512 samples = 32 ms
        private readonly ClientWebSocket _socket;
        private readonly ConcurrentQueue<byte[]> _frames = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _sending;

        public RealTimeMicrophone(ClientWebSocket socket)
        {
            _socket = socket;
            _sending = Task.Run(SendAsync);
        }

        public void Say(byte[] pcm)
        {
            foreach (var frame in pcm.Chunk(FrameBytes))
            {
                _frames.Enqueue(frame);
            }
        }

        /// <summary>Lets <paramref name="duration"/> pass after the queued speech, collecting the event types that arrive.</summary>
        /// <remarks>With <paramref name="until"/>, returns as soon as an event of that type arrives.</remarks>
        public async Task PauseAsync(TimeSpan duration, ChannelReader<JsonElement> events, List<string> seen, CancellationToken cancellationToken, string? until = null)
        {
            var start = seen.Count;
            while (!_frames.IsEmpty)
            {
                await Task.Delay(10, cancellationToken);
                Drain(events, seen);
            }

            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < duration && (until is null || !seen.Skip(start).Contains(until)))
            {
                await Task.Delay(10, cancellationToken);
                Drain(events, seen);
            }
        }

        private static void Drain(ChannelReader<JsonElement> events, List<string> seen)
        {
            while (events.TryRead(out var item))
            {
                var kind = item.GetProperty("type").GetString()!;
                Assert.NotEqual("error", kind);
                seen.Add(kind);
            }
        }

        private async Task SendAsync()
        {
            var silence = new byte[FrameBytes];
            var clock = Stopwatch.StartNew();
            var sent = 0L;
            while (!_stop.IsCancellationRequested && _socket.State == WebSocketState.Open)
            {
                var frame = _frames.TryDequeue(out var queued) ? queued : silence;
                await _socket.SendAsync(frame, WebSocketMessageType.Binary, true, CancellationToken.None);
                sent += frame.Length;
                var due = TimeSpan.FromSeconds(sent / 32_000.0) - clock.Elapsed;
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, CancellationToken.None);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested)
            {
                await _stop.CancelAsync();
            }

            await _sending;
            _stop.Dispose();
        }
    }
}
