namespace Anima.Abstractions;

/// <summary>The companion's identity, chosen by itself at first boot.</summary>
[GenerateSerializer, Immutable]
public sealed record CompanionProfile(
    [property: Id(0)] string? Name,
    [property: Id(1)] string? NameReason,
    [property: Id(2)] string Language,
    [property: Id(3)] DateTimeOffset? MetAt,
    [property: Id(4)] string? UserName)
{
    public bool IsNamed => !string.IsNullOrWhiteSpace(Name);
}

/// <summary>Settings the user controls.</summary>
[GenerateSerializer, Immutable]
public sealed record CompanionSettings(
    [property: Id(0)] bool PerceptionEnabled = true,
    [property: Id(1)] string? PreferredLanguage = null);

/// <summary>A point of the user's mood over time.</summary>
[GenerateSerializer, Immutable]
public sealed record MoodPoint(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] float Valence,
    [property: Id(2)] float Arousal,
    [property: Id(3)] float Weight = 1f);

/// <summary>What the page needs to draw the companion.</summary>
[GenerateSerializer, Immutable]
public sealed record CompanionSnapshot(
    [property: Id(0)] CompanionProfile Profile,
    [property: Id(1)] CompanionSettings Settings,
    [property: Id(2)] int TurnCount,
    [property: Id(3)] bool IsReplying);

/// <summary>Well-known error codes of a reply, also used as ProblemDetails types at HTTP.</summary>
public static class ReplyErrorCodes
{
    public const string MindUnavailable = "mind-unavailable";
    public const string MindFailed = "mind-failed";
    public const string MindTimeout = "mind-timeout";
    public const string Busy = "busy";
    public const string EmptyMessage = "empty-message";
    public const string MessageTooLong = "message-too-long";
    public const string InvalidMessageId = "invalid-message-id";
}

/// <summary>
/// The user's voice baseline: per-feature running mean and variance of the prosodic features of their utterances,
/// so that the feeling in their voice is judged relative to how they usually sound, across connections and restarts.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record VoiceBaseline(
    [property: Id(0)] int Count,
    [property: Id(1)] double[] Means,
    [property: Id(2)] double[] Variances);
