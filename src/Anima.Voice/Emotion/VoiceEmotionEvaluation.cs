using System.Globalization;
using System.Text;

namespace Anima.Voice.Emotion;

/// <summary>Accuracy, macro-F1 and the confusion matrix of a model on labelled examples.</summary>
/// <param name="Labels">The labels evaluated (those present in the data), in matrix order.</param>
/// <param name="Confusion">[true label][predicted label] counts.</param>
public sealed record VoiceEmotionEvaluation(IReadOnlyList<string> Labels, int[][] Confusion)
{
    public int Total => Confusion.Sum(row => row.Sum());

    /// <summary>Examples classified correctly (the diagonal).</summary>
    public int Correct => Enumerable.Range(0, Labels.Count).Sum(index => Confusion[index][index]);

    public double Accuracy => Total == 0 ? 0 : (double)Correct / Total;

    /// <summary>F1 per label, in <see cref="Labels"/> order.</summary>
    public IReadOnlyList<double> F1 => Enumerable.Range(0, Labels.Count).Select(index =>
    {
        var truePositives = Confusion[index][index];
        var predicted = Confusion.Sum(row => row[index]);
        var actual = Confusion[index].Sum();
        return truePositives == 0 ? 0 : 2.0 * truePositives / (predicted + actual);
    }).ToArray();

    public double MacroF1 => F1.Count == 0 ? 0 : F1.Average();

    /// <summary>
    /// Evaluates <paramref name="model"/> on <paramref name="examples"/>, choosing among the labels present in the
    /// data only (so a four-emotion set is scored as a four-way choice). With <paramref name="speakerRelative"/>
    /// each speaker's features are normalized by all of that speaker's clips in <paramref name="examples"/> (no labels;
    /// transductive: a clip is also normalized by clips heard after it — see <see cref="EvaluateOnline"/> for the
    /// product's order). Augmented copies are skipped.
    /// </summary>
    public static VoiceEmotionEvaluation Evaluate(VoiceEmotionModel model, IReadOnlyList<VoiceEmotionExample> examples, bool speakerRelative)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(examples);
        examples = examples.Where(example => example.Augmentation is null).ToList();
        var labels = CheckLabels(model, examples);
        var inputs = speakerRelative ? VoiceEmotionTrainer.SpeakerRelative(examples, model.Prior) : examples.Select(example => example.Features).ToArray();
        var ensemble = speakerRelative ? model.SpeakerRelative : model.Global;
        var confusion = labels.Select(_ => new int[labels.Count]).ToArray();
        for (var index = 0; index < examples.Count; index++)
        {
            var probabilities = ensemble.Predict(inputs[index]);
            var best = labels.MaxBy(label => probabilities[IndexOf(model.Labels, label)])!;
            confusion[labels.IndexOf(examples[index].Label)][labels.IndexOf(best)]++;
        }

        return new VoiceEmotionEvaluation(labels, confusion);
    }

    /// <summary>
    /// Evaluates <paramref name="model"/> as the product hears a user: each speaker's clips come in a seeded random
    /// order, and each is classified with the speaker statistics of the clips heard before it only (no labels) —
    /// the global ensemble until <see cref="VoiceEmotionModel.MinimumSpeakerUtterances"/> clips are known, then the
    /// speaker-relative one — exactly as <see cref="VoiceEmotionRecognizer"/> does with a
    /// <see cref="SpeakerFeatureStatistics"/> kept per user. Augmented copies are skipped.
    /// </summary>
    /// <param name="seed">The order of each speaker's clips comes from this seed and the speaker's name.</param>
    public static VoiceEmotionEvaluation EvaluateOnline(VoiceEmotionModel model, IReadOnlyList<VoiceEmotionExample> examples, int seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(examples);
        var recorded = examples.Where(example => example.Augmentation is null).ToList();
        var labels = CheckLabels(model, recorded);
        var confusion = labels.Select(_ => new int[labels.Count]).ToArray();
        foreach (var speaker in recorded.GroupBy(example => example.Speaker, StringComparer.Ordinal).OrderBy(group => group.Key, StringComparer.Ordinal))
        {
            var order = speaker.ToArray();
            new Random(seed ^ StableHash(speaker.Key)).Shuffle(order);
            var statistics = new SpeakerFeatureStatistics(model.FeatureCount);
            foreach (var example in order)
            {
                var probabilities = model.Predict(example.Features, statistics);
                statistics.Add(example.Features);
                var best = labels.MaxBy(label => probabilities[IndexOf(model.Labels, label)])!;
                confusion[labels.IndexOf(example.Label)][labels.IndexOf(best)]++;
            }
        }

        return new VoiceEmotionEvaluation(labels, confusion);
    }

    private static List<string> CheckLabels(VoiceEmotionModel model, IReadOnlyList<VoiceEmotionExample> examples)
    {
        var labels = EmotionLabels.All.Where(label => examples.Any(example => example.Label == label)).ToList();
        var missing = labels.Where(label => !model.Labels.Contains(label)).ToList();
        if (missing.Count > 0)
        {
            throw new ArgumentException($"The model cannot predict {string.Join(", ", missing)}; it knows {string.Join(", ", model.Labels)}.", nameof(examples));
        }

        if (labels.Count == 0)
        {
            throw new ArgumentException("There are no recorded examples to evaluate.", nameof(examples));
        }

        return labels;
    }

    /// <summary>FNV-1a of the text: the same on every run and platform (string.GetHashCode is not).</summary>
    private static int StableHash(string text)
    {
        var hash = 2166136261u;
        foreach (var character in text)
        {
            hash = (hash ^ character) * 16777619u;
        }

        return (int)hash;
    }

    /// <summary>Adds <paramref name="other"/>'s counts (same labels), for pooling cross-validation folds.</summary>
    public VoiceEmotionEvaluation Plus(VoiceEmotionEvaluation other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (!Labels.SequenceEqual(other.Labels))
        {
            throw new ArgumentException("Only evaluations over the same labels can be pooled.", nameof(other));
        }

        return new VoiceEmotionEvaluation(Labels, Confusion.Select((row, rowIndex) => row.Select((count, column) => count + other.Confusion[rowIndex][column]).ToArray()).ToArray());
    }

    /// <summary>A plain-text report: per-label F1, macro-F1, the confusion matrix, and accuracy last.</summary>
    public string Format()
    {
        var culture = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        var width = Math.Max(9, Labels.Max(label => label.Length) + 1);
        text.AppendLine(culture, $"examples: {Total}");
        text.AppendLine("confusion matrix (rows: true, columns: predicted):");
        text.Append(new string(' ', width));
        foreach (var label in Labels)
        {
            text.Append(culture, $"{label[..Math.Min(8, label.Length)],9}");
        }

        text.AppendLine();
        for (var row = 0; row < Labels.Count; row++)
        {
            text.Append(Labels[row].PadRight(width));
            foreach (var count in Confusion[row])
            {
                text.Append(culture, $"{count,9}");
            }

            text.AppendLine(culture, $"   F1 {F1[row]:0.000}");
        }

        text.AppendLine(culture, $"macro-F1: {MacroF1:0.0000}");
        text.Append(culture, $"accuracy: {Accuracy:0.0000}");
        return text.ToString();
    }

    private static int IndexOf(IReadOnlyList<string> labels, string label)
    {
        for (var index = 0; index < labels.Count; index++)
        {
            if (labels[index] == label)
            {
                return index;
            }
        }

        return -1;
    }
}
