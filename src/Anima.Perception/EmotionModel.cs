using System.Runtime.InteropServices;
using System.Text;

namespace Anima.Perception;

/// <summary>
/// The text emotion model: hashed word and character n-gram features, one logistic head per
/// GoEmotions label (plus an optional Korean valence head learned from NSMC ratings), per-label
/// thresholds for English and for Korean, and the English vocabulary used to tell English from
/// other Latin-script languages. Immutable after load and thread-safe; <see cref="Perceive"/>
/// reuses per-thread buffers, so it allocates only the reading it returns.
/// </summary>
public sealed class EmotionModel : ITextEmotionPerceiver
{
    /// <summary>The name of the committed model embedded in this assembly.</summary>
    public const string EmbeddedResourceName = "Anima.Perception.Models.emotion-text.bin";

    /// <summary>Head 28 regresses valence (sigmoid of it rescaled to −1..1).</summary>
    public const int ValenceHead = EmotionTaxonomy.LabelCount;

    /// <summary>Head 29 regresses arousal (0..1).</summary>
    public const int ArousalHead = EmotionTaxonomy.LabelCount + 1;

    private static readonly byte[] Magic = "ANIMAEMO"u8.ToArray();
    private const int FormatVersion = 1;
    private static readonly Lazy<EmotionModel> DefaultModel = new(LoadEmbedded, LazyThreadSafetyMode.ExecutionAndPublication);

    [ThreadStatic]
    private static FeatureBuffer? t_buffer;

    private readonly float[] _weights;
    private readonly float[] _bias;
    private readonly float[] _thresholdsEnglish;
    private readonly float[] _thresholdsKorean;
    private readonly float[] _thresholdsMixed;
    private readonly ulong[] _vocabulary;
    private readonly TextFeaturizer _featurizer;

    internal EmotionModel(FeaturizerOptions featurizer, int headCount, Training.HeadActivation activation, float[] weights, float[] bias, float[] thresholdsEnglish,
        float[] thresholdsKorean, bool fallbackToTop, ulong[] vocabulary, string description)
    {
        ArgumentNullException.ThrowIfNull(featurizer);
        if (headCount is not (EmotionTaxonomy.LabelCount or ArousalHead + 1))
        {
            throw new ArgumentOutOfRangeException(nameof(headCount), headCount, $"Head count must be {EmotionTaxonomy.LabelCount} or {ArousalHead + 1}.");
        }

        if (weights.Length != featurizer.BucketCount * SparseKernels.Stride || bias.Length != SparseKernels.Stride
            || thresholdsEnglish.Length != EmotionTaxonomy.LabelCount || thresholdsKorean.Length != EmotionTaxonomy.LabelCount)
        {
            throw new ArgumentException("Model arrays do not match the featurizer's bucket count and the label count.");
        }

        _featurizer = new TextFeaturizer(featurizer);
        HeadCount = headCount;
        Activation = activation;
        _weights = weights;
        _bias = bias;
        _thresholdsEnglish = thresholdsEnglish;
        _thresholdsKorean = thresholdsKorean;
        _thresholdsMixed = new float[EmotionTaxonomy.LabelCount];
        for (var label = 0; label < _thresholdsMixed.Length; label++)
        {
            _thresholdsMixed[label] = (thresholdsEnglish[label] + thresholdsKorean[label]) / 2;
        }

        FallbackToTop = fallbackToTop;
        _vocabulary = vocabulary;
        Description = description;
    }

    /// <summary>The committed model shipped inside this assembly, loaded once on first use.</summary>
    public static EmotionModel Default => DefaultModel.Value;

    public FeaturizerOptions Featurizer => _featurizer.Options;

    /// <summary>28 label heads, or 30 with the valence and arousal heads.</summary>
    public int HeadCount { get; }

    /// <summary>Whether valence and arousal come from their own learned heads (else from the label table).</summary>
    public bool HasAffectHeads => HeadCount > ArousalHead;

    /// <summary>Whether the label heads are independent sigmoids or one softmax.</summary>
    public Training.HeadActivation Activation { get; }

    /// <summary>Whether a text with no label above its threshold gets its most probable label.</summary>
    public bool FallbackToTop { get; }

    /// <summary>How the model was trained and how it scored, written by the trainer.</summary>
    public string Description { get; }

