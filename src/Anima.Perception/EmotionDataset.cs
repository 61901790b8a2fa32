using System.Globalization;

namespace Anima.Perception;

/// <summary>The layout of an emotion data file.</summary>
public enum EmotionDataFormat
{
    /// <summary><c>text \t comma-separated label ids [\t id]</c>, label ids 0..27 (GoEmotions labels.txt).</summary>
    GoEmotions,

    /// <summary><c>id \t text \t comma-separated label ids</c>, label ids 0..43 (KOTE labels.txt).</summary>
    Kote,
}

/// <summary>One labelled text.</summary>
public sealed record EmotionExample(string Text, IReadOnlyList<int> Labels);

/// <summary>A line of a data file that cannot be read; says which line and why.</summary>
public sealed class EmotionDataFormatException(string message) : FormatException(message);

/// <summary>Reads GoEmotions- and KOTE-format files, with a clear error for every malformed line.</summary>
public static class EmotionDataset
{
    private const int DetectionLines = 50;

    /// <summary>Parses a format name: <c>goemotions</c> or <c>kote</c>.</summary>
    public static EmotionDataFormat ParseFormat(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "goemotions" or "go-emotions" => EmotionDataFormat.GoEmotions,
            "kote" => EmotionDataFormat.Kote,
            _ => throw new EmotionDataFormatException($"Unknown data format '{name}'; expected 'goemotions' or 'kote'."),
        };
    }

    /// <summary>Reads a file, detecting its format when <paramref name="format"/> is null.</summary>
    public static (EmotionDataFormat Format, IReadOnlyList<EmotionExample> Examples) ReadFile(string path, EmotionDataFormat? format = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Data file '{path}' does not exist.", path);
        }

        var lines = File.ReadAllLines(path);
        var detected = format ?? DetectFormat(lines, path);
        return (detected, Parse(lines, detected, path));
    }

    /// <summary>Decides the format from the first lines: GoEmotions has its label list in the 2nd column, KOTE in the 3rd.</summary>
    public static EmotionDataFormat DetectFormat(IReadOnlyList<string> lines, string source = "input")
    {
        ArgumentNullException.ThrowIfNull(lines);
        int goEmotionsVotes = 0, koteVotes = 0, seen = 0;
        foreach (var line in lines)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var columns = line.Split('\t');
            if (columns.Length >= 2 && IsLabelList(columns[1]))
            {
                goEmotionsVotes++;
            }

            if (columns.Length == 3 && IsLabelList(columns[2]) && !IsLabelList(columns[1]))
            {
                koteVotes++;
            }

            if (++seen >= DetectionLines)
            {
                break;
            }
        }

        if (seen == 0)
        {
            throw new EmotionDataFormatException($"{source}: the file has no data lines.");
        }

        if (goEmotionsVotes == 0 && koteVotes == 0)
        {
            throw new EmotionDataFormatException(
                $"{source}: cannot tell the format: expected 'text<TAB>label ids<TAB>id' (GoEmotions) or 'id<TAB>text<TAB>label ids' (KOTE), label ids comma-separated.");
        }

        return koteVotes > goEmotionsVotes ? EmotionDataFormat.Kote : EmotionDataFormat.GoEmotions;
    }

    /// <summary>Parses lines in <paramref name="format"/>; blank lines are skipped; any malformed line throws with its number.</summary>
    public static IReadOnlyList<EmotionExample> Parse(IReadOnlyList<string> lines, EmotionDataFormat format, string source = "input")
    {
        ArgumentNullException.ThrowIfNull(lines);
        var labelCount = format == EmotionDataFormat.GoEmotions ? EmotionTaxonomy.LabelCount : EmotionTaxonomy.KoteLabelCount;
        var examples = new List<EmotionExample>(lines.Count);
        for (var index = 0; index < lines.Count; index++)
        {
            var line = lines[index];
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var lineNumber = index + 1;
            var columns = line.Split('\t');
            string text, labelText;
            if (format == EmotionDataFormat.GoEmotions)
            {
                if (columns.Length is < 2 or > 3)
                {
                    throw new EmotionDataFormatException(
                        $"{source}:{lineNumber}: expected 2 or 3 tab-separated columns (text, label ids, id) but found {columns.Length}.");
                }

                (text, labelText) = (columns[0], columns[1]);
            }
            else
            {
                if (columns.Length != 3)
                {
                    throw new EmotionDataFormatException(
                        $"{source}:{lineNumber}: expected 3 tab-separated columns (id, text, label ids) but found {columns.Length}.");
                }

                (text, labelText) = (columns[1], columns[2]);
            }

            examples.Add(new EmotionExample(text, ParseLabels(labelText, labelCount, source, lineNumber)));
        }

        return examples;
    }

    private static int[] ParseLabels(string text, int labelCount, string source, int lineNumber)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new EmotionDataFormatException($"{source}:{lineNumber}: the label list is empty.");
        }

        var labels = new SortedSet<int>();
        foreach (var part in text.Split(','))
        {
            if (!int.TryParse(part.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var label))
            {
                throw new EmotionDataFormatException($"{source}:{lineNumber}: label '{part}' is not a whole number.");
            }

            if (label >= labelCount)
            {
                throw new EmotionDataFormatException(
                    $"{source}:{lineNumber}: label {label} is out of range; this format's labels are 0..{labelCount - 1}.");
            }

            labels.Add(label);
        }

        return [.. labels];
    }

    private static bool IsLabelList(string column)
    {
        if (column.Length == 0)
        {
            return false;
        }

        foreach (var character in column)
        {
            if (!char.IsAsciiDigit(character) && character != ',' && character != ' ')
            {
                return false;
            }
        }

        return char.IsAsciiDigit(column[0]);
    }
}
