using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Anima.Memory.Benchmarks;

/// <summary>One turn of a LoCoMo conversation.</summary>
public sealed record LocomoTurn(string DialogueId, string Speaker, string Text, string? ImageCaption, int Session, DateTimeOffset SessionTime);

/// <summary>A LoCoMo question with the dialogue ids of its evidence and its category (1 multi-hop, 2 temporal, 3 open-domain, 4 single-hop, 5 adversarial).</summary>
public sealed record LocomoQuestion(string Question, IReadOnlyList<string> Evidence, int Category);

/// <summary>One LoCoMo sample: a long conversation between two people, its turns and its questions.</summary>
public sealed record LocomoSample(string SampleId, IReadOnlyList<LocomoTurn> Turns, IReadOnlyList<LocomoQuestion> Questions,
    IReadOnlyList<LocomoObservation> Observations);

/// <summary>An observation shipped with LoCoMo (a fact an LLM extracted from a session) and the turn it cites.</summary>
public sealed record LocomoObservation(string Text, string DialogueId, int Session);

/// <summary>
/// Reads the LoCoMo format (<c>locomo10.json</c> and its subsets): a JSON list of samples, each with a
/// <c>conversation</c> object holding <c>session_N</c> lists of turns (<c>speaker</c>, <c>dia_id</c>, <c>text</c>,
/// optional <c>blip_caption</c>) and <c>session_N_date_time</c>, and a <c>qa</c> list (<c>question</c>,
/// <c>evidence</c> dialogue ids, <c>category</c>). A malformed file gives an <see cref="InvalidDataException"/> naming what is wrong.
/// </summary>
public static partial class LocomoDataset
{
    private static readonly string[] SessionTimeFormats = ["h:mm tt 'on' d MMMM, yyyy", "h:mm tt 'on' d MMM, yyyy", "h:mm tt 'on' dd MMMM, yyyy"];

