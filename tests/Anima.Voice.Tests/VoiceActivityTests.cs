using System.Net;
using System.Security.Cryptography;
using Anima.Testing;
using Anima.Voice.Activity;
using Anima.Voice.Audio;

namespace Anima.Voice.Tests;

public sealed class VoiceActivityTests
{
    [Fact]
    public void SileroVoiceActivityDetector_TestRecording_FindsSpeechAndSilence()
    {
        var directory = SharedData.RequireDirectory("silero-vad");
        using var detector = new SileroVoiceActivityDetector(Path.Combine(directory, "silero_vad.onnx"));
        var clip = WaveFile.ReadForPipeline(Path.Combine(directory, "test.wav"));
        var probabilities = Score(detector, clip.Samples);
        var speechFraction = probabilities.Count(probability => probability >= 0.5) / (double)probabilities.Length;
        // The recording is a talk with pauses: mostly speech, but clearly not all of it.
        Assert.InRange(speechFraction, 0.3, 0.95);
        Assert.Contains(probabilities, probability => probability > 0.9);
        Assert.Contains(probabilities, probability => probability < 0.1);
    }

    [Fact]
    public void SileroVoiceActivityDetector_SilenceAndNoise_AreNotSpeech()
    {
        var directory = SharedData.RequireDirectory("silero-vad");
        using var detector = new SileroVoiceActivityDetector(Path.Combine(directory, "silero_vad.onnx"));
        var probabilities = Score(detector, TestAudio.Concat(TestAudio.Silence(1), TestAudio.WhiteNoise(1, 0.05, 1)));
        Assert.All(probabilities, probability => Assert.True(probability < 0.5, $"probability {probability}"));
    }

    [Fact]
    public void SileroVoiceActivityDetector_Reset_RepeatsTheSameScores()
    {
        var directory = SharedData.RequireDirectory("silero-vad");
        using var detector = new SileroVoiceActivityDetector(Path.Combine(directory, "silero_vad.onnx"));
        var clip = WaveFile.ReadForPipeline(Path.Combine(directory, "test.wav")).Slice(0, 16000 * 3);
        var first = Score(detector, clip.Samples);
        detector.Reset();
        var second = Score(detector, clip.Samples);
        Assert.Equal(first, second);
    }

    [Fact]
    public void SileroVoiceActivityDetector_WrongFrameSize_Throws()
    {
        var directory = SharedData.RequireDirectory("silero-vad");
        using var detector = new SileroVoiceActivityDetector(Path.Combine(directory, "silero_vad.onnx"));
        Assert.Throws<ArgumentException>(() => detector.Process(new float[480]));
    }

