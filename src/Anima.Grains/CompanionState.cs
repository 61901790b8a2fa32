using Anima.Abstractions;

namespace Anima.Grains;

/// <summary>
/// What a companion grain persists as its own state. The conversation itself lives in the append-only
/// <see cref="Core.Conversation.IConversationStore"/>, so this stays small and cheap to write.
/// </summary>
[GenerateSerializer]
public sealed class CompanionState
{
    [Id(0)]
    public CompanionProfile Profile { get; set; } = new(null, null, "en", null, null);

    [Id(1)]
    public CompanionSettings Settings { get; set; } = new();

    /// <summary>User messages answered during the first meeting, before the companion named itself.</summary>
    [Id(2)]
    public int FirstMeetingUserTurns { get; set; }

    /// <summary>The newest turn that long-term memory has consolidated.</summary>
    [Id(3)]
    public long ConsolidatedThroughTurnId { get; set; }

    /// <summary>The user's voice baseline for hearing the feeling in their voice; null until they have spoken.</summary>
    [Id(4)]
    public VoiceBaseline? VoiceBaseline { get; set; }
}
