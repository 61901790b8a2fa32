using System.Net;
using System.Text;
using Anima.Testing;
using Anima.Voice.Audio;
using Anima.Voice.OpenAi;
using Anima.Voice.Recognition;
using Anima.Voice.Synthesis;

namespace Anima.Voice.Tests;

public sealed class RecognitionTests
{
    [Fact]
    public async Task PocketSphinxSpeechToText_EspeakHelloWorld_RecognizesTheWords()
    {
        NativeEngines.RequireEspeak();
        NativeEngines.RequirePocketSphinx();
        var speech = await NativeEngines.RecognizableEspeak().SynthesizeToClipAsync("hello world", "en", new SpeechStyle(Rate: 0.86), TestContext.Current.CancellationToken);
        using var stt = new PocketSphinxSpeechToText();
        var transcript = await stt.TranscribeAsync(new AudioClip(TestAudio.Concat(TestAudio.Silence(0.3), speech.Samples, TestAudio.Silence(0.3)), 16000), "en", TestContext.Current.CancellationToken);
        Assert.Equal("pocketsphinx", transcript.Engine);
        Assert.Contains("world", transcript.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PocketSphinxSpeechToText_StreamFedFrameByFrame_GivesTheSameTranscriptAsOnePiece()
    {
        NativeEngines.RequireEspeak();
        NativeEngines.RequirePocketSphinx();
        var speech = await NativeEngines.RecognizableEspeak().SynthesizeToClipAsync("hello world", "en", new SpeechStyle(Rate: 0.86), TestContext.Current.CancellationToken);
        var audio = TestAudio.Concat(TestAudio.Silence(0.3), speech.Samples, TestAudio.Silence(0.3));
        // pocketsphinx adapts its cepstral mean from one utterance to the next, so each side starts from fresh decoders.
        using var batch = new PocketSphinxSpeechToText();
        var whole = await batch.TranscribeAsync(new AudioClip(audio, 16000), "en", TestContext.Current.CancellationToken);
        using var stt = new PocketSphinxSpeechToText(maximumDecoders: 2);

        // Two streams at once (two pooled decoders), fed in 32 ms frames as a microphone delivers them.
        using var first = stt.StartStream("en");
        using var second = stt.StartStream("en");
        for (var offset = 0; offset < audio.Length; offset += 512)
        {
            first.Write(audio.AsSpan(offset, Math.Min(512, audio.Length - offset)));
            second.Write(audio.AsSpan(offset, Math.Min(512, audio.Length - offset)));
        }

        var streamed = await first.FinishAsync(TestContext.Current.CancellationToken);
        var other = await second.FinishAsync(TestContext.Current.CancellationToken);
        Assert.Contains("world", whole.Text, StringComparison.Ordinal);
        Assert.Equal(whole.Text, streamed.Text);
        Assert.Equal(whole.Text, other.Text);
        Assert.Throws<SpeechRecognitionException>(() => stt.StartStream("ko"));
    }

    [Fact]
    public async Task PocketSphinxSpeechToText_Silence_ReturnsEmptyTranscript()
    {
        NativeEngines.RequirePocketSphinx();
        using var stt = new PocketSphinxSpeechToText();
        var transcript = await stt.TranscribeAsync(new AudioClip(TestAudio.Silence(1), 16000), null, TestContext.Current.CancellationToken);
        Assert.True(transcript.IsEmpty, $"got '{transcript.Text}'");
    }

    [Fact]
    public async Task PocketSphinxSpeechToText_Korean_ThrowsPointingToServer()
    {
        NativeEngines.RequirePocketSphinx();
        using var stt = new PocketSphinxSpeechToText();
        var exception = await Assert.ThrowsAsync<SpeechRecognitionException>(() => stt.TranscribeAsync(new AudioClip(TestAudio.Silence(0.5), 16000), "ko", TestContext.Current.CancellationToken));
        Assert.Contains("OpenAI-compatible", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PocketSphinxSpeechToText_MissingModels_ThrowsNamingThePackage()
    {
        var exception = Assert.Throws<SpeechRecognitionException>(() => new PocketSphinxSpeechToText("/nonexistent/models"));
        Assert.Contains("pocketsphinx-en-us", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAiCompatibleSpeechToText_Utterance_PostsWavFormAndReadsText()
    {
        byte[]? body = null;
        string? contentType = null;
        await using var server = new LoopbackHttpServer(async context =>
        {
            Assert.Equal("/v1/audio/transcriptions", context.Request.Url!.AbsolutePath);
            contentType = context.Request.ContentType;
            using var buffer = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(buffer, TestContext.Current.CancellationToken);
            body = buffer.ToArray();
            context.Response.ContentType = "application/json";
            await context.Response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes("{\"text\":\" 안녕하세요, 반가워요. \"}"), TestContext.Current.CancellationToken);
        });
        using var client = new HttpClient();
        var stt = new OpenAiCompatibleSpeechToText(client, new OpenAiCompatibleOptions { BaseAddress = new Uri(server.BaseAddress, "v1/"), Model = "whisper-1" });
        var audio = new AudioClip(TestAudio.Sine(200, 0.5, 0.3, 48000), 48000);
        var transcript = await stt.TranscribeAsync(audio, "ko", TestContext.Current.CancellationToken);

        Assert.Equal("안녕하세요, 반가워요.", transcript.Text);
        Assert.Equal("ko", transcript.Language);
        Assert.StartsWith("multipart/form-data", contentType, StringComparison.Ordinal);
        var text = Encoding.Latin1.GetString(body!);
        Assert.Contains("name=file; filename=utterance.wav", text.Replace("\"", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains("whisper-1", text, StringComparison.Ordinal);
        Assert.Contains("name=language", text.Replace("\"", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);

        // The file part is a 16 kHz WAV of the (resampled) utterance.
        var riff = text.IndexOf("RIFF", StringComparison.Ordinal);
        var wave = WaveFile.Parse(body.AsSpan(riff));
        Assert.Equal(16000, wave.SampleRate);
        Assert.InRange(wave.Samples.Length, 7990, 8010);
    }

    [Theory]
    [InlineData(500, "{\"error\":\"model not loaded\"}", "HTTP 500")]
    [InlineData(200, "<html>not json</html>", "expected JSON")]
    [InlineData(200, "{\"segments\":[]}", "no \"text\"")]
    public async Task OpenAiCompatibleSpeechToText_BadAnswer_ThrowsClearError(int status, string answer, string expected)
    {
        await using var server = new LoopbackHttpServer(async context =>
        {
            context.Response.StatusCode = status;
            await context.Response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(answer), TestContext.Current.CancellationToken);
        });
        using var client = new HttpClient();
        var stt = new OpenAiCompatibleSpeechToText(client, new OpenAiCompatibleOptions { BaseAddress = server.BaseAddress, Model = "whisper-1" });
        var exception = await Assert.ThrowsAsync<SpeechRecognitionException>(() => stt.TranscribeAsync(new AudioClip(TestAudio.Silence(0.2), 16000), null, TestContext.Current.CancellationToken));
        Assert.Contains(expected, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAiCompatibleSpeechToText_SlowServer_TimesOutWithClearError()
    {
        var release = new TaskCompletionSource();
        await using var server = new LoopbackHttpServer(async _ => await release.Task);
        using var client = new HttpClient();
        var stt = new OpenAiCompatibleSpeechToText(client, new OpenAiCompatibleOptions { BaseAddress = server.BaseAddress, Model = "m", Timeout = TimeSpan.FromMilliseconds(200) });
        var exception = await Assert.ThrowsAsync<SpeechRecognitionException>(() => stt.TranscribeAsync(new AudioClip(TestAudio.Silence(0.2), 16000), null, TestContext.Current.CancellationToken));
        release.SetResult();
        Assert.Contains("did not answer", exception.Message, StringComparison.Ordinal);
    }
}
