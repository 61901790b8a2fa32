using System.Globalization;
using System.Text.Json;

namespace Anima.Memory.Consolidation;

/// <summary>One memory the mind proposed, validated.</summary>
public sealed record ExtractedMemory(MemoryKind Kind, string Text, double Importance, double Confidence, DateOnly? EventDate,
    TimeOnly? EventTime, IReadOnlyList<string> Supersedes, IReadOnlyList<string> Turns);

/// <summary>The validated extraction: proposed memories and an optional reflection.</summary>
public sealed record Extraction(IReadOnlyList<ExtractedMemory> Memories, string? Reflection);

/// <summary>The mind's output was not acceptable; nothing of it may be stored.</summary>
public sealed class ExtractionException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>
/// Validates the JSON the mind returns for consolidation, strictly: the whole output is rejected (nothing stored)
/// when it is not one JSON object of the documented shape — unknown or missing properties, wrong types, an unknown
/// kind, numbers outside 0..1, a malformed date, empty or oversized text, references to memory or turn ids that were
/// not offered, or more than <see cref="MaxMemories"/> memories. A single surrounding Markdown code fence is tolerated
/// (models add it even in JSON mode); any other text around the object is not.
/// </summary>
public static class ExtractionParser
{
    public const int MaxMemories = 20;
    public const int MaxMemoryTextLength = 500;
    public const int MaxReflectionLength = 800;

    private static readonly HashSet<string> RootProperties = new(StringComparer.Ordinal) { "memories", "reflection" };

    private static readonly HashSet<string> MemoryProperties = new(StringComparer.Ordinal)
    {
        "kind", "text", "importance", "confidence", "eventDate", "supersedes", "turns",
    };

    private static readonly Dictionary<string, MemoryKind> Kinds = new(StringComparer.Ordinal)
    {
        ["fact"] = MemoryKind.Fact,
        ["preference"] = MemoryKind.Preference,
        ["plan"] = MemoryKind.Plan,
        ["event"] = MemoryKind.Event,
        ["person"] = MemoryKind.Person,
    };

    /// <summary>Parses and validates <paramref name="output"/>; memory ids must be in <paramref name="memoryIds"/>, turn ids in <paramref name="turnIds"/>.</summary>
    /// <exception cref="ExtractionException">The output is malformed; the message says how.</exception>
    public static Extraction Parse(string? output, IReadOnlySet<string> memoryIds, IReadOnlySet<string> turnIds)
    {
        ArgumentNullException.ThrowIfNull(memoryIds);
        ArgumentNullException.ThrowIfNull(turnIds);
        if (string.IsNullOrWhiteSpace(output))
        {
            throw new ExtractionException("The mind returned nothing.");
        }

        var json = StripFence(output.Trim());
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException exception)
        {
            throw new ExtractionException($"The output is not valid JSON ({exception.Message}).", exception);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ExtractionException($"The output must be a JSON object; got {root.ValueKind}.");
            }

            RejectUnknown(root, RootProperties, "the output");
            if (!root.TryGetProperty("memories", out var memoriesElement) || memoriesElement.ValueKind != JsonValueKind.Array)
            {
                throw new ExtractionException("The output needs a \"memories\" array (it may be empty).");
            }

            if (memoriesElement.GetArrayLength() > MaxMemories)
            {
                throw new ExtractionException($"The output proposes {memoriesElement.GetArrayLength()} memories; at most {MaxMemories} are accepted.");
            }

            var memories = new List<ExtractedMemory>();
            var index = 0;
            foreach (var item in memoriesElement.EnumerateArray())
            {
                memories.Add(ParseMemory(item, index++, memoryIds, turnIds));
            }

            string? reflection = null;
            if (root.TryGetProperty("reflection", out var reflectionElement) && reflectionElement.ValueKind != JsonValueKind.Null)
            {
                reflection = reflectionElement.ValueKind == JsonValueKind.String
                    ? reflectionElement.GetString()!.Trim()
                    : throw new ExtractionException("\"reflection\" must be a string or null.");
                if (reflection.Length > MaxReflectionLength)
                {
                    throw new ExtractionException($"\"reflection\" is {reflection.Length} characters; at most {MaxReflectionLength} are accepted.");
                }

                reflection = reflection.Length == 0 ? null : reflection;
            }

