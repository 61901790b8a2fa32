using Anima.Voice.Audio;

namespace Anima.Voice.Emotion;

/// <summary>One labelled utterance with its features.</summary>
/// <param name="CandidateLabels">
/// The labels its data set could have given (RAVDESS: eight; the Korean set: four). Training compares the label
/// only against these, so a set without "calm" does not teach that its neutral clips are not calm. Null: all.
/// </param>
public sealed record VoiceEmotionExample(string Path, string Label, string Speaker, float[] Features, IReadOnlyList<string>? CandidateLabels = null);

/// <summary>
/// Loads a folder laid out like <c>ravdess-16k</c> or <c>korean-emotional-speech-16k</c>: a tab-separated
/// <c>labels.tsv</c> whose header names at least <c>path</c> (relative to the folder) and <c>emotion</c>, and
/// optionally <c>speaker</c> or <c>actor</c>; the WAV files it lists.
/// </summary>
public static class VoiceEmotionDataset
{
    /// <summary>Reads <c>labels.tsv</c> and extracts the features of every listed clip (in parallel).</summary>
    /// <exception cref="InvalidDataException">The folder or its labels file is missing or malformed (the message says where).</exception>
    public static IReadOnlyList<VoiceEmotionExample> Load(string directory, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        var entries = ReadLabels(directory);
        var candidates = EmotionLabels.All.Where(label => entries.Any(entry => entry.Label == label)).ToArray();
        var examples = new VoiceEmotionExample?[entries.Count];
        var done = 0;
        var options = new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount };
        Parallel.For(0, entries.Count, options, () => new ProsodyFeatureExtractor(), (index, _, extractor) =>
        {
            var entry = entries[index];
            var clip = WaveFile.Read(entry.Path);
            var features = extractor.Extract(clip);
            examples[index] = new VoiceEmotionExample(entry.Path, entry.Label, entry.Speaker, features.Vector, candidates);
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