    public IReadOnlyList<float> EnglishThresholds => _thresholdsEnglish;

    public IReadOnlyList<float> KoreanThresholds => _thresholdsKorean;

    internal ReadOnlySpan<ulong> Vocabulary => _vocabulary;

    internal ReadOnlySpan<float> Weights => _weights;

    /// <inheritdoc />
    public EmotionReading Perceive(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (string.IsNullOrWhiteSpace(text))
        {
            return EmotionReading.Unknown;
        }

        var buffer = t_buffer ??= new FeatureBuffer();
        _featurizer.Extract(text, buffer, _vocabulary);
        var language = LanguageDetector.Detect(buffer.Scripts, _vocabulary.Length > 0);
        if (language == EmotionReading.UnknownLanguage || buffer.Count == 0)
        {
            return EmotionReading.Unknown;
        }

        Span<float> logits = stackalloc float[SparseKernels.Stride];
        _bias.CopyTo(logits);
        SparseKernels.Accumulate(_weights, buffer.FeatureIndices, buffer.FeatureValues, logits);

        var probabilities = new float[EmotionTaxonomy.LabelCount];
        Training.LinearHeads.Activate(logits[..EmotionTaxonomy.LabelCount], probabilities, Activation);
        float weightSum = 0, valenceSum = 0, arousalSum = 0;
        for (var label = 0; label < probabilities.Length; label++)
        {
            var probability = probabilities[label];
            weightSum += probability;
            valenceSum += probability * EmotionTaxonomy.Valence[label];
            arousalSum += probability * EmotionTaxonomy.Arousal[label];
        }

        var valence = weightSum > 0 ? valenceSum / weightSum : 0f;
        var arousal = weightSum > 0 ? arousalSum / weightSum : 0f;
        if (HasAffectHeads)
        {
            valence = (2 * Sigmoid(logits[ValenceHead])) - 1;
            arousal = Sigmoid(logits[ArousalHead]);
        }

        var thresholds = language switch
        {
            EmotionReading.Korean => _thresholdsKorean,
            EmotionReading.Mixed => _thresholdsMixed,
            _ => _thresholdsEnglish,
        };
        var chosen = Training.ThresholdTuner.Decide(probabilities, thresholds, FallbackToTop);
        Array.Sort(chosen, (left, right) => probabilities[right].CompareTo(probabilities[left]));
        var labels = new string[chosen.Length];
        for (var index = 0; index < chosen.Length; index++)
        {
            labels[index] = EmotionTaxonomy.Labels[chosen[index]];
        }

        return new EmotionReading(probabilities, labels, Math.Clamp(valence, -1f, 1f), Math.Clamp(arousal, 0f, 1f), language);
    }

