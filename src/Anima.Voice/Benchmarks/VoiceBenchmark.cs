using System.Diagnostics;
using Anima.Voice.Activity;
using Anima.Voice.Audio;
using Anima.Voice.Emotion;
using Anima.Voice.Recognition;
using Anima.Voice.Synthesis;

namespace Anima.Voice.Benchmarks;

/// <summary>A measured figure with its spread over repetitions.</summary>
public sealed record Measurement(string Name, double Median, double Minimum, double Maximum, string Unit, int Samples);

/// <summary>Timings of the voice components on this machine, for docs/benchmarks/voice.md.</summary>
public static class VoiceBenchmark
{
    /// <summary>Milliseconds per 32 ms frame for a detector over <paramref name="audio"/> (16 kHz).</summary>
    public static Measurement VoiceActivity(IVoiceActivityDetector detector, AudioClip audio)
    {
        ArgumentNullException.ThrowIfNull(detector);
        ArgumentNullException.ThrowIfNull(audio);
        var frames = audio.Samples.Length / detector.FrameSize;
        var timings = new List<double>(frames);
        var stopwatch = new Stopwatch();
        for (var frame = 0; frame < frames; frame++)
        {
            stopwatch.Restart();
            detector.Process(audio.Samples.AsSpan(frame * detector.FrameSize, detector.FrameSize));
            timings.Add(stopwatch.Elapsed.TotalMilliseconds);
        }

        return Summarize($"VAD {detector.Name}: time per 32 ms frame", timings, "ms");
    }

    /// <summary>Time to the first audio chunk and real-time factor of a TTS engine over <paramref name="sentences"/>.</summary>
    public static async Task<(Measurement FirstChunk, Measurement RealTimeFactor)> TextToSpeechAsync(ITextToSpeech engine, IReadOnlyList<(string Text, string Language)> sentences, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(sentences);
        var firstChunk = new List<double>();
        var factors = new List<double>();
        foreach (var (text, language) in sentences)
        {
            var stopwatch = Stopwatch.StartNew();
            double? first = null;
            var samples = 0;
            await foreach (var chunk in engine.SynthesizeAsync(text, language, SpeechStyle.Neutral, cancellationToken))
            {
                first ??= stopwatch.Elapsed.TotalMilliseconds;
                samples += chunk.Samples.Length;
            }

            firstChunk.Add(first ?? stopwatch.Elapsed.TotalMilliseconds);
            factors.Add(stopwatch.Elapsed.TotalSeconds / Math.Max(1e-3, (double)samples / AudioClip.PipelineSampleRate));
        }

        return (Summarize($"TTS {engine.Name}: time to first chunk", firstChunk, "ms"), Summarize($"TTS {engine.Name}: real-time factor", factors, "x"));
    }

    /// <summary>Transcription time and real-time factor of an STT engine over <paramref name="utterances"/>.</summary>
    public static async Task<(Measurement Latency, Measurement RealTimeFactor)> SpeechToTextAsync(ISpeechToText engine, IReadOnlyList<AudioClip> utterances, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(utterances);
        var latencies = new List<double>();
        var factors = new List<double>();
        foreach (var utterance in utterances)
        {
            var stopwatch = Stopwatch.StartNew();
            await engine.TranscribeAsync(utterance, "en", cancellationToken);
            latencies.Add(stopwatch.Elapsed.TotalMilliseconds);
            factors.Add(stopwatch.Elapsed.TotalSeconds / utterance.Duration.TotalSeconds);
        }

        return (Summarize($"STT {engine.Name}: time per utterance", latencies, "ms"), Summarize($"STT {engine.Name}: real-time factor", factors, "x"));
    }

    /// <summary>Time to extract prosody and estimate the emotion of each utterance.</summary>
    public static Measurement VoiceEmotion(VoiceEmotionRecognizer recognizer, IReadOnlyList<AudioClip> utterances)
    {
        ArgumentNullException.ThrowIfNull(recognizer);
        ArgumentNullException.ThrowIfNull(utterances);
        var timings = new List<double>();
        foreach (var utterance in utterances)
        {
            var stopwatch = Stopwatch.StartNew();
            recognizer.Recognize(utterance);
            timings.Add(stopwatch.Elapsed.TotalMilliseconds);
        }

        return Summarize("voice emotion (prosody + model): time per utterance", timings, "ms");
    }

    /// <summary>
    /// The recognizer's stages on real utterances, as the server runs them: feature extraction, then the model for a
    /// new voice (global ensemble) and for a known one (speaker statistics already past the model's adaptation
    /// threshold: normalization with the prior and the speaker-relative ensemble, then the statistics update).
    /// </summary>
    public static IReadOnlyList<Measurement> VoiceEmotionStages(VoiceEmotionRecognizer recognizer, IReadOnlyList<AudioClip> utterances)
    {
        ArgumentNullException.ThrowIfNull(recognizer);
        ArgumentNullException.ThrowIfNull(utterances);
        var extractor = new ProsodyFeatureExtractor();
        var extraction = new List<double>();
        var features = new List<ProsodyFeatures>();
        foreach (var utterance in utterances)
        {
            var stopwatch = Stopwatch.StartNew();
            features.Add(extractor.Extract(utterance));
            extraction.Add(stopwatch.Elapsed.TotalMilliseconds);
        }

        var speaker = recognizer.CreateSpeakerStatistics();
        foreach (var prosody in features.Where(prosody => prosody.HasSpeech).Take(Math.Max(1, recognizer.Model.MinimumSpeakerUtterances)))
        {
            speaker.Add(prosody.Vector);
        }

        var newVoice = new List<double>();
        var knownVoice = new List<double>();
        foreach (var prosody in features)
        {
            var stopwatch = Stopwatch.StartNew();
            recognizer.Recognize(prosody);
            newVoice.Add(stopwatch.Elapsed.TotalMilliseconds);
            stopwatch.Restart();
            recognizer.Recognize(prosody, speaker);
            knownVoice.Add(stopwatch.Elapsed.TotalMilliseconds);
        }

        return
        [
            Summarize("voice emotion: prosody features per utterance", extraction, "ms"),
            Summarize("voice emotion: model, new voice (global ensemble)", newVoice, "ms"),
            Summarize("voice emotion: model, known voice (prior + adapted)", knownVoice, "ms"),
            Summarize("voice emotion: utterance length", utterances.Select(clip => clip.Duration.TotalMilliseconds).ToArray(), "ms"),
        ];
    }

    public static Measurement Summarize(string name, IReadOnlyList<double> values, string unit)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            return new Measurement(name, 0, 0, 0, unit, 0);
        }

        var sorted = values.Order().ToArray();
        var median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        return new Measurement(name, median, sorted[0], sorted[^1], unit, sorted.Length);
    }
}
