using System.Globalization;
using System.Text;
using Anima.Memory.Storage;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Anima.Memory.Consolidation;

/// <summary>Options of <see cref="MemoryConsolidator"/>.</summary>
public sealed class MemoryConsolidatorOptions
{
    /// <summary>The most recent turns sent to the mind per run (default 60, 1..500).</summary>
    public int MaxTurns { get; init; } = 60;

    /// <summary>Existing memories offered to the mind so it can update or retire them (default 40, 0..200).</summary>
    public int MaxExistingMemories { get; init; } = 40;

    /// <summary><see cref="MemoryJunkFilter.Similarity"/> at or above which a new memory merges into an existing one (default 0.7).</summary>
    public double DuplicateThreshold { get; init; } = MemoryJunkFilter.DefaultDuplicateThreshold;

    /// <summary>Sampling temperature asked of the mind (default 0.2: extraction, not creativity).</summary>
    public float Temperature { get; init; } = 0.2f;

    public void Validate()
    {
        if (MaxTurns is < 1 or > 500)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxTurns), MaxTurns, "Must be from 1 to 500.");
        }

        if (MaxExistingMemories is < 0 or > 200)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxExistingMemories), MaxExistingMemories, "Must be from 0 to 200.");
        }

        if (!double.IsFinite(DuplicateThreshold) || DuplicateThreshold is <= 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(DuplicateThreshold), DuplicateThreshold, "Must be above 0 and at most 1.");
        }
    }
}

/// <summary>What one consolidation did. When <see cref="Error"/> is set nothing was stored.</summary>
public sealed record ConsolidationResult(
    string? Error,
    IReadOnlyList<Memory> Added,
    IReadOnlyList<Memory> Merged,
    IReadOnlyList<Memory> Retired,
    Memory? Reflection,
    IReadOnlyDictionary<JunkReason, int> Rejected)
{
    public bool Succeeded => Error is null;

    public static ConsolidationResult Failed(string error) =>
        new(error, [], [], [], null, new Dictionary<JunkReason, int>());
}

/// <summary>
/// Turns a stretch of conversation into lasting memories when the conversation goes idle: asks the mind for
/// structured JSON (facts, preferences, plans, dated events, people, which existing memories they replace, and a
/// short reflection), validates it strictly (<see cref="ExtractionParser"/>: malformed output stores nothing), drops
/// junk (<see cref="MemoryJunkFilter"/>), merges near-duplicates into the memory they repeat, retires contradicted
/// memories ("moved from Seoul to Busan" retires "lives in Seoul") and stores everything in one write.
/// </summary>
public sealed partial class MemoryConsolidator
{
    private readonly IMemoryStore _store;
    private readonly IChatClient _mind;
    private readonly TimeProvider _timeProvider;
    private readonly IEmbeddingGenerator<string, Embedding<float>>? _embeddings;
    private readonly MemoryConsolidatorOptions _options;
    private readonly ILogger _logger;

