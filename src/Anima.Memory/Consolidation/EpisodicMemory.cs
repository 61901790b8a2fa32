namespace Anima.Memory.Consolidation;

/// <summary>Builds the episodic memory of one conversation turn (stored for every turn, with or without a mind).</summary>
public static class EpisodicMemory
{
    /// <summary>
    /// The memory of <paramref name="turn"/>: its text (cut to <see cref="Memory.MaxTextLength"/> with a mark when a
    /// pasted text is longer), prefixed with who spoke, the previous turn as hidden search context (a later question is
    /// often asked in its words), provenance the turn's id, importance rising with the moment's emotional weight.
    /// </summary>
    public static Memory FromTurn(string userId, ConversationTurn turn, ConversationTurn? previous = null, Guid? id = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userId);
        ArgumentNullException.ThrowIfNull(turn);
        ArgumentException.ThrowIfNullOrWhiteSpace(turn.Text, nameof(turn));
        var speaker = turn.Speaker == TurnSpeaker.User ? "User" : "Companion";
        var emotional = double.IsFinite(turn.EmotionalWeight) ? Math.Clamp(turn.EmotionalWeight, 0, 1) : 0;
        return new Memory
        {
            Id = id ?? Guid.CreateVersion7(turn.At),
            UserId = userId,
            Kind = MemoryKind.Episodic,
            Text = Memory.TruncateText($"{speaker}: {turn.Text.Trim()}"),
            CreatedAt = turn.At,
            UpdatedAt = turn.At,
            Provenance = [turn.Id],
            SearchContext = previous is null || string.IsNullOrWhiteSpace(previous.Text) ? null : Memory.TruncateText(previous.Text),
            // Companion turns matter less than what the user said; strong feelings make a moment more memorable.
            Importance = Math.Round((turn.Speaker == TurnSpeaker.User ? 0.3 : 0.15) + 0.3 * emotional, 3),
            EmotionalWeight = emotional,
            Confidence = 1,
        };
    }
}
