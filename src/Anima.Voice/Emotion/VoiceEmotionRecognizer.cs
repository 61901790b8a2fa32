using Anima.Voice.Audio;

namespace Anima.Voice.Emotion;

/// <summary>The emotion heard in one utterance's voice.</summary>
/// <param name="Probabilities">Probability per category of the model.</param>
/// <param name="Label">The most probable category.</param>
/// <param name="Confidence">0 (uniform guess) … 1 (certain): how far the top probability is above chance.</param>
/// <param name="Valence">Probability-weighted valence, −1..1.</param>
/// <param name="Arousal">Probability-weighted arousal, −1..1.</param>
/// <param name="Prosody">The measured prosody (pitch, loudness, rate, pauses, voice quality).</param>
/// <param name="SpeakerAdapted">Whether the estimate was made relative to this speaker's own voice.</param>
public sealed record VoiceEmotionEstimate(
    IReadOnlyDictionary<string, double> Probabilities,
    string Label,
    double Confidence,
    double Valence,
    double Arousal,
    ProsodyFeatures Prosody,
    bool SpeakerAdapted);

/// <summary>
/// Hears the feeling in an utterance: extracts prosody, asks the <see cref="VoiceEmotionModel"/>, and maps the
/// categories to valence and arousal. Keep one <see cref="SpeakerFeatureStatistics"/> per user (from
/// <see cref="CreateSpeakerStatistics"/>) and pass it each time: after
/// <see cref="VoiceEmotionModel.MinimumSpeakerUtterances"/> utterances the estimate becomes relative to that
/// user's own voice, which is markedly more accurate. Thread-safe.
/// </summary>
public sealed class VoiceEmotionRecognizer(VoiceEmotionModel model)
{
    private readonly VoiceEmotionModel _model = model ?? throw new ArgumentNullException(nameof(model));

    public VoiceEmotionModel Model => _model;

    /// <summary>Empty statistics for a new speaker.</summary>
    public SpeakerFeatureStatistics CreateSpeakerStatistics() => new(_model.FeatureCount);

    /// <summary>
    /// The emotion in <paramref name="utterance"/>, or null when it holds no voiced speech. The utterance is
    /// added to <paramref name="speaker"/> (when given) after the estimate.
    /// </summary>
    public VoiceEmotionEstimate? Recognize(AudioClip utterance, SpeakerFeatureStatistics? speaker = null)
    {
        ArgumentNullException.ThrowIfNull(utterance);
        return Recognize(new ProsodyFeatureExtractor().Extract(utterance), speaker);
    }

    /// <summary>
    /// The same from features already extracted (the costly part, which a voice session does speculatively while it
    /// waits to confirm the end of the turn); only the model and the speaker's statistics are left.
    /// </summary>
    public VoiceEmotionEstimate? Recognize(ProsodyFeatures prosody, SpeakerFeatureStatistics? speaker = null)
    {
        ArgumentNullException.ThrowIfNull(prosody);
        if (!prosody.HasSpeech)
        {
            return null;
        }

        float[] probabilities;
        bool adapted;
        if (speaker is null)
        {
            probabilities = _model.Predict(prosody.Vector);
            adapted = false;
        }
        else
        {
            lock (speaker)
            {
                adapted = _model.IsAdapted(speaker);
                probabilities = _model.Predict(prosody.Vector, speaker);
                speaker.Add(prosody.Vector);
            }
        }

        var byLabel = new Dictionary<string, double>(StringComparer.Ordinal);
        double valence = 0, arousal = 0;
        for (var index = 0; index < _model.Labels.Count; index++)
        {
            var label = _model.Labels[index];
            byLabel[label] = probabilities[index];
            var (labelValence, labelArousal) = EmotionLabels.ValenceArousal(label);
            valence += probabilities[index] * labelValence;
            arousal += probabilities[index] * labelArousal;
        }

        var best = byLabel.MaxBy(pair => pair.Value);
        var chance = 1.0 / _model.Labels.Count;
        var confidence = Math.Clamp((best.Value - chance) / (1 - chance), 0, 1);
        return new VoiceEmotionEstimate(byLabel, best.Key, confidence, valence, arousal, prosody, adapted);
    }
}

/// <summary>A mood as valence and arousal with a confidence, for fusing perceptions.</summary>
public readonly record struct MoodReading(double Valence, double Arousal, double Confidence);

/// <summary>
/// Fuses what the words say with what the voice says. Prosody carries arousal well and valence poorly (acoustic
/// emotion studies consistently find this), so the voice gets more say on arousal than on valence; each side is
/// further weighted by its own confidence.
/// </summary>
public static class MoodFusion
{
    /// <summary>How much a fully confident voice estimate counts on valence, relative to a fully confident text.</summary>
    public const double VoiceValenceWeight = 0.35;

    /// <summary>How much a fully confident voice estimate counts on arousal, relative to a fully confident text.</summary>
    public const double VoiceArousalWeight = 1.2;

    public static MoodReading Fuse(MoodReading text, VoiceEmotionEstimate? voice)
    {
        if (voice is null)
        {
            return text;
        }

        var textWeight = Math.Clamp(text.Confidence, 0, 1);
        var voiceConfidence = 0.25 + 0.75 * voice.Confidence; // even an unsure estimate says something about energy
        var valenceWeight = VoiceValenceWeight * voiceConfidence;
        var arousalWeight = VoiceArousalWeight * voiceConfidence;
        double Blend(double textValue, double voiceValue, double weight) =>
            textWeight + weight <= 0 ? 0 : Math.Clamp((textWeight * textValue + weight * voiceValue) / (textWeight + weight), -1, 1);

        return new MoodReading(
            Blend(text.Valence, voice.Valence, valenceWeight),
            Blend(text.Arousal, voice.Arousal, arousalWeight),
            Math.Clamp(Math.Max(textWeight, voiceConfidence * 0.6), 0, 1));
    }
}
