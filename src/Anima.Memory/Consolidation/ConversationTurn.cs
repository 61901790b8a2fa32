namespace Anima.Memory.Consolidation;

/// <summary>Who spoke a turn.</summary>
public enum TurnSpeaker
{
    User = 0,
    Companion = 1,
}

/// <summary>One turn of a conversation as the memory sees it.</summary>
/// <param name="Id">The turn's id (kept as provenance).</param>
/// <param name="EmotionalWeight">The emotional intensity perception measured for the turn, 0..1 (0 when unknown).</param>
/// <param name="SpeakerName">The name the turn is remembered under ("Caroline"); "User" or "Companion" when null.</param>
/// <param name="ImageCaption">What a photo shared with the turn shows, when one was shared and described.</param>
public sealed record ConversationTurn(string Id, TurnSpeaker Speaker, string Text, DateTimeOffset At, double EmotionalWeight = 0,
    string? SpeakerName = null, string? ImageCaption = null);
