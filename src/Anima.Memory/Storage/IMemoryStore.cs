namespace Anima.Memory.Storage;

/// <summary>
/// Durable storage of memories. Every member takes the user id and touches only that user's
/// memories: a memory of user A can never be read, changed or deleted through user B's id.
/// Implementations: <see cref="SqliteMemoryStore"/> (embedded default) and
/// <see cref="PostgresMemoryStore"/> (cluster mode); both pass the same contract tests.
/// </summary>
public interface IMemoryStore : IAsyncDisposable
{
    /// <summary>Creates the schema if needed. Idempotent; called once at start.</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Adds a memory, or replaces the one with the same id (of the same user).</summary>
    /// <exception cref="ArgumentException">The memory is invalid (empty or oversized text, bad ranges) or belongs to another user.</exception>
    Task UpsertAsync(string userId, Memory memory, CancellationToken cancellationToken = default);

    /// <summary>Adds or replaces many memories of one user in one transaction (imports, benchmarks).</summary>
    Task UpsertManyAsync(string userId, IReadOnlyList<Memory> memories, CancellationToken cancellationToken = default);

    /// <summary>The memory with <paramref name="id"/> of this user, or null.</summary>
    Task<Memory?> GetAsync(string userId, Guid id, CancellationToken cancellationToken = default);

    /// <summary>Memories of this user, newest first, filtered and paged.</summary>
    Task<MemoryPage> ListAsync(string userId, MemoryListQuery query, CancellationToken cancellationToken = default);

    /// <summary>Full-text search (Korean-aware) over this user's live memories, best match first.</summary>
    Task<IReadOnlyList<MemorySearchHit>> SearchAsync(string userId, MemorySearchQuery query, CancellationToken cancellationToken = default);

    /// <summary>Applies a user's correction; returns the updated memory, or null when it does not exist.</summary>
    Task<Memory?> UpdateAsync(string userId, Guid id, MemoryCorrection correction, CancellationToken cancellationToken = default);

    /// <summary>Deletes a memory for good, from the table and the search index. False when it did not exist.</summary>
    Task<bool> DeleteAsync(string userId, Guid id, CancellationToken cancellationToken = default);

    /// <summary>Deletes every memory of this user; returns how many were deleted.</summary>
    Task<int> DeleteAllAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>How many memories this user has that match <paramref name="query"/> (all when null).</summary>
    Task<long> CountAsync(string userId, MemoryListQuery? query = null, CancellationToken cancellationToken = default);

    /// <summary>Streams every memory of this user, oldest first (for export).</summary>
    IAsyncEnumerable<Memory> ReadAllAsync(string userId, CancellationToken cancellationToken = default);
}

/// <summary>Filters and paging for <see cref="IMemoryStore.ListAsync"/>.</summary>
public sealed record MemoryListQuery
{
    public const int MaxLimit = 1_000;

    /// <summary>Only these kinds; all when null or empty.</summary>
    public IReadOnlyList<MemoryKind>? Kinds { get; init; }

    public bool IncludeRetired { get; init; }

    public bool IncludeExpired { get; init; }

    /// <summary>Only memories created at or after this moment.</summary>
    public DateTimeOffset? CreatedFrom { get; init; }

    /// <summary>Only memories created before this moment.</summary>
    public DateTimeOffset? CreatedBefore { get; init; }

    /// <summary>Only memories whose event date is at or after this moment (implies an event date).</summary>
    public DateTimeOffset? EventFrom { get; init; }

    /// <summary>Only memories whose event date is before this moment (implies an event date).</summary>
    public DateTimeOffset? EventBefore { get; init; }

    /// <summary>Order by importance (highest first) instead of newest first.</summary>
    public bool ByImportance { get; init; }

    public int Offset { get; init; }

    public int Limit { get; init; } = 50;

    /// <summary>Whether to count all matches for <see cref="MemoryPage.Total"/> (a page UI needs it; recall does not).</summary>
    public bool IncludeTotal { get; init; } = true;

    internal void Validate()
    {
        if (Offset < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Offset), Offset, "Offset must not be negative.");
        }

        if (Limit is < 1 or > MaxLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(Limit), Limit, $"Limit must be from 1 to {MaxLimit}.");
        }
    }
}

/// <summary>One page of a listing and the total that matched (null unless <see cref="MemoryListQuery.IncludeTotal"/>).</summary>
public sealed record MemoryPage(IReadOnlyList<Memory> Items, long? Total, int Offset);

/// <summary>A full-text query.</summary>
public sealed record MemorySearchQuery
{
    public const int MaxLimit = 500;

    /// <summary>The query text, in any language; analysed like indexed text.</summary>
    public required string Text { get; init; }

    public int Limit { get; init; } = 20;

    /// <summary>Only these kinds; all when null or empty.</summary>
    public IReadOnlyList<MemoryKind>? Kinds { get; init; }

    public bool IncludeRetired { get; init; }
}

/// <summary>A search result: the memory and its lexical score (higher is better; comparable within one query).</summary>
public sealed record MemorySearchHit(Memory Memory, double LexicalScore);

/// <summary>A user's correction of a memory: each non-null field replaces the stored value.</summary>
public sealed record MemoryCorrection
{
    public string? Text { get; init; }

    public MemoryKind? Kind { get; init; }

    public DateTimeOffset? EventDate { get; init; }

    /// <summary>Set to true to remove the event date.</summary>
    public bool ClearEventDate { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }

    public bool ClearExpiresAt { get; init; }

    public double? Importance { get; init; }

    public double? Confidence { get; init; }

    public bool? IsRetired { get; init; }

    /// <summary>Replaces the embedding (callers re-embed corrected text).</summary>
    public float[]? Embedding { get; init; }
}
