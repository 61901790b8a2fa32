namespace Anima.Voice.Emotion;

/// <summary>
/// The prosody of one utterance: named summary measures for the mind and the logs, and the full feature vector
/// (<see cref="ProsodyFeatureExtractor.FeatureNames"/>) the emotion model reads.
/// </summary>
/// <param name="HasSpeech">False when the clip held no audible voiced sound; the other values are then zero.</param>
/// <param name="MeanPitchHz">Mean F0 over voiced frames.</param>
/// <param name="PitchRangeSemitones">10th–90th percentile F0 span in semitones.</param>
/// <param name="FinalPitchSlope">F0 slope over the last 300 ms of voicing, semitones per second (negative = falling).</param>
/// <param name="MeanLoudnessDecibels">Mean frame level of the active frames, dBFS.</param>
/// <param name="LoudnessVariationDecibels">Standard deviation of the active frames' level.</param>
/// <param name="SpeakingRate">Syllable nuclei (energy peaks in voiced stretches) per second of speech.</param>
/// <param name="PauseRatio">The fraction of the utterance (first to last active frame) spent in pauses of 150 ms or more.</param>
/// <param name="Jitter">Relative frame-to-frame period change within voiced runs (a frame-level approximation).</param>
/// <param name="Shimmer">Relative frame-to-frame amplitude change within voiced runs (a frame-level approximation).</param>
/// <param name="HarmonicsToNoiseDecibels">Mean harmonics-to-noise ratio estimated from YIN periodicity.</param>
/// <param name="VoicedFraction">The fraction of active frames that are voiced.</param>
/// <param name="Vector">All features, in the order of <see cref="ProsodyFeatureExtractor.FeatureNames"/>.</param>
public sealed record ProsodyFeatures(
    bool HasSpeech,
    double MeanPitchHz,
    double PitchRangeSemitones,
    double FinalPitchSlope,
    double MeanLoudnessDecibels,
    double LoudnessVariationDecibels,
    double SpeakingRate,
    double PauseRatio,
    double Jitter,
    double Shimmer,
    double HarmonicsToNoiseDecibels,
    double VoicedFraction,
    float[] Vector);
