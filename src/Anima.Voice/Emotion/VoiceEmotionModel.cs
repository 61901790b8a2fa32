using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Anima.Voice.Emotion;

/// <summary>What a voice-emotion model was trained on, stored with it.</summary>
public sealed record VoiceEmotionTrainingInfo(
    IReadOnlyList<string> Datasets,
    IReadOnlyList<string> Speakers,
    int Examples,
    string Licence,
    string Notes);

/// <summary>
/// Emotion from prosody: two ensembles of small perceptrons over the features of
/// <see cref="ProsodyFeatureExtractor"/>, one for features relative to the speaker (used once enough of a
/// speaker's utterances are known, see <see cref="SpeakerFeatureStatistics"/>), one for raw features (a new
/// speaker). Load the shipped model with <see cref="LoadDefault"/>; it carries the licence of its training data.
/// </summary>
public sealed class VoiceEmotionModel
{
    /// <summary>
    /// The default of <see cref="MinimumSpeakerUtterances"/> when training makes no choice: a speaker-relative ensemble
    /// trained on replayed histories (<see cref="VoiceEmotionTrainingOptions.ReplayHistories"/>) is made to judge a
    /// voice from its first utterance on.
    /// </summary>
    public const int DefaultMinimumSpeakerUtterances = 1;

    private const string ResourceName = "Anima.Voice.voice-emotion.json";

