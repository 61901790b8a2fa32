using Anima.Abstractions;

namespace Anima.Core.Conversation;

/// <summary>
/// The durable log of each user's conversation. Turns are appended (a user's message is written before
/// the reply starts) and a reply is updated once when it ends. Every member is scoped to one user.
/// </summary>
public interface IConversationStore
{
    /// <summary>
    /// Appends a turn. A user's message may carry the client's <paramref name="messageId"/>: a message id is
    /// stored at most once per user (a retry of the same message after a failure is refused by the store
    /// with <see cref="DuplicateMessageException"/>), so every acknowledged message exists exactly once.
    /// </summary>
    Task<ConversationTurn> AppendAsync(string userId, TurnRole role, string text, TurnStatus status, DateTimeOffset createdAt, PerceivedEmotion? emotion = null, string? messageId = null, CancellationToken cancellationToken = default);

    /// <summary>The user's message stored with <paramref name="messageId"/> and the companion's reply that followed it, if any.</summary>
    Task<StoredMessage?> FindMessageAsync(string userId, string messageId, CancellationToken cancellationToken = default);

    /// <summary>Sets the final text and status of a turn (a reply that finished, was interrupted or failed).</summary>
    Task UpdateAsync(string userId, long turnId, string text, TurnStatus status, CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="limit"/> turns older than <paramref name="beforeTurnId"/> (or the newest), oldest first.</summary>
    Task<ConversationPage> GetPageAsync(string userId, int limit, long? beforeTurnId = null, CancellationToken cancellationToken = default);

    Task<int> CountAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>The perceived valence and arousal of the user's turns since <paramref name="since"/>, oldest first.</summary>
    Task<IReadOnlyList<MoodPoint>> GetMoodAsync(string userId, DateTimeOffset since, CancellationToken cancellationToken = default);

    /// <summary>
    /// How many different users (of every node sharing this store) wrote a message since <paramref name="since"/>:
    /// the honest count of conversations going on right now.
    /// </summary>
    Task<int> CountActiveUsersAsync(DateTimeOffset since, CancellationToken cancellationToken = default);

    /// <summary>Marks replies left <see cref="TurnStatus.Streaming"/> by a crash as interrupted; returns how many.</summary>
    Task<int> RecoverStreamingAsync(string userId, CancellationToken cancellationToken = default);
}

/// <summary>A user's message found by its client message id, with the reply stored right after it (if one was).</summary>
public sealed record StoredMessage(ConversationTurn Message, ConversationTurn? Reply);

/// <summary>The message id was already stored for this user: the message is not stored twice.</summary>
public sealed class DuplicateMessageException : Exception
{
    public DuplicateMessageException()
    {
    }

    public DuplicateMessageException(string message)
        : base(message)
    {
    }

    public DuplicateMessageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
