using Anima.Voice.Audio;
using Anima.Voice.Emotion;
using Anima.Voice.Synthesis;

namespace Anima.Voice.Tests;

public sealed class ProsodyTests
{
    [Fact]
    public void Fft_RandomSignal_MatchesReferenceDft()
    {
        var random = new Random(11);
        var real = Enumerable.Range(0, 256).Select(_ => random.NextSingle() * 2 - 1).ToArray();
        var imaginary = Enumerable.Range(0, 256).Select(_ => random.NextSingle() * 2 - 1).ToArray();
        var (expectedReal, expectedImaginary) = Fft.ReferenceDft(real, imaginary);
        new Fft(256).Forward(real, imaginary);
        var difference = Enumerable.Range(0, 256).Max(index => Math.Max(Math.Abs(real[index] - expectedReal[index]), Math.Abs(imaginary[index] - expectedImaginary[index])));
        Assert.True(difference < 1e-3, $"max abs diff {difference}");
    }

    [Fact]
    public void PitchTracker_Difference_MatchesDirectDefinition()
    {
        var segment = TestAudio.Concat(TestAudio.Sine(173, 0.05, 0.4), TestAudio.WhiteNoise(0.01, 0.05, 4));
        var tracker = new PitchTracker();
        var fast = new float[300];
        var reference = new float[300];
        tracker.Difference(segment, fast);
        PitchTracker.DifferenceReference(segment, reference);
        var scale = reference.Max();
        var difference = Enumerable.Range(0, 267).Max(lag => Math.Abs(fast[lag] - reference[lag])) / scale;
        Assert.True(difference < 1e-4, $"max relative diff {difference}");
    }

    [Theory]
    [InlineData(90)]
    [InlineData(165)]
    [InlineData(240)]
    [InlineData(420)]
    public void PitchTracker_HarmonicTone_FindsItsFundamental(double frequency)
    {
        // A tone with harmonics, like a voice, so the detector cannot lock on a harmonic by accident.
        var samples = new float[16000];
        for (var index = 0; index < samples.Length; index++)
        {
            var time = (double)index / 16000;
            samples[index] = (float)(0.3 * Math.Sin(2 * Math.PI * frequency * time) + 0.2 * Math.Sin(4 * Math.PI * frequency * time) + 0.1 * Math.Sin(6 * Math.PI * frequency * time));
        }

        var frames = new PitchTracker().Track(samples);
        Assert.All(frames, frame => Assert.InRange(frame.FrequencyHz, frequency * 0.99, frequency * 1.01));
    }

    [Fact]
    public void PitchTracker_Noise_IsUnvoiced()
    {
        var frames = new PitchTracker().Track(TestAudio.WhiteNoise(1, 0.3, 9));
        Assert.True(frames.Count(frame => frame.IsVoiced) < frames.Length / 10);
    }

    [Fact]
    public void ProsodyFeatureExtractor_Silence_HasNoSpeech()
    {
        var features = new ProsodyFeatureExtractor().Extract(new AudioClip(TestAudio.Silence(2), 16000));
        Assert.False(features.HasSpeech);
        Assert.Equal(ProsodyFeatureExtractor.FeatureNames.Count, features.Vector.Length);
    }

    [Fact]
    public void ProsodyFeatureExtractor_FeatureNames_MatchVectorLength()
    {
        var features = new ProsodyFeatureExtractor().Extract(new AudioClip(TestAudio.Sine(200, 1, 0.3), 16000));
        Assert.Equal(ProsodyFeatureExtractor.FeatureNames.Count, features.Vector.Length);
        Assert.Equal(ProsodyFeatureExtractor.FeatureNames.Count, ProsodyFeatureExtractor.FeatureNames.Distinct().Count());
        Assert.All(features.Vector, value => Assert.True(float.IsFinite(value)));
    }

    [Fact]
    public async Task ProsodyFeatureExtractor_EspeakStyles_ReflectPitchRateAndLoudness()
    {
        NativeEngines.RequireEspeak();
        var tts = new EspeakTextToSpeech();
        const string text = "We are going to the beach tomorrow, and I can hardly wait for it.";
        var high = await tts.SynthesizeToClipAsync(text, "en", new SpeechStyle(Rate: 1.6, Pitch: 0.8, PitchRange: 0.8, Volume: 1.4), TestContext.Current.CancellationToken);
        var low = await tts.SynthesizeToClipAsync(text, "en", new SpeechStyle(Rate: 0.7, Pitch: -0.8, PitchRange: -0.8, Volume: 0.5), TestContext.Current.CancellationToken);
        var extractor = new ProsodyFeatureExtractor();
        var excited = extractor.Extract(high);
        var subdued = extractor.Extract(low);
        Assert.True(excited.HasSpeech && subdued.HasSpeech);
        Assert.True(excited.MeanPitchHz > subdued.MeanPitchHz * 1.3, $"pitch {excited.MeanPitchHz:0} vs {subdued.MeanPitchHz:0} Hz");
        Assert.True(excited.PitchRangeSemitones > subdued.PitchRangeSemitones, $"range {excited.PitchRangeSemitones:0.0} vs {subdued.PitchRangeSemitones:0.0}");
        Assert.True(excited.MeanLoudnessDecibels > subdued.MeanLoudnessDecibels + 3, $"level {excited.MeanLoudnessDecibels:0.0} vs {subdued.MeanLoudnessDecibels:0.0}");
        Assert.True(excited.SpeakingRate > subdued.SpeakingRate * 1.4, $"rate {excited.SpeakingRate:0.0} vs {subdued.SpeakingRate:0.0} syllables/s");
        Assert.InRange(subdued.SpeakingRate, 1.5, 6);
    }

    [Fact]
    public void ProsodyFeatureExtractor_PausedTones_MeasurePauseRatio()
    {
        var tone = TestAudio.Sine(150, 0.5, 0.3);
        var samples = TestAudio.Concat(tone, TestAudio.Silence(0.5), tone, TestAudio.Silence(0.5), tone);
        var features = new ProsodyFeatureExtractor().Extract(new AudioClip(samples, 16000));
        Assert.InRange(features.PauseRatio, 0.35, 0.45);
        Assert.InRange(features.MeanPitchHz, 148, 152);
    }
}