    public MemoryConsolidator(IMemoryStore store, IChatClient mind, TimeProvider timeProvider, MemoryConsolidatorOptions? options = null,
        IEmbeddingGenerator<string, Embedding<float>>? embeddings = null, ILogger<MemoryConsolidator>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(mind);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = options ?? new MemoryConsolidatorOptions();
        _options.Validate();
        _store = store;
        _mind = mind;
        _timeProvider = timeProvider;
        _embeddings = embeddings;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>Consolidates <paramref name="turns"/> (oldest first) of <paramref name="userId"/>.</summary>
    public async Task<ConsolidationResult> ConsolidateAsync(string userId, IReadOnlyList<ConversationTurn> turns, CancellationToken cancellationToken = default)
    {
        MemoryValidation.ValidateUserId(userId);
        ArgumentNullException.ThrowIfNull(turns);
        var recent = turns.Where(turn => !string.IsNullOrWhiteSpace(turn.Text)).TakeLast(_options.MaxTurns).ToArray();
        if (recent.Length == 0)
        {
            return new ConsolidationResult(null, [], [], [], null, new Dictionary<JunkReason, int>());
        }

        var now = _timeProvider.GetUtcNow();
        var offset = recent[^1].At.Offset;
        var existing = await RelatedMemoriesAsync(userId, recent, cancellationToken);
        var memoryIds = existing.Select((_, index) => MemoryKey(index)).ToArray();
        var turnIds = recent.Select((_, index) => TurnKey(index)).ToArray();
        var messages = BuildPrompt(existing, recent, now.ToOffset(offset));
        string output;
        try
        {
            var response = await _mind.GetResponseAsync(messages, new ChatOptions { ResponseFormat = ChatResponseFormat.Json, Temperature = _options.Temperature }, cancellationToken);
            output = response.Text;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogMindFailed(_logger, userId, exception);
            return ConsolidationResult.Failed($"The mind could not be asked: {exception.Message}");
        }

        Extraction extraction;
        try
        {
            extraction = ExtractionParser.Parse(output, memoryIds.ToHashSet(StringComparer.Ordinal), turnIds.ToHashSet(StringComparer.Ordinal));
        }
        catch (ExtractionException exception)
        {
            LogMalformed(_logger, userId, exception.Message);
            LogMalformedOutput(_logger, output);
            return ConsolidationResult.Failed("The mind's extraction was malformed and nothing was stored: " + exception.Message);
        }

        return await ApplyAsync(userId, extraction, existing, recent, now, offset, cancellationToken);
    }

    private async Task<ConsolidationResult> ApplyAsync(string userId, Extraction extraction, IReadOnlyList<Memory> existing,
        IReadOnlyList<ConversationTurn> turns, DateTimeOffset now, TimeSpan offset, CancellationToken cancellationToken)
    {
        var rejected = new Dictionary<JunkReason, int>();
        var changed = new Dictionary<Guid, Memory>();
        var added = new List<Memory>();
        var merged = new List<Memory>();
        var retired = new List<Memory>();
        var kept = existing.Where(memory => !memory.IsRetired).ToList();
        foreach (var proposal in extraction.Memories)
        {
            var reason = MemoryJunkFilter.Classify(proposal.Text);
            if (reason != JunkReason.None)
            {
                rejected[reason] = rejected.GetValueOrDefault(reason) + 1;
                continue;
            }

            var provenance = proposal.Turns.Count > 0
                ? proposal.Turns.Select(key => turns[ParseKey(key)].Id).ToArray()
                : turns.Select(turn => turn.Id).ToArray();
            var sources = proposal.Turns.Count > 0 ? proposal.Turns.Select(key => turns[ParseKey(key)]).ToArray() : turns.ToArray();
            var eventDate = proposal.EventDate is { } date
                ? new DateTimeOffset(date.ToDateTime(proposal.EventTime ?? TimeOnly.MinValue), offset)
                : (DateTimeOffset?)null;
            var superseded = proposal.Supersedes.Select(key => existing[ParseKey(key)]).ToArray();
            var duplicate = superseded.Length == 0
                ? kept.Concat(added).FirstOrDefault(memory => memory.Kind != MemoryKind.Reflection
                    && MemoryJunkFilter.Similarity(memory.Text, proposal.Text) >= _options.DuplicateThreshold)
                : null;
            if (duplicate is not null)
            {
                // The mind repeated something already known: strengthen the old memory instead of storing a copy.
                var strengthened = duplicate with
                {
                    Importance = Math.Max(duplicate.Importance, proposal.Importance),
                    Confidence = Math.Max(duplicate.Confidence, proposal.Confidence),
                    Provenance = duplicate.Provenance.Concat(provenance).Distinct(StringComparer.Ordinal).TakeLast(Memory.MaxProvenance).ToArray(),
                    EventDate = duplicate.EventDate ?? eventDate,
                    UpdatedAt = now,
                };
                rejected[JunkReason.Duplicate] = rejected.GetValueOrDefault(JunkReason.Duplicate) + 1;
                Replace(added, kept, duplicate, strengthened);
                if (existing.Any(memory => memory.Id == duplicate.Id))
                {
                    changed[duplicate.Id] = strengthened;
                    merged.RemoveAll(memory => memory.Id == duplicate.Id);
                    merged.Add(strengthened);
                }

                continue;
            }

            var memory = new Memory
            {
                Id = Guid.CreateVersion7(now),
                UserId = userId,
                Kind = proposal.Kind,
                Text = proposal.Text,
                CreatedAt = now,
                UpdatedAt = now,
                EventDate = eventDate,
                Provenance = provenance.Distinct(StringComparer.Ordinal).Take(Memory.MaxProvenance).ToArray(),
                Confidence = proposal.Confidence,
                Importance = proposal.Importance,
                EmotionalWeight = sources.Length == 0 ? 0 : Math.Clamp(sources.Max(turn => turn.EmotionalWeight), 0, 1),
            };
            added.Add(memory);
            foreach (var old in superseded)
            {
                var retiredMemory = (changed.GetValueOrDefault(old.Id) ?? old) with { IsRetired = true, SupersededBy = memory.Id, UpdatedAt = now };
                changed[old.Id] = retiredMemory;
                kept.RemoveAll(candidate => candidate.Id == old.Id);
                retired.RemoveAll(candidate => candidate.Id == old.Id);
                retired.Add(retiredMemory);
            }
        }

        Memory? reflection = null;
        if (extraction.Reflection is { } reflectionText && MemoryJunkFilter.Classify(reflectionText) == JunkReason.None)
        {
            reflection = new Memory
            {
                Id = Guid.CreateVersion7(now),
                UserId = userId,
                Kind = MemoryKind.Reflection,
                Text = reflectionText,
                CreatedAt = now,
                UpdatedAt = now,
                Provenance = turns.Select(turn => turn.Id).Take(Memory.MaxProvenance).ToArray(),
                Confidence = 0.7,
                Importance = 0.4,
            };
        }

        var toEmbed = added.Concat(reflection is null ? [] : [reflection]).ToList();
        if (_embeddings is not null && toEmbed.Count > 0)
        {
            var vectors = await _embeddings.GenerateAsync(toEmbed.Select(memory => memory.Text), cancellationToken: cancellationToken);
            for (var index = 0; index < toEmbed.Count && index < vectors.Count; index++)
            {
                var embedded = toEmbed[index] with { Embedding = vectors[index].Vector.ToArray() };
                if (reflection is not null && reflection.Id == embedded.Id)
                {
                    reflection = embedded;
                }
                else
                {
                    added[added.FindIndex(memory => memory.Id == embedded.Id)] = embedded;
                }
            }
        }

        var writes = changed.Values.Concat(added).Concat(reflection is null ? [] : [reflection]).ToArray();
        await _store.UpsertManyAsync(userId, writes, cancellationToken);
        LogConsolidated(_logger, userId, added.Count, merged.Count, retired.Count, rejected.Values.Sum());
        return new ConsolidationResult(null, added, merged, retired, reflection, rejected);
    }

    private static void Replace(List<Memory> added, List<Memory> kept, Memory old, Memory updated)
    {
        var index = added.FindIndex(memory => memory.Id == old.Id);
        if (index >= 0)
        {
            added[index] = updated;
        }

        index = kept.FindIndex(memory => memory.Id == old.Id);
        if (index >= 0)
        {
            kept[index] = updated;
        }
    }

    /// <summary>The existing non-episodic memories most related to these turns, plus the newest ones.</summary>
    private async Task<IReadOnlyList<Memory>> RelatedMemoriesAsync(string userId, IReadOnlyList<ConversationTurn> turns, CancellationToken cancellationToken)
    {
        if (_options.MaxExistingMemories == 0)
        {
            return [];
        }

        MemoryKind[] kinds = [MemoryKind.Fact, MemoryKind.Preference, MemoryKind.Plan, MemoryKind.Event, MemoryKind.Person];
        var userText = string.Join(' ', turns.Where(turn => turn.Speaker == TurnSpeaker.User).Select(turn => turn.Text));
        var related = new Dictionary<Guid, Memory>();
        var hits = await _store.SearchAsync(userId, new MemorySearchQuery { Text = Memory.TruncateText(userText), Limit = _options.MaxExistingMemories, Kinds = kinds }, cancellationToken);
        foreach (var hit in hits.Take(_options.MaxExistingMemories * 3 / 4))
        {
            related.TryAdd(hit.Memory.Id, hit.Memory);
        }

        var newest = await _store.ListAsync(userId, new MemoryListQuery { Kinds = kinds, Limit = _options.MaxExistingMemories, IncludeTotal = false }, cancellationToken);
        foreach (var memory in newest.Items)
        {
            if (related.Count >= _options.MaxExistingMemories)
            {
                break;
            }

            related.TryAdd(memory.Id, memory);
        }

        return related.Values.ToArray();
    }

    /// <summary>The messages sent to the mind (public so the prompt can be inspected and tested).</summary>
    public static IList<ChatMessage> BuildPrompt(IReadOnlyList<Memory> existing, IReadOnlyList<ConversationTurn> turns, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(existing);
        ArgumentNullException.ThrowIfNull(turns);
        var instructions = """
            You maintain the long-term memory of a companion who talks with one person (the user). From the conversation
            below, extract only what a thoughtful friend would remember weeks later: facts about the user and the people in
            their life, preferences, plans, and dated events. Do not extract small talk, greetings, thanks, what the
            companion said about itself, or anything already known unless it changed.

            Rules:
            - Write each memory as one short, self-contained sentence about the user, in the SAME LANGUAGE the user wrote
              in (Korean stays Korean, English stays English). Name people by name.
            - kind is one of: "fact", "preference", "plan", "event", "person".
            - importance 0..1: 0.9 life events, health, relationships; 0.5 ordinary facts and plans; 0.2 passing details.
            - confidence 0..1: how clearly the user said it.
            - eventDate: for events and plans with a known day, the absolute date "YYYY-MM-DD" (or "YYYY-MM-DDTHH:mm"),
              resolved from today's date; otherwise null.
            - supersedes: ids ("m3") of existing memories this one contradicts or replaces (e.g. the user moved from
              Seoul to Busan: the new memory supersedes "lives in Seoul"). Otherwise [].
            - turns: ids ("t2") of the turns the memory comes from.
            - reflection: one or two sentences, in the user's language, on what this conversation meant for the
              relationship (or null if nothing notable).
            Answer with ONE JSON object and nothing else, exactly of this shape:
            {"memories":[{"kind":"fact","text":"...","importance":0.5,"confidence":0.8,"eventDate":null,"supersedes":[],"turns":["t1"]}],"reflection":"..."}
            """;
        var input = new StringBuilder();
        input.Append("Today is ").Append(now.ToString("yyyy-MM-dd (dddd) HH:mm zzz", CultureInfo.InvariantCulture)).Append(".\n\n");
        input.Append("Existing memories:\n");
        if (existing.Count == 0)
        {
            input.Append("(none)\n");
        }

        for (var index = 0; index < existing.Count; index++)
        {
            var memory = existing[index];
            input.Append(MemoryKey(index)).Append(" [").Append(memory.Kind.ToString().ToLowerInvariant());
            if (memory.EventDate is { } eventDate)
            {
                input.Append(", ").Append(eventDate.ToOffset(now.Offset).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            }

            input.Append("] ").Append(memory.Text.ReplaceLineEndings(" ")).Append('\n');
        }

        input.Append("\nConversation:\n");
        for (var index = 0; index < turns.Count; index++)
        {
            var turn = turns[index];
            input.Append(TurnKey(index)).Append(' ')
                .Append(turn.At.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)).Append(' ')
                .Append(turn.Speaker == TurnSpeaker.User ? "user" : "companion").Append(": ")
                .Append(Memory.TruncateText(turn.Text, 2_000).ReplaceLineEndings(" ")).Append('\n');
        }

        return [new ChatMessage(ChatRole.System, instructions), new ChatMessage(ChatRole.User, input.ToString())];
    }

    private static string MemoryKey(int index) => "m" + (index + 1).ToString(CultureInfo.InvariantCulture);

    private static string TurnKey(int index) => "t" + (index + 1).ToString(CultureInfo.InvariantCulture);

    private static int ParseKey(string key) => int.Parse(key.AsSpan(1), CultureInfo.InvariantCulture) - 1;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Memory consolidation for user {UserId} could not reach the mind.")]
    private static partial void LogMindFailed(ILogger logger, string userId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Memory consolidation for user {UserId} rejected the mind's output: {Problem}")]
    private static partial void LogMalformed(ILogger logger, string userId, string problem);

    // The raw output holds user content: Trace only.
    [LoggerMessage(Level = LogLevel.Trace, Message = "Rejected extraction output: {Output}")]
    private static partial void LogMalformedOutput(ILogger logger, string output);

    [LoggerMessage(Level = LogLevel.Information, Message = "Memory consolidation for user {UserId}: {Added} added, {Merged} merged, {Retired} retired, {Rejected} rejected.")]
    private static partial void LogConsolidated(ILogger logger, string userId, int added, int merged, int retired, int rejected);
}
