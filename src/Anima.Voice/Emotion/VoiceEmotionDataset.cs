using Anima.Voice.Audio;

namespace Anima.Voice.Emotion;

/// <summary>One labelled utterance with its features.</summary>
/// <param name="CandidateLabels">
/// The labels its data set could have given (RAVDESS: eight; the Korean set: four). Training compares the label
/// only against these, so a set without "calm" does not teach that its neutral clips are not calm. Null: all.
/// </param>
/// <param name="Augmentation">
/// Null for a recorded clip; for a training copy made from it, how it was changed (e.g. "speed 0.9"). Copies are
/// used for training only, and each augmentation of a speaker counts as a voice of its own for speaker statistics.
/// </param>
public sealed record VoiceEmotionExample(string Path, string Label, string Speaker, float[] Features, IReadOnlyList<string>? CandidateLabels = null, string? Augmentation = null)
{
    /// <summary>The voice its speaker statistics belong to: the speaker, or the speaker as changed by the augmentation.</summary>
    public string Voice => Augmentation is null ? Speaker : Speaker + " (" + Augmentation + ")";
}

/// <summary>
/// Loads a folder laid out like <c>ravdess-16k</c> or <c>korean-emotional-speech-16k</c>: a tab-separated
/// <c>labels.tsv</c> whose header names at least <c>path</c> (relative to the folder) and <c>emotion</c>, and
/// optionally <c>speaker</c> or <c>actor</c>; the WAV files it lists.
/// </summary>
public static class VoiceEmotionDataset
{
    /// <summary>Speed factors of the training copies made by <see cref="Load"/> with augmentation.</summary>
    public static IReadOnlyList<double> DefaultSpeedFactors { get; } = [0.85, 0.9, 0.95, 1.05, 1.1, 1.15];

    /// <summary>
    /// Reads <c>labels.tsv</c> and extracts the features of every listed clip (in parallel). With
    /// <paramref name="speedFactors"/>, each clip also yields a training copy per factor, played that much faster
    /// (tempo and pitch together, like tape: 1.1 is 10 % faster and 1.65 semitones higher) — a new voice with the
    /// same feeling, marked <see cref="VoiceEmotionExample.Augmentation"/> so evaluation never sees it.
    /// </summary>
    /// <exception cref="InvalidDataException">The folder or its labels file is missing or malformed (the message says where).</exception>
    public static IReadOnlyList<VoiceEmotionExample> Load(string directory, IProgress<double>? progress = null, CancellationToken cancellationToken = default, IReadOnlyList<double>? speedFactors = null)
    {
        var entries = ReadLabels(directory);
        var factors = speedFactors ?? [];
        if (factors.Any(factor => factor is < 0.5 or > 2 || factor == 1))
        {
            throw new ArgumentOutOfRangeException(nameof(speedFactors), "Speed factors must be from 0.5 to 2 and not 1.");
        }

        var candidates = EmotionLabels.All.Where(label => entries.Any(entry => entry.Label == label)).ToArray();
        var perClip = 1 + factors.Count;
        var examples = new VoiceEmotionExample?[entries.Count * perClip];
        var done = 0;
        var options = new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount };
        Parallel.For(0, entries.Count, options, () => new ProsodyFeatureExtractor(), (index, _, extractor) =>
        {
            var entry = entries[index];
            var clip = WaveFile.Read(entry.Path).ToSampleRate(ProsodyFeatureExtractor.SampleRate);
            examples[index * perClip] = new VoiceEmotionExample(entry.Path, entry.Label, entry.Speaker, extractor.Extract(clip).Vector, candidates);
            for (var copy = 0; copy < factors.Count; copy++)
            {
                var faster = new AudioClip(clip.Samples, (int)Math.Round(clip.SampleRate * factors[copy])).ToSampleRate(ProsodyFeatureExtractor.SampleRate);
                var augmentation = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"speed {factors[copy]:0.##}");
                examples[index * perClip + 1 + copy] = new VoiceEmotionExample(entry.Path, entry.Label, entry.Speaker, extractor.Extract(faster).Vector, candidates, augmentation);
            }

            progress?.Report((double)Interlocked.Increment(ref done) / entries.Count);
            return extractor;
        }, _ => { });
        return examples.Select(example => example!).ToArray();
    }

    /// <summary>The entries of <c>labels.tsv</c>: full path, normalized label, speaker ("unknown" without a column).</summary>
    public static IReadOnlyList<(string Path, string Label, string Speaker)> ReadLabels(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new InvalidDataException($"The data folder '{directory}' does not exist.");
        }

        var labelsPath = System.IO.Path.Combine(directory, "labels.tsv");
        if (!File.Exists(labelsPath))
        {
            throw new InvalidDataException($"'{directory}' has no labels.tsv (a tab-separated file with 'path' and 'emotion' columns).");
        }

        var lines = File.ReadAllLines(labelsPath);
        if (lines.Length < 2)
        {
            throw new InvalidDataException($"{labelsPath} has no rows.");
        }

        var header = lines[0].Split('\t').Select(column => column.Trim().ToLowerInvariant()).ToList();
        var pathColumn = header.IndexOf("path");
        var emotionColumn = header.IndexOf("emotion");
        var speakerColumn = header.IndexOf("speaker") is >= 0 and var speakerIndex ? speakerIndex : header.IndexOf("actor");
        if (pathColumn < 0 || emotionColumn < 0)
        {
            throw new InvalidDataException($"{labelsPath} must have 'path' and 'emotion' columns; its header is '{lines[0]}'.");
        }

        var entries = new List<(string, string, string)>();
        for (var lineNumber = 1; lineNumber < lines.Length; lineNumber++)
        {
            if (string.IsNullOrWhiteSpace(lines[lineNumber]))
            {
                continue;
            }

            var cells = lines[lineNumber].Split('\t');
            if (cells.Length <= Math.Max(pathColumn, Math.Max(emotionColumn, speakerColumn)))
            {
                throw new InvalidDataException($"{labelsPath}:{lineNumber + 1}: expected {header.Count} tab-separated columns, got {cells.Length}.");
            }

            var label = EmotionLabels.Normalize(cells[emotionColumn])
                ?? throw new InvalidDataException($"{labelsPath}:{lineNumber + 1}: unknown emotion '{cells[emotionColumn]}'; known: {string.Join(", ", EmotionLabels.All)}.");
            var path = System.IO.Path.GetFullPath(System.IO.Path.Combine(directory, cells[pathColumn].Trim()));
            if (!File.Exists(path))
            {
                throw new InvalidDataException($"{labelsPath}:{lineNumber + 1}: the file '{cells[pathColumn]}' does not exist.");
            }

            var speaker = speakerColumn >= 0 ? cells[speakerColumn].Trim() : "unknown";
            entries.Add((path, label, speaker));
        }

        return entries;
    }
}