    internal VoiceEmotionModel(IReadOnlyList<string> labels, int featureCount, Ensemble global, Ensemble speakerRelative, SpeakerPrior prior, int minimumSpeakerUtterances, VoiceEmotionTrainingInfo info)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumSpeakerUtterances);
        Labels = labels;
        FeatureCount = featureCount;
        Global = global;
        SpeakerRelative = speakerRelative;
        Prior = prior;
        MinimumSpeakerUtterances = minimumSpeakerUtterances;
        Info = info;
    }

    /// <summary>The categories, in the order of <see cref="Predict"/>'s probabilities.</summary>
    public IReadOnlyList<string> Labels { get; }

    public int FeatureCount { get; }

    public VoiceEmotionTrainingInfo Info { get; }

    /// <summary>The population statistics a speaker's own are blended with while few of their utterances are known.</summary>
    public SpeakerPrior Prior { get; }

    /// <summary>
    /// Utterances of a speaker heard before the speaker-relative ensemble takes over from the new-speaker one
    /// (chosen when the model was trained).
    /// </summary>
    public int MinimumSpeakerUtterances { get; }

    internal Ensemble Global { get; }

    internal Ensemble SpeakerRelative { get; }

    /// <summary>The same model switching to the speaker-relative ensemble after <paramref name="utterances"/> utterances.</summary>
    public VoiceEmotionModel WithMinimumSpeakerUtterances(int utterances) =>
        new(Labels, FeatureCount, Global, SpeakerRelative, Prior, utterances, Info);

    /// <summary>
    /// Category probabilities for one utterance's features. With <paramref name="speaker"/> holding at least
    /// <see cref="MinimumSpeakerUtterances"/> utterances the speaker-relative ensemble is used (on the features
    /// relative to the speaker, blended with <see cref="Prior"/>), else the global one.
    /// </summary>
    public float[] Predict(float[] features, SpeakerFeatureStatistics? speaker = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.Length != FeatureCount)
        {
            throw new ArgumentException($"The model expects {FeatureCount} features; got {features.Length}.", nameof(features));
        }

        return IsAdapted(speaker)
            ? SpeakerRelative.Predict(speaker!.Normalize(features, Prior))
            : Global.Predict(features);
    }

    /// <summary>Whether <see cref="Predict"/> uses the speaker-relative ensemble for <paramref name="speaker"/>.</summary>
    public bool IsAdapted(SpeakerFeatureStatistics? speaker) => speaker is not null && speaker.Count >= MinimumSpeakerUtterances;

    /// <summary>The model shipped inside this assembly (trained on RAVDESS and the Korean emotional speech sample; CC BY-NC-SA 4.0).</summary>
    /// <exception cref="InvalidOperationException">The assembly was built without the model.</exception>
    public static VoiceEmotionModel LoadDefault()
    {
        using var stream = typeof(VoiceEmotionModel).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException("This build of Anima.Voice has no embedded voice-emotion model; train one with 'anima train voice-emotion'.");
        return Load(stream);
    }

    /// <summary>Loads a model saved by <see cref="Save(string)"/>.</summary>
    public static VoiceEmotionModel Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"No voice-emotion model at '{path}'.", path);
        }

        using var stream = File.OpenRead(path);
        try
        {
            return Load(stream);
        }
        catch (InvalidDataException exception)
        {
            throw new InvalidDataException($"{path}: {exception.Message}", exception);
        }
    }

    public static VoiceEmotionModel Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ModelDocument document;
        try
        {
            document = JsonSerializer.Deserialize(stream, ModelJsonContext.Default.ModelDocument)
                ?? throw new InvalidDataException("The model file is empty.");
        }
        catch (JsonException exception)
        {
            throw new InvalidDataException($"The model file is not valid JSON: {exception.Message}", exception);
        }

        if (document.Format != ModelDocument.CurrentFormat)
        {
            throw new InvalidDataException($"Unsupported voice-emotion model format '{document.Format}'; expected '{ModelDocument.CurrentFormat}'.");
        }

        if (document.FeatureCount != ProsodyFeatureExtractor.FeatureNames.Count)
        {
            throw new InvalidDataException($"The model was trained on {document.FeatureCount} features but this extractor makes {ProsodyFeatureExtractor.FeatureNames.Count}; retrain it.");
        }

        if (document.Prior is null || document.MinimumSpeakerUtterances < 0)
        {
            throw new InvalidDataException("The model has no speaker prior or a negative adaptation threshold.");
        }

        SpeakerPrior prior;
        try
        {
            prior = new SpeakerPrior(
                EnsembleDocument.Decode(document.Prior.Means, document.FeatureCount),
                EnsembleDocument.Decode(document.Prior.Variances, document.FeatureCount),
                EnsembleDocument.Decode(document.Prior.Strengths, document.FeatureCount));
        }
        catch (ArgumentException exception)
        {
            throw new InvalidDataException($"The model's speaker prior is invalid: {exception.Message}", exception);
        }

        return new VoiceEmotionModel(document.Labels, document.FeatureCount, document.Global.ToEnsemble(document.FeatureCount, document.Labels.Count), document.SpeakerRelative.ToEnsemble(document.FeatureCount, document.Labels.Count), prior, document.MinimumSpeakerUtterances, document.Info);
    }

    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        using var stream = File.Create(path);
        Save(stream);
    }

    public void Save(Stream stream)
    {
        var prior = new PriorDocument(EnsembleDocument.Encode(Prior.Means), EnsembleDocument.Encode(Prior.Variances), EnsembleDocument.Encode(Prior.Strengths));
        var document = new ModelDocument(ModelDocument.CurrentFormat, [.. Labels], FeatureCount, EnsembleDocument.From(Global), EnsembleDocument.From(SpeakerRelative), prior, MinimumSpeakerUtterances, Info);
        JsonSerializer.Serialize(stream, document, ModelJsonContext.Default.ModelDocument);
    }

    /// <summary>Standardization [D] then the mean of the members' probabilities.</summary>
    internal sealed class Ensemble(float[] mean, float[] scale, Mlp[] members)
    {
        public float[] Mean { get; } = mean;

        public float[] Scale { get; } = scale;

        public Mlp[] Members { get; } = members;

        public float[] Standardize(ReadOnlySpan<float> features)
        {
            var standardized = new float[features.Length];
            for (var index = 0; index < features.Length; index++)
            {
                // Clamp: a feature far outside the training range (a broken microphone) must not dominate.
                standardized[index] = Math.Clamp((features[index] - Mean[index]) * Scale[index], -6, 6);
            }

            return standardized;
        }

        public float[] Predict(ReadOnlySpan<float> features)
        {
            var input = Standardize(features);
            var classes = Members[0].Outputs;
            var sum = new float[classes];
            var probabilities = new float[classes];
            var hidden = new float[Members.Max(member => member.Hidden)];
            foreach (var member in Members)
            {
                member.Forward(input, hidden, probabilities);
                for (var index = 0; index < classes; index++)
                {
                    sum[index] += probabilities[index] / Members.Length;
                }
            }

            return sum;
        }
    }

    internal sealed record ModelDocument(
        [property: JsonPropertyName("format")] string Format,
        [property: JsonPropertyName("labels")] List<string> Labels,
        [property: JsonPropertyName("featureCount")] int FeatureCount,
        [property: JsonPropertyName("global")] EnsembleDocument Global,
        [property: JsonPropertyName("speakerRelative")] EnsembleDocument SpeakerRelative,
        [property: JsonPropertyName("speakerPrior")] PriorDocument? Prior,
        [property: JsonPropertyName("minimumSpeakerUtterances")] int MinimumSpeakerUtterances,
        [property: JsonPropertyName("training")] VoiceEmotionTrainingInfo Info)
    {
        public const string CurrentFormat = "anima-voice-emotion/3";
    }

    /// <summary>The speaker prior as base64 of little-endian float32 arrays [D].</summary>
    internal sealed record PriorDocument(
        [property: JsonPropertyName("means")] string Means,
        [property: JsonPropertyName("variances")] string Variances,
        [property: JsonPropertyName("strengths")] string Strengths);

    /// <summary>
    /// Standardization as base64 of little-endian float32 and the perceptrons' weights as base64 of little-endian
    /// float16 (half the size; training rounds the weights to float16, so a loaded model predicts exactly as trained).
    /// </summary>
    internal sealed record EnsembleDocument(
        [property: JsonPropertyName("mean")] string Mean,
        [property: JsonPropertyName("scale")] string Scale,
        [property: JsonPropertyName("hidden")] int Hidden,
        [property: JsonPropertyName("members")] List<MemberDocument> Members)
    {
        public static EnsembleDocument From(Ensemble ensemble) => new(
            Encode(ensemble.Mean),
            Encode(ensemble.Scale),
            ensemble.Members[0].Hidden,
            ensemble.Members.Select(member => new MemberDocument(EncodeHalf(member.HiddenWeights), EncodeHalf(member.HiddenBias), EncodeHalf(member.OutputWeights), EncodeHalf(member.OutputBias))).ToList());

        public Ensemble ToEnsemble(int inputs, int outputs)
        {
            if (Members.Count == 0)
            {
                throw new InvalidDataException("The model has an ensemble without members.");
            }

            var members = Members.Select(member => new Mlp(inputs, Hidden, outputs)
            {
                HiddenWeights = DecodeHalf(member.HiddenWeights, Hidden * inputs),
                HiddenBias = DecodeHalf(member.HiddenBias, Hidden),
                OutputWeights = DecodeHalf(member.OutputWeights, outputs * Hidden),
                OutputBias = DecodeHalf(member.OutputBias, outputs),
            }).ToArray();
            return new Ensemble(Decode(Mean, inputs), Decode(Scale, inputs), members);
        }

        public static string Encode(float[] values)
        {
            var bytes = new byte[values.Length * 4];
            for (var index = 0; index < values.Length; index++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(index * 4), values[index]);
            }

            return Convert.ToBase64String(bytes);
        }

        private static string EncodeHalf(float[] values)
        {
            var bytes = new byte[values.Length * 2];
            for (var index = 0; index < values.Length; index++)
            {
                BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(index * 2), (Half)values[index]);
            }

            return Convert.ToBase64String(bytes);
        }

        private static float[] DecodeHalf(string text, int expected)
        {
            var bytes = Convert.FromBase64String(text);
            if (bytes.Length != expected * 2)
            {
                throw new InvalidDataException($"A weight array holds {bytes.Length / 2} values; {expected} were expected.");
            }

            var values = new float[expected];
            for (var index = 0; index < expected; index++)
            {
                values[index] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.AsSpan(index * 2));
                if (!float.IsFinite(values[index]))
                {
                    throw new InvalidDataException("The model holds a non-finite weight.");
                }
            }

            return values;
        }

        public static float[] Decode(string text, int expected)
        {
            var bytes = Convert.FromBase64String(text);
            if (bytes.Length != expected * 4)
            {
                throw new InvalidDataException($"A weight array holds {bytes.Length / 4} values; {expected} were expected.");
            }

            var values = new float[expected];
            for (var index = 0; index < expected; index++)
            {
                values[index] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(index * 4));
                if (!float.IsFinite(values[index]))
                {
                    throw new InvalidDataException("The model holds a non-finite weight.");
                }
            }

            return values;
        }
    }

    internal sealed record MemberDocument(
        [property: JsonPropertyName("w1")] string HiddenWeights,
        [property: JsonPropertyName("b1")] string HiddenBias,
        [property: JsonPropertyName("w2")] string OutputWeights,
        [property: JsonPropertyName("b2")] string OutputBias);
}

[JsonSerializable(typeof(VoiceEmotionModel.ModelDocument))]
[JsonSourceGenerationOptions(WriteIndented = false)]
internal sealed partial class ModelJsonContext : JsonSerializerContext;