            return new Extraction(memories, reflection);
        }
    }

    private static ExtractedMemory ParseMemory(JsonElement item, int index, IReadOnlySet<string> memoryIds, IReadOnlySet<string> turnIds)
    {
        var where = string.Create(CultureInfo.InvariantCulture, $"memories[{index}]");
        if (item.ValueKind != JsonValueKind.Object)
        {
            throw new ExtractionException($"{where} must be an object.");
        }

        RejectUnknown(item, MemoryProperties, where);
        var kindText = RequiredString(item, "kind", where);
        if (!Kinds.TryGetValue(kindText, out var kind))
        {
            throw new ExtractionException($"{where}.kind '{kindText}' is not one of {string.Join(", ", Kinds.Keys)}.");
        }

        var text = RequiredString(item, "text", where).Trim();
        if (text.Length == 0 || text.Length > MaxMemoryTextLength)
        {
            throw new ExtractionException($"{where}.text must be 1 to {MaxMemoryTextLength} characters; got {text.Length}.");
        }

        var importance = UnitNumber(item, "importance", where, required: true);
        var confidence = UnitNumber(item, "confidence", where, required: false) ?? 0.8;
        DateOnly? eventDate = null;
        TimeOnly? eventTime = null;
        if (item.TryGetProperty("eventDate", out var dateElement) && dateElement.ValueKind != JsonValueKind.Null)
        {
            var dateText = dateElement.ValueKind == JsonValueKind.String ? dateElement.GetString()! : string.Empty;
            if (DateOnly.TryParseExact(dateText, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            {
                eventDate = date;
            }
            else if (DateTime.TryParseExact(dateText, "yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var dateTime))
            {
                eventDate = DateOnly.FromDateTime(dateTime);
                eventTime = TimeOnly.FromDateTime(dateTime);
            }
            else
            {
                throw new ExtractionException($"{where}.eventDate '{dateText}' must be \"YYYY-MM-DD\", \"YYYY-MM-DDTHH:mm\" or null.");
            }
        }

        var supersedes = IdList(item, "supersedes", where, memoryIds, "memory");
        var turns = IdList(item, "turns", where, turnIds, "turn");
        return new ExtractedMemory(kind, text, importance!.Value, confidence, eventDate, eventTime, supersedes, turns);
    }

    private static string RequiredString(JsonElement item, string name, string where) =>
        item.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new ExtractionException($"{where}.{name} is required and must be a string.");

    private static double? UnitNumber(JsonElement item, string name, string where, bool required)
    {
        if (!item.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return required ? throw new ExtractionException($"{where}.{name} is required (a number from 0 to 1).") : null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || !double.IsFinite(number) || number is < 0 or > 1)
        {
            throw new ExtractionException($"{where}.{name} must be a number from 0 to 1; got {value.GetRawText()}.");
        }

        return number;
    }

    private static string[] IdList(JsonElement item, string name, string where, IReadOnlySet<string> known, string what)
    {
        if (!item.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new ExtractionException($"{where}.{name} must be an array of {what} ids.");
        }

        var ids = new List<string>();
        foreach (var entry in value.EnumerateArray())
        {
            var id = entry.ValueKind == JsonValueKind.String ? entry.GetString()! : throw new ExtractionException($"{where}.{name} must hold strings.");
            if (!known.Contains(id))
            {
                throw new ExtractionException($"{where}.{name} refers to {what} '{id}', which was not offered.");
            }

            ids.Add(id);
        }

        return ids.Distinct(StringComparer.Ordinal).ToArray();
    }

    private static void RejectUnknown(JsonElement element, HashSet<string> allowed, string where)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (!allowed.Contains(property.Name))
            {
                throw new ExtractionException($"{where} has an unknown property \"{property.Name}\".");
            }
        }
    }

    private static string StripFence(string text)
    {
        if (!text.StartsWith("```", StringComparison.Ordinal) || !text.EndsWith("```", StringComparison.Ordinal) || text.Length < 6)
        {
            return text;
        }

        var firstLine = text.IndexOf('\n', StringComparison.Ordinal);
        return firstLine < 0 ? text : text[(firstLine + 1)..^3].Trim();
    }
}
