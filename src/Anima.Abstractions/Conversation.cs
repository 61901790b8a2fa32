namespace Anima.Abstractions;

/// <summary>Who said a turn.</summary>
public enum TurnRole
{
    User = 0,
    Companion = 1,
}

/// <summary>How a turn ended.</summary>
public enum TurnStatus
{
    /// <summary>A user message that is stored, or a reply that finished.</summary>
    Complete = 0,

    /// <summary>A reply still being written.</summary>
    Streaming = 1,

    /// <summary>A reply the user cut off (stopped, left, or talked over); the text is what was produced before that.</summary>
    Interrupted = 2,

    /// <summary>A reply that failed because the mind failed; the text is what was produced before that.</summary>
    Failed = 3,
}

/// <summary>What perception read in a user turn, stored with the message.</summary>
[GenerateSerializer, Immutable]
public sealed record PerceivedEmotion(
    [property: Id(0)] IReadOnlyList<string> Labels,
    [property: Id(1)] float Valence,
    [property: Id(2)] float Arousal,
    [property: Id(3)] string Language,
    [property: Id(4)] float Weight = 1f);

/// <summary>The feeling heard in the voice of a spoken turn (from prosody), with the model's confidence 0..1.</summary>
[GenerateSerializer, Immutable]
public sealed record HeardEmotion(
    [property: Id(0)] string Label,
    [property: Id(1)] float Valence,
    [property: Id(2)] float Arousal,
    [property: Id(3)] float Confidence);

/// <summary>One turn of a conversation, as stored.</summary>
[GenerateSerializer, Immutable]
public sealed record ConversationTurn(
    [property: Id(0)] long Id,
    [property: Id(1)] TurnRole Role,
    [property: Id(2)] string Text,
    [property: Id(3)] DateTimeOffset CreatedAt,
    [property: Id(4)] TurnStatus Status,
    [property: Id(5)] PerceivedEmotion? Emotion = null);

/// <summary>A page of history, newest last; <see cref="HasMore"/> tells whether older turns exist.</summary>
[GenerateSerializer, Immutable]
public sealed record ConversationPage(
    [property: Id(0)] IReadOnlyList<ConversationTurn> Turns,
    [property: Id(1)] bool HasMore);

/// <summary>What a streamed reply is made of.</summary>
public enum ReplyEventKind
{
    /// <summary>The user's message is stored durably; <see cref="ReplyEvent.TurnId"/> is its id.</summary>
    Accepted = 0,

    /// <summary>A piece of the reply's text.</summary>
    Token = 1,

    /// <summary>The reply is stored; <see cref="ReplyEvent.TurnId"/> is its id and <see cref="ReplyEvent.Status"/> how it ended.</summary>
    Completed = 2,

    /// <summary>The reply could not be made; <see cref="ReplyEvent.ErrorCode"/> says why. The user's message stays stored.</summary>
    Error = 3,

    /// <summary>What perception read in the user's message.</summary>
    Perceived = 4,

    /// <summary>The companion has (re)named itself; <see cref="ReplyEvent.Text"/> is the name.</summary>
    Named = 5,
}

/// <summary>
/// One event of a streamed reply. <see cref="MindWaitMilliseconds"/> is, on the first token, how long the mind took to
/// start, and on <see cref="ReplyEventKind.Completed"/> the mind's whole time in the turn (so a node can tell its own share).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ReplyEvent(
    [property: Id(0)] ReplyEventKind Kind,
    [property: Id(1)] string? Text = null,
    [property: Id(2)] long TurnId = 0,
    [property: Id(3)] TurnStatus Status = TurnStatus.Complete,
    [property: Id(4)] string? ErrorCode = null,
    [property: Id(5)] PerceivedEmotion? Emotion = null,
    [property: Id(6)] double MindWaitMilliseconds = 0)
{
    public static ReplyEvent Token(string text) => new(ReplyEventKind.Token, text);
}
