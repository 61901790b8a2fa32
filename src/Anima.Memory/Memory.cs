namespace Anima.Memory;

/// <summary>What a memory is about; decides how it is ranked, shown and consolidated.</summary>
public enum MemoryKind
{
    /// <summary>One conversation turn, stored as it was said.</summary>
    Episodic = 0,

    /// <summary>A fact about the user ("works as a nurse", "moved to Busan").</summary>
    Fact = 1,

    /// <summary>A like or dislike ("prefers tea to coffee").</summary>
    Preference = 2,

    /// <summary>Something the user intends to do, not tied to one day.</summary>
    Plan = 3,

    /// <summary>Something that happens on a date (an interview on Tuesday); surfaces on its day.</summary>
    Event = 4,

    /// <summary>A person in the user's life and what the user said about them.</summary>
    Person = 5,

    /// <summary>The companion's own reflection about the relationship.</summary>
    Reflection = 6,
}

/// <summary>
/// One thing the companion remembers about one user. Every memory belongs to exactly one user and
/// carries its provenance (the conversation turns it came from) so the user can see why it is known.
/// </summary>
public sealed record Memory
{
    /// <summary>The longest text a memory may hold (characters). Longer input is rejected by stores;
    /// <see cref="TruncateText"/> shortens a turn for episodic storage.</summary>
    public const int MaxTextLength = 8_000;

    /// <summary>The longest user id accepted (characters).</summary>
    public const int MaxUserIdLength = 256;

    /// <summary>The most provenance turn ids one memory may list.</summary>
    public const int MaxProvenance = 256;

    public required Guid Id { get; init; }

    public required string UserId { get; init; }

    public required MemoryKind Kind { get; init; }

    public required string Text { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>The day an event happens (or a plan is due), when known.</summary>
    public DateTimeOffset? EventDate { get; init; }

    /// <summary>After this moment the memory is neither listed nor recalled (and may be purged).</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Ids of the conversation turns this memory came from.</summary>
    public IReadOnlyList<string> Provenance { get; init; } = [];

    /// <summary>How sure the companion is that this is true, 0..1.</summary>
    public double Confidence { get; init; } = 1.0;

    /// <summary>How much a thoughtful friend would care to remember it, 0..1.</summary>
    public double Importance { get; init; } = 0.5;

    /// <summary>The emotional intensity of the moment it came from (from perception), 0..1.</summary>
    public double EmotionalWeight { get; init; }

    /// <summary>The memory that replaced this one ("moved from Seoul to Busan"), if any.</summary>
    public Guid? SupersededBy { get; init; }

    /// <summary>Retired memories are kept for the user to see but are not recalled.</summary>
    public bool IsRetired { get; init; }

    /// <summary>An embedding of <see cref="Text"/>, when an embedding generator is configured.</summary>
    public float[]? Embedding { get; init; }

    /// <summary>Extra words indexed for search but not shown (e.g. the turn before, a photo caption).</summary>
    public string? SearchContext { get; init; }

    /// <summary>Whether this memory has expired at <paramref name="now"/>.</summary>
    public bool IsExpiredAt(DateTimeOffset now) => ExpiresAt is { } expires && expires <= now;

    /// <summary>Shortens <paramref name="text"/> to at most <paramref name="maximum"/> characters, marking the cut.</summary>
    public static string TruncateText(string text, int maximum = MaxTextLength)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(maximum, 2);
        if (text.Length <= maximum)
        {
            return text;
        }

        var cut = maximum - 1;
        if (char.IsHighSurrogate(text[cut - 1]))
        {
            cut--;
        }

        return string.Concat(text.AsSpan(0, cut), "…");
    }
}
