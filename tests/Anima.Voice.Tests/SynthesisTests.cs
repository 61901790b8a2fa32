using System.Net;
using System.Text.Json;
using Anima.Testing;
using Anima.Voice.Audio;
using Anima.Voice.OpenAi;
using Anima.Voice.Synthesis;

namespace Anima.Voice.Tests;

public sealed class SynthesisTests
{
    [Theory]
    [InlineData("en", "Hello there, it is good to hear your voice.")]
    [InlineData("ko", "안녕하세요. 오늘 기분이 어때요?")]
    public async Task EspeakTextToSpeech_Sentence_ProducesAudibleSpeechInChunks(string language, string text)
    {
        NativeEngines.RequireEspeak();
        var tts = new EspeakTextToSpeech();
        var chunks = new List<AudioClip>();
        await foreach (var chunk in tts.SynthesizeAsync(text, language, SpeechStyle.Neutral, TestContext.Current.CancellationToken))
        {
            Assert.Equal(AudioClip.PipelineSampleRate, chunk.SampleRate);
            chunks.Add(chunk);
        }

        Assert.True(chunks.Count > 3, $"{chunks.Count} chunks");
        var clip = AudioClip.Concatenate(chunks, AudioClip.PipelineSampleRate);
        Assert.InRange(clip.Duration.TotalSeconds, 1, 6);
        var levels = AudioQuality.Measure(clip.Samples);
        Assert.False(levels.IsSilent);
        Assert.False(levels.IsClipped);
    }

    [Fact]
    public async Task EspeakTextToSpeech_ExcitedStyle_IsFasterThanSadStyle()
    {
        NativeEngines.RequireEspeak();
        var tts = new EspeakTextToSpeech();
        const string text = "I can't believe we finally get to go there together.";
        var excited = await tts.SynthesizeToClipAsync(text, "en", SpeechStyle.FromFeeling(0.8, 0.9), TestContext.Current.CancellationToken);
        var sad = await tts.SynthesizeToClipAsync(text, "en", SpeechStyle.FromFeeling(-0.7, -0.6), TestContext.Current.CancellationToken);
        Assert.True(excited.Duration < sad.Duration * 0.85, $"excited {excited.Duration.TotalSeconds:0.00}s, sad {sad.Duration.TotalSeconds:0.00}s");
        Assert.True(AudioQuality.Measure(excited.Samples).RmsDecibels > AudioQuality.Measure(sad.Samples).RmsDecibels);
    }

    [Fact]
    public async Task EspeakTextToSpeech_ConcurrentCalls_AreSerializedAndBothComplete()
    {
        NativeEngines.RequireEspeak();
        var tts = new EspeakTextToSpeech();
        var first = tts.SynthesizeToClipAsync("The first sentence is this one.", "en", SpeechStyle.Neutral, TestContext.Current.CancellationToken);
        var second = tts.SynthesizeToClipAsync("두 번째 문장입니다.", "ko", SpeechStyle.Neutral, TestContext.Current.CancellationToken);
        var clips = await Task.WhenAll(first, second);
        Assert.All(clips, clip => Assert.False(AudioQuality.Measure(clip.Samples).IsSilent));
    }