    public static async Task<IReadOnlyList<LocomoSample>> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The LoCoMo file '{path}' does not exist.", path);
        }

        await using var stream = File.OpenRead(path);
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken);
        }
        catch (JsonException exception)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON: {exception.Message}", exception);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidDataException($"'{path}' must hold a JSON list of LoCoMo samples.");
            }

            var samples = new List<LocomoSample>();
            var index = 0;
            foreach (var element in document.RootElement.EnumerateArray())
            {
                samples.Add(ReadSample(element, index++));
            }

            return samples;
        }
    }

    private static LocomoSample ReadSample(JsonElement element, int index)
    {
        var sampleId = element.TryGetProperty("sample_id", out var id) && id.ValueKind == JsonValueKind.String
            ? id.GetString()!
            : string.Create(CultureInfo.InvariantCulture, $"sample-{index}");
        if (!element.TryGetProperty("conversation", out var conversation) || conversation.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"Sample {sampleId} has no 'conversation' object.");
        }

        var turns = new List<LocomoTurn>();
        for (var session = 1; conversation.TryGetProperty($"session_{session}", out var sessionTurns); session++)
        {
            if (sessionTurns.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidDataException($"Sample {sampleId}: session_{session} is not a list of turns.");
            }

            var time = conversation.TryGetProperty($"session_{session}_date_time", out var dateTime) && dateTime.ValueKind == JsonValueKind.String
                ? ParseSessionTime(dateTime.GetString()!, sampleId, session)
                : throw new InvalidDataException($"Sample {sampleId}: session_{session} has no session_{session}_date_time.");
            foreach (var turn in sessionTurns.EnumerateArray())
            {
                var dialogueId = RequiredString(turn, "dia_id", sampleId, session);
                var speaker = RequiredString(turn, "speaker", sampleId, session);
                var text = turn.TryGetProperty("text", out var textElement) && textElement.ValueKind == JsonValueKind.String ? textElement.GetString()! : string.Empty;
                var caption = turn.TryGetProperty("blip_caption", out var captionElement) && captionElement.ValueKind == JsonValueKind.String
                    ? captionElement.GetString()
                    : null;
                turns.Add(new LocomoTurn(NormalizeDialogueId(dialogueId) ?? dialogueId, speaker, text, caption, session, time));
            }
        }

        if (turns.Count == 0)
        {
            throw new InvalidDataException($"Sample {sampleId} has no sessions (expected session_1, session_2, …).");
        }

        var questions = new List<LocomoQuestion>();
        if (element.TryGetProperty("qa", out var qa) && qa.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in qa.EnumerateArray())
            {
                var question = item.TryGetProperty("question", out var questionElement) && questionElement.ValueKind == JsonValueKind.String
                    ? questionElement.GetString()!
                    : throw new InvalidDataException($"Sample {sampleId}: a qa item has no question.");
                var category = item.TryGetProperty("category", out var categoryElement) && categoryElement.TryGetInt32(out var value) ? value : 0;
                var evidence = new List<string>();
                if (item.TryGetProperty("evidence", out var evidenceElement) && evidenceElement.ValueKind == JsonValueKind.Array)
                {
                    foreach (var entry in evidenceElement.EnumerateArray())
                    {
                        if (entry.ValueKind != JsonValueKind.String)
                        {
                            continue;
                        }

                        // A few ids in the data are written "D8:6; D9:17" or "D:11:26".
                        foreach (var part in entry.GetString()!.Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                        {
                            if (NormalizeDialogueId(part) is { } normalized)
                            {
                                evidence.Add(normalized);
                            }
                        }
                    }
                }

                questions.Add(new LocomoQuestion(question, evidence.Distinct(StringComparer.Ordinal).ToArray(), category));
            }
        }

        var observations = new List<LocomoObservation>();
        if (element.TryGetProperty("observation", out var observationElement) && observationElement.ValueKind == JsonValueKind.Object)
        {
            foreach (var sessionObservations in observationElement.EnumerateObject())
            {
                var sessionNumber = SessionNumber().Match(sessionObservations.Name) is { Success: true } match
                    ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture)
                    : 0;
                if (sessionObservations.Value.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                foreach (var speaker in sessionObservations.Value.EnumerateObject())
                {
                    if (speaker.Value.ValueKind != JsonValueKind.Array)
                    {
                        continue;
                    }

                    foreach (var pair in speaker.Value.EnumerateArray())
                    {
                        if (pair.ValueKind == JsonValueKind.Array && pair.GetArrayLength() >= 2
                            && pair[0].ValueKind == JsonValueKind.String && pair[1].ValueKind == JsonValueKind.String
                            && NormalizeDialogueId(pair[1].GetString()!) is { } cited)
                        {
                            observations.Add(new LocomoObservation(pair[0].GetString()!, cited, sessionNumber));
                        }
                    }
                }
            }
        }

        return new LocomoSample(sampleId, turns, questions, observations);
    }

    /// <summary>"D8:6" stays, "D:11:26" becomes "D11:26"; anything without a session and turn number gives null.</summary>
    public static string? NormalizeDialogueId(string text)
    {
        var match = DialogueId().Match(text.Trim());
        return match.Success ? $"D{match.Groups[1].Value}:{match.Groups[2].Value}" : null;
    }

    private static DateTimeOffset ParseSessionTime(string text, string sampleId, int session) =>
        DateTime.TryParseExact(text.Trim(), SessionTimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces, out var time)
            ? new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc))
            : throw new InvalidDataException($"Sample {sampleId}: session_{session}_date_time '{text}' is not like '1:56 pm on 8 May, 2023'.");

    private static string RequiredString(JsonElement turn, string name, string sampleId, int session) =>
        turn.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(value.GetString())
            ? value.GetString()!
            : throw new InvalidDataException($"Sample {sampleId}: a turn of session_{session} has no '{name}'.");

    [GeneratedRegex(@"^D:?(\d+):(\d+)$", RegexOptions.CultureInvariant)]
    private static partial Regex DialogueId();

    [GeneratedRegex(@"session_(\d+)", RegexOptions.CultureInvariant)]
    private static partial Regex SessionNumber();
}
