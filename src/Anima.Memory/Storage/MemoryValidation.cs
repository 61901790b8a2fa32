namespace Anima.Memory.Storage;

/// <summary>The guard clauses every store applies at its boundary, so both stores reject the same input the same way.</summary>
public static class MemoryValidation
{
    /// <summary>The longest provenance id accepted (characters).</summary>
    public const int MaxProvenanceIdLength = 200;

    /// <summary>The most dimensions an embedding may have.</summary>
    public const int MaxEmbeddingDimensions = 8_192;

    /// <summary>Throws unless <paramref name="userId"/> is a usable user id.</summary>
    public static void ValidateUserId(string userId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userId);
        if (userId.Length > Memory.MaxUserIdLength)
        {
            throw new ArgumentException($"A user id may be at most {Memory.MaxUserIdLength} characters; got {userId.Length}.", nameof(userId));
        }
    }

    /// <summary>
    /// Checks <paramref name="memory"/> for <paramref name="userId"/> and returns it as stored: times in UTC
    /// truncated to whole milliseconds (what both databases keep), <see cref="Memory.UpdatedAt"/> at least
    /// <see cref="Memory.CreatedAt"/>.
    /// </summary>
    public static Memory Normalize(string userId, Memory memory)
    {
        ValidateUserId(userId);
        ArgumentNullException.ThrowIfNull(memory);
        if (!string.Equals(memory.UserId, userId, StringComparison.Ordinal))
        {
            throw new ArgumentException("The memory belongs to a different user than the one it is stored for.", nameof(memory));
        }

        if (memory.Id == Guid.Empty)
        {
            throw new ArgumentException("A memory needs a non-empty id.", nameof(memory));
        }

        if (!Enum.IsDefined(memory.Kind))
        {
            throw new ArgumentException($"Unknown memory kind {(int)memory.Kind}.", nameof(memory));
        }

        ValidateText(memory.Text, nameof(memory));
        if (memory.SearchContext is { Length: > Memory.MaxTextLength })
        {
            throw new ArgumentException($"A memory's search context may be at most {Memory.MaxTextLength} characters; got {memory.SearchContext.Length}.", nameof(memory));
        }

        ValidateUnit(memory.Confidence, "Confidence");
        ValidateUnit(memory.Importance, "Importance");
        ValidateUnit(memory.EmotionalWeight, "EmotionalWeight");
        ArgumentNullException.ThrowIfNull(memory.Provenance, nameof(memory));
        if (memory.Provenance.Count > Memory.MaxProvenance)
        {
            throw new ArgumentException($"A memory may cite at most {Memory.MaxProvenance} turns; got {memory.Provenance.Count}.", nameof(memory));
        }

        foreach (var turn in memory.Provenance)
        {
            if (string.IsNullOrWhiteSpace(turn) || turn.Length > MaxProvenanceIdLength)
            {
                throw new ArgumentException($"Each provenance turn id must be non-empty and at most {MaxProvenanceIdLength} characters.", nameof(memory));
            }
        }

        ValidateEmbedding(memory.Embedding);
        var created = Truncate(memory.CreatedAt);
        var updated = memory.UpdatedAt == default ? created : Truncate(memory.UpdatedAt);
        return memory with
        {
            CreatedAt = created,
            UpdatedAt = updated < created ? created : updated,
            EventDate = memory.EventDate is { } eventDate ? Truncate(eventDate) : null,
            ExpiresAt = memory.ExpiresAt is { } expires ? Truncate(expires) : null,
        };
    }

    /// <summary>Throws unless <paramref name="text"/> is non-blank and at most <see cref="Memory.MaxTextLength"/> characters.</summary>
    public static void ValidateText(string? text, string parameterName)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new ArgumentException("A memory's text must not be empty.", parameterName);
        }

        if (text.Length > Memory.MaxTextLength)
        {
            throw new ArgumentException(
                $"A memory's text may be at most {Memory.MaxTextLength} characters; got {text.Length}. Shorten it (Memory.TruncateText) or split it.",
                parameterName);
        }
    }

    /// <summary>Throws unless every value is finite and the dimension count is within range.</summary>
    public static void ValidateEmbedding(float[]? embedding)
    {
        if (embedding is null)
        {
            return;
        }

        if (embedding.Length is 0 or > MaxEmbeddingDimensions)
        {
            throw new ArgumentException($"An embedding must have 1 to {MaxEmbeddingDimensions} dimensions; got {embedding.Length}.", nameof(embedding));
        }

        foreach (var value in embedding)
        {
            if (!float.IsFinite(value))
            {
                throw new ArgumentException("An embedding must not contain NaN or infinity.", nameof(embedding));
            }
        }
    }

    /// <summary>Applies <paramref name="correction"/> to <paramref name="memory"/> and validates the result.</summary>
    public static Memory Apply(Memory memory, MemoryCorrection correction, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(correction);
        if (correction.Text is not null)
        {
            ValidateText(correction.Text, nameof(correction));
        }

        var corrected = memory with
        {
            Text = correction.Text ?? memory.Text,
            Kind = correction.Kind ?? memory.Kind,
            EventDate = correction.ClearEventDate ? null : correction.EventDate ?? memory.EventDate,
            ExpiresAt = correction.ClearExpiresAt ? null : correction.ExpiresAt ?? memory.ExpiresAt,
            Importance = correction.Importance ?? memory.Importance,
            Confidence = correction.Confidence ?? memory.Confidence,
            IsRetired = correction.IsRetired ?? memory.IsRetired,
            SupersededBy = correction.IsRetired == false ? null : memory.SupersededBy,
            Embedding = correction.Embedding ?? (correction.Text is not null && correction.Text != memory.Text ? null : memory.Embedding),
            // A corrected text invalidates the hidden search context it was indexed with.
            SearchContext = correction.Text is not null && correction.Text != memory.Text ? null : memory.SearchContext,
            UpdatedAt = now,
        };
        return Normalize(memory.UserId, corrected);
    }

    /// <summary>Truncates to whole milliseconds in UTC.</summary>
    public static DateTimeOffset Truncate(DateTimeOffset value) =>
        DateTimeOffset.FromUnixTimeMilliseconds(value.ToUnixTimeMilliseconds());

    private static void ValidateUnit(double value, string name)
    {
        if (!double.IsFinite(value) || value is < 0 or > 1)
        {
            throw new ArgumentException($"{name} must be from 0 to 1; got {value}.", "memory");
        }
    }
}