    /// <summary>Loads a model file written by <see cref="Save(string)"/>.</summary>
    public static EmotionModel Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Emotion model '{path}' does not exist.", path);
        }

        using var stream = File.OpenRead(path);
        return Load(stream);
    }

    /// <summary>Loads a model from a stream; throws <see cref="InvalidDataException"/> for anything that is not a valid model.</summary>
    public static EmotionModel Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        try
        {
            using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
            if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
            {
                throw new InvalidDataException("Not an Anima emotion model (bad magic bytes).");
            }

            var version = reader.ReadInt32();
            if (version != FormatVersion)
            {
                throw new InvalidDataException($"Emotion model format version {version} is not supported (expected {FormatVersion}).");
            }

            var featurizer = new FeaturizerOptions
            {
                BucketBits = reader.ReadInt32(),
                CharacterMinimum = reader.ReadInt32(),
                CharacterMaximum = reader.ReadInt32(),
                WordWeight = reader.ReadSingle(),
                CharacterWeight = reader.ReadSingle(),
            };
            featurizer.Validate();
            var headCount = reader.ReadInt32();
            if (headCount is not (EmotionTaxonomy.LabelCount or ArousalHead + 1))
            {
                throw new InvalidDataException($"Emotion model has {headCount} heads; expected {EmotionTaxonomy.LabelCount} or {ArousalHead + 1}.");
            }

            var activation = (Training.HeadActivation)reader.ReadByte();
            if (!Enum.IsDefined(activation))
            {
                throw new InvalidDataException($"Unknown head activation {(int)activation}.");
            }

            var fallbackToTop = reader.ReadBoolean();
            var bias = new float[SparseKernels.Stride];
            ReadSingles(reader, bias.AsSpan(0, headCount));
            var english = new float[EmotionTaxonomy.LabelCount];
            var korean = new float[EmotionTaxonomy.LabelCount];
            ReadSingles(reader, english);
            ReadSingles(reader, korean);
            var vocabularyCount = reader.ReadInt32();
            if (vocabularyCount is < 0 or > 10_000_000)
            {
                throw new InvalidDataException($"Emotion model vocabulary size {vocabularyCount} is implausible.");
            }

            var vocabulary = new ulong[vocabularyCount];
            reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(vocabulary.AsSpan()));

            // Weights are stored per head as int8 with one scale per head: w = scale[h] · q.
            var bucketCount = featurizer.BucketCount;
            var scales = new float[headCount];
            ReadSingles(reader, scales);
            var quantized = new sbyte[bucketCount];
            var weights = new float[bucketCount * SparseKernels.Stride];
            for (var head = 0; head < headCount; head++)
            {
                reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(quantized.AsSpan()));
                var scale = scales[head];
                for (var bucket = 0; bucket < bucketCount; bucket++)
                {
                    weights[(bucket * SparseKernels.Stride) + head] = quantized[bucket] * scale;
                }
            }

            var description = reader.ReadString();
            return new EmotionModel(featurizer, headCount, activation, weights, bias, english, korean, fallbackToTop, vocabulary, description);
        }
        catch (EndOfStreamException exception)
        {
            throw new InvalidDataException("Emotion model file is truncated.", exception);
        }
    }

    /// <summary>Writes the model (a few MB: int8 weights with a scale per head).</summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
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
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(FormatVersion);
        var options = _featurizer.Options;
        writer.Write(options.BucketBits);
        writer.Write(options.CharacterMinimum);
        writer.Write(options.CharacterMaximum);
        writer.Write(options.WordWeight);
        writer.Write(options.CharacterWeight);
        writer.Write(HeadCount);
        writer.Write((byte)Activation);
        writer.Write(FallbackToTop);
        WriteSingles(writer, _bias.AsSpan(0, HeadCount));
        WriteSingles(writer, _thresholdsEnglish);
        WriteSingles(writer, _thresholdsKorean);
        writer.Write(_vocabulary.Length);
        writer.Write(MemoryMarshal.AsBytes(_vocabulary.AsSpan()));

        var bucketCount = options.BucketCount;
        var scales = new float[HeadCount];
        for (var head = 0; head < HeadCount; head++)
        {
            var maximum = 0f;
            for (var bucket = 0; bucket < bucketCount; bucket++)
            {
                maximum = Math.Max(maximum, Math.Abs(_weights[(bucket * SparseKernels.Stride) + head]));
            }

            scales[head] = maximum > 0 ? maximum / 127f : 1f;
        }

        WriteSingles(writer, scales);
        var quantized = new sbyte[bucketCount];
        for (var head = 0; head < HeadCount; head++)
        {
            for (var bucket = 0; bucket < bucketCount; bucket++)
            {
                quantized[bucket] = (sbyte)Math.Clamp(MathF.Round(_weights[(bucket * SparseKernels.Stride) + head] / scales[head]), -127, 127);
            }

            writer.Write(MemoryMarshal.AsBytes(quantized.AsSpan()));
        }

        writer.Write(Description);
    }

    private static EmotionModel LoadEmbedded()
    {
        using var stream = typeof(EmotionModel).Assembly.GetManifestResourceStream(EmbeddedResourceName)
            ?? throw new InvalidOperationException(
                $"The committed emotion model ({EmbeddedResourceName}) is not embedded in Anima.Perception; run 'anima train emotion' to create it.");
        return Load(stream);
    }

    private static void ReadSingles(BinaryReader reader, Span<float> destination)
    {
        for (var index = 0; index < destination.Length; index++)
        {
            destination[index] = reader.ReadSingle();
        }
    }

    private static void WriteSingles(BinaryWriter writer, ReadOnlySpan<float> values)
    {
        foreach (var value in values)
        {
            writer.Write(value);
        }
    }

    private static float Sigmoid(float logit) => 1f / (1f + MathF.Exp(-logit));
}