    [Fact]
    public async Task EspeakTextToSpeech_Cancelled_StopsEarly()
    {
        NativeEngines.RequireEspeak();
        var tts = new EspeakTextToSpeech();
        using var cancellation = new CancellationTokenSource();
        var received = 0;
        var text = string.Join(' ', Enumerable.Repeat("This is a long reply that the user interrupts.", 20));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var chunk in tts.SynthesizeAsync(text, "en", SpeechStyle.Neutral, cancellation.Token))
            {
                received++;
                await cancellation.CancelAsync();
            }
        });
        Assert.Equal(1, received);

        // The engine is free again at once.
        var after = await tts.SynthesizeToClipAsync("Okay.", "en", SpeechStyle.Neutral, TestContext.Current.CancellationToken);
        Assert.True(after.Duration.TotalSeconds < 2);
    }

    [Fact]
    public async Task EspeakTextToSpeech_UnknownLanguage_ThrowsClearError()
    {
        var tts = new EspeakTextToSpeech();
        var exception = await Assert.ThrowsAsync<SpeechSynthesisException>(() => tts.SynthesizeToClipAsync("Bonjour", "fr", SpeechStyle.Neutral, TestContext.Current.CancellationToken));
        Assert.Contains("'fr'", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SpeechStyle_FromFeeling_MapsArousalAndValenceToProsody()
    {
        var excited = SpeechStyle.FromFeeling(0.6, 0.9);
        var calm = SpeechStyle.FromFeeling(0.3, -0.8);
        var sad = SpeechStyle.FromFeeling(-0.8, -0.5);
        Assert.True(excited.Rate > 1 && excited.Pitch > 0 && excited.Volume > 1);
        Assert.True(calm.Rate < 1 && calm.Volume < 1);
        Assert.True(sad.Pitch < 0 && sad.PitchRange < 0);
        Assert.Equal(SpeechStyle.Neutral, SpeechStyle.FromFeeling(0, 0));
        Assert.Throws<ArgumentException>(() => SpeechStyle.FromFeeling(double.NaN, 0));
    }

    [Fact]
    public async Task OpenAiCompatibleTextToSpeech_PcmResponse_StreamsResampledChunks()
    {
        string? requestBody = null;
        string? authorization = null;
        var pcm = Pcm16.Encode(TestAudio.Sine(440, 1.0, 0.4, 24000));
        await using var server = new LoopbackHttpServer(async context =>
        {
            Assert.Equal("/v1/audio/speech", context.Request.Url!.AbsolutePath);
            authorization = context.Request.Headers["Authorization"];
            using var reader = new StreamReader(context.Request.InputStream);
            requestBody = await reader.ReadToEndAsync(TestContext.Current.CancellationToken);
            context.Response.ContentType = "audio/pcm";
            context.Response.SendChunked = true;
            // Odd-sized writes: the client must carry a half sample across reads.
            for (var offset = 0; offset < pcm.Length; offset += 4001)
            {
                await context.Response.OutputStream.WriteAsync(pcm.AsMemory(offset, Math.Min(4001, pcm.Length - offset)), TestContext.Current.CancellationToken);
                await context.Response.OutputStream.FlushAsync(TestContext.Current.CancellationToken);
            }
        });
        using var client = new HttpClient();
        var tts = new OpenAiCompatibleTextToSpeech(client, Options(server), new Dictionary<string, string> { ["ko"] = "nova" }) { SendStyleInstructions = true };
        var clip = await tts.SynthesizeToClipAsync("반가워요!", "ko", SpeechStyle.FromFeeling(0.7, 0.8), TestContext.Current.CancellationToken);

        Assert.InRange(clip.Samples.Length, 15990, 16010);
        Assert.InRange(AudioTests.DominantFrequency(clip.Samples[1000..15000], 16000), 435, 445);
        Assert.Equal("Bearer secret", authorization);
        using var json = JsonDocument.Parse(requestBody!);
        Assert.Equal("tts-test", json.RootElement.GetProperty("model").GetString());
        Assert.Equal("반가워요!", json.RootElement.GetProperty("input").GetString());
        Assert.Equal("nova", json.RootElement.GetProperty("voice").GetString());
        Assert.Equal("pcm", json.RootElement.GetProperty("response_format").GetString());
        Assert.True(json.RootElement.GetProperty("speed").GetDouble() > 1);
        Assert.Contains("faster", json.RootElement.GetProperty("instructions").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAiCompatibleTextToSpeech_WavResponse_IsConvertedTo16k()
    {
        var wave = WaveFile.ToBytes(new AudioClip(TestAudio.Sine(300, 0.5, 0.3, 22050), 22050));
        await using var server = new LoopbackHttpServer(async context =>
            await context.Response.OutputStream.WriteAsync(wave, TestContext.Current.CancellationToken));
        using var client = new HttpClient();
        var tts = new OpenAiCompatibleTextToSpeech(client, Options(server), responseFormat: "wav");
        var clip = await tts.SynthesizeToClipAsync("Hi.", "en", SpeechStyle.Neutral, TestContext.Current.CancellationToken);
        Assert.InRange(clip.Samples.Length, 7990, 8010);
    }

    [Fact]
    public async Task OpenAiCompatibleTextToSpeech_ServerError_ThrowsWithStatusAndBody()
    {
        await using var server = new LoopbackHttpServer(async context =>
        {
            context.Response.StatusCode = (int)HttpStatusCode.BadRequest;
            await context.Response.OutputStream.WriteAsync("{\"error\":\"unknown voice\"}"u8.ToArray(), TestContext.Current.CancellationToken);
        });
        using var client = new HttpClient();
        var tts = new OpenAiCompatibleTextToSpeech(client, Options(server));
        var exception = await Assert.ThrowsAsync<SpeechSynthesisException>(() => tts.SynthesizeToClipAsync("Hi.", "en", SpeechStyle.Neutral, TestContext.Current.CancellationToken));
        Assert.Contains("400", exception.Message, StringComparison.Ordinal);
        Assert.Contains("unknown voice", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAiCompatibleTextToSpeech_ServerDown_ThrowsSynthesisException()
    {
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        using var client = new HttpClient();
        var tts = new OpenAiCompatibleTextToSpeech(client, new OpenAiCompatibleOptions { BaseAddress = new Uri($"http://127.0.0.1:{port}/v1/"), Model = "tts" });
        var exception = await Assert.ThrowsAsync<SpeechSynthesisException>(() => tts.SynthesizeToClipAsync("Hi.", "en", SpeechStyle.Neutral, TestContext.Current.CancellationToken));
        Assert.Contains("could not be reached", exception.Message, StringComparison.Ordinal);
    }

    private static OpenAiCompatibleOptions Options(LoopbackHttpServer server) =>
        new() { BaseAddress = new Uri(server.BaseAddress, "v1"), Model = "tts-test", ApiKey = "secret" };
}