    [Fact]
    public void SileroVoiceActivityDetector_NotAModel_ThrowsInvalidData()
    {
        var path = Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".onnx");
        File.WriteAllText(path, "not a model");
        try
        {
            Assert.Throws<InvalidDataException>(() => new SileroVoiceActivityDetector(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void EnergyVoiceActivityDetector_ToneAfterSilence_IsSpeechAndSilenceIsNot()
    {
        using var detector = new EnergyVoiceActivityDetector();
        var probabilities = Score(detector, TestAudio.Concat(TestAudio.Silence(1), TestAudio.Sine(180, 1, 0.2)));
        var frames = probabilities.Length / 2;
        Assert.All(probabilities.Take(frames), probability => Assert.True(probability < 0.5));
        Assert.True(probabilities.Skip(frames).Count(probability => probability >= 0.5) >= frames - 2);
    }

    [Fact]
    public void EnergyVoiceActivityDetector_WhiteNoise_IsNotSpeech()
    {
        using var detector = new EnergyVoiceActivityDetector();
        var probabilities = Score(detector, TestAudio.Concat(TestAudio.Silence(0.512), TestAudio.WhiteNoise(1, 0.3, 2)));
        Assert.All(probabilities, probability => Assert.True(probability < 0.5, $"probability {probability}"));
    }

    [Fact]
    public async Task ModelDownloader_MissingFile_DownloadsAndVerifies()
    {
        var payload = RandomNumberGenerator.GetBytes(200_000);
        var hash = Convert.ToHexStringLower(SHA256.HashData(payload));
        await using var server = new LoopbackHttpServer(async context =>
        {
            context.Response.ContentLength64 = payload.Length;
            await context.Response.OutputStream.WriteAsync(payload, TestContext.Current.CancellationToken);
        });
        var path = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"), "model.onnx");
        using var client = new HttpClient();
        var progress = new List<double>();
        await ModelDownloader.EnsureAsync(path, new Uri(server.BaseAddress, "model.onnx"), hash, client, new SynchronousProgress(progress.Add), TestContext.Current.CancellationToken);
        Assert.Equal(payload, await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken));
        Assert.Equal(1.0, progress[^1]);

        // Present now: no second request.
        await ModelDownloader.EnsureAsync(path, new Uri(server.BaseAddress, "model.onnx"), hash, client, null, TestContext.Current.CancellationToken);
        Assert.Equal(1, server.RequestCount);
        Directory.Delete(Path.GetDirectoryName(path)!, true);
    }

    [Fact]
    public async Task ModelDownloader_WrongChecksum_ThrowsAndLeavesNoFile()
    {
        await using var server = new LoopbackHttpServer(async context =>
            await context.Response.OutputStream.WriteAsync("tampered"u8.ToArray(), TestContext.Current.CancellationToken));
        var directory = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"));
        var path = Path.Combine(directory, "model.onnx");
        using var client = new HttpClient();
        var exception = await Assert.ThrowsAsync<InvalidDataException>(() =>
            ModelDownloader.EnsureAsync(path, server.BaseAddress, new string('0', 64), client, null, TestContext.Current.CancellationToken));
        Assert.Contains("SHA-256", exception.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(directory));
        Directory.Delete(directory, true);
    }

    [Fact]
    public async Task ModelDownloader_ServerError_ThrowsHttpRequestException()
    {
        await using var server = new LoopbackHttpServer(context =>
        {
            context.Response.StatusCode = (int)HttpStatusCode.NotFound;
            return Task.CompletedTask;
        });
        using var client = new HttpClient();
        var path = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"), "model.onnx");
        var exception = await Assert.ThrowsAsync<HttpRequestException>(() =>
            ModelDownloader.EnsureAsync(path, server.BaseAddress, new string('0', 64), client, null, TestContext.Current.CancellationToken));
        Assert.Contains("404", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VoiceActivityDetectorFactory_ModelUnreachable_FallsBackToEnergyWithReason()
    {
        await using var server = new LoopbackHttpServer(context =>
        {
            context.Response.StatusCode = 503;
            return Task.CompletedTask;
        });
        using var client = new HttpClient();
        var options = new VoiceActivityOptions
        {
            ModelPath = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"), "silero.onnx"),
            ModelUrl = server.BaseAddress,
        };
        var choice = await VoiceActivityDetectorFactory.CreateAsync(options, client, TestContext.Current.CancellationToken);
        using var detector = choice.Detector;
        Assert.IsType<EnergyVoiceActivityDetector>(detector);
        Assert.Contains("503", choice.FallbackReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VoiceActivityDetectorFactory_ModelDownloaded_CreatesSilero()
    {
        var model = await File.ReadAllBytesAsync(Path.Combine(SharedData.RequireDirectory("silero-vad"), "silero_vad.onnx"), TestContext.Current.CancellationToken);
        await using var server = new LoopbackHttpServer(async context =>
            await context.Response.OutputStream.WriteAsync(model, TestContext.Current.CancellationToken));
        using var client = new HttpClient();
        var directory = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"));
        var options = new VoiceActivityOptions { ModelPath = Path.Combine(directory, "silero.onnx"), ModelUrl = server.BaseAddress };
        var choice = await VoiceActivityDetectorFactory.CreateAsync(options, client, TestContext.Current.CancellationToken);
        using (choice.Detector)
        {
            Assert.IsType<SileroVoiceActivityDetector>(choice.Detector);
            Assert.Null(choice.FallbackReason);
        }

        Directory.Delete(directory, true);
    }

    internal static float[] Score(IVoiceActivityDetector detector, float[] samples)
    {
        var frames = samples.Length / detector.FrameSize;
        var probabilities = new float[frames];
        for (var frame = 0; frame < frames; frame++)
        {
            probabilities[frame] = detector.Process(samples.AsSpan(frame * detector.FrameSize, detector.FrameSize));
        }

        return probabilities;
    }

    private sealed class SynchronousProgress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}
