using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Anima.Memory.Text;

namespace Anima.Memory.Consolidation;

/// <summary>
/// Builds the episodic memory of one conversation turn (stored for every turn, with or without a mind). The live
/// companion and the LoCoMo benchmark both go through <see cref="FromConversation(string, IReadOnlyList{ConversationTurn}, int)"/>,
/// so what is measured is what is stored.
/// </summary>
public static class EpisodicMemory
{
    /// <summary>Turns further apart than this are not each other's context (another conversation).</summary>
    public static readonly TimeSpan NeighbourGap = TimeSpan.FromHours(1);

    /// <summary>
    /// The memory of <c>turns[index]</c>: its text ("Speaker: words", a shared photo's caption appended; cut to
    /// <see cref="Memory.MaxTextLength"/> with a mark when a pasted text is longer), and as hidden search context the
    /// day it was said, the absolute dates its relative ones mean ("yesterday" → "6 May 2023"), and the turns before
    /// and after it within <see cref="NeighbourGap"/> (a later question is often asked in the words of the turn that
    /// prompted the answer, or of the reply to it). Its id is derived from the user and the turn id, so storing the
    /// turn again once the reply is known replaces it. Provenance is the turn's id; importance rises with the
    /// moment's emotional weight.
    /// </summary>
    public static Memory FromConversation(string userId, IReadOnlyList<ConversationTurn> turns, int index)
    {
        ArgumentNullException.ThrowIfNull(turns);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, turns.Count);
        var turn = turns[index];
        var previous = index > 0 && IsNeighbour(turns[index - 1], turn) ? turns[index - 1] : null;
        var next = index + 1 < turns.Count && IsNeighbour(turn, turns[index + 1]) ? turns[index + 1] : null;
        return FromTurn(userId, turn, previous, next);
    }

    /// <summary>The memories of all of <paramref name="turns"/> (one conversation or several, in time order).</summary>
    public static IReadOnlyList<Memory> FromConversation(string userId, IReadOnlyList<ConversationTurn> turns)
    {
        ArgumentNullException.ThrowIfNull(turns);
        var memories = new Memory[turns.Count];
        for (var index = 0; index < turns.Count; index++)
        {
            memories[index] = FromConversation(userId, turns, index);
        }

        return memories;
    }

    /// <summary>The memory of <paramref name="turn"/> with the given neighbours as context (see <see cref="FromConversation(string, IReadOnlyList{ConversationTurn}, int)"/>).</summary>
    public static Memory FromTurn(string userId, ConversationTurn turn, ConversationTurn? previous = null, ConversationTurn? next = null, Guid? id = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userId);
        ArgumentNullException.ThrowIfNull(turn);
        ArgumentException.ThrowIfNullOrWhiteSpace(turn.Text, nameof(turn));
        var speaker = string.IsNullOrWhiteSpace(turn.SpeakerName)
            ? turn.Speaker == TurnSpeaker.User ? "User" : "Companion"
            : turn.SpeakerName.Trim();
        var emotional = double.IsFinite(turn.EmotionalWeight) ? Math.Clamp(turn.EmotionalWeight, 0, 1) : 0;
        var text = turn.ImageCaption is { Length: > 0 } caption
            ? $"{speaker}: {turn.Text.Trim()} [shares a photo: {caption.Trim()}]"
            : $"{speaker}: {turn.Text.Trim()}";
        return new Memory
        {
            Id = id ?? IdFor(userId, turn.Id),
            UserId = userId,
            Kind = MemoryKind.Episodic,
            Text = Memory.TruncateText(text),
            CreatedAt = turn.At,
            UpdatedAt = turn.At,
            Provenance = [turn.Id],
            SearchContext = SearchContext(turn, previous, next),
            // Companion turns matter less than what the user said; strong feelings make a moment more memorable.
            Importance = Math.Round((turn.Speaker == TurnSpeaker.User ? 0.3 : 0.15) + 0.3 * emotional, 3),
            EmotionalWeight = emotional,
            Confidence = 1,
        };
    }

    /// <summary>The id of a turn's episodic memory: the same for the same user and turn id, whenever it is built.</summary>
    public static Guid IdFor(string userId, string turnId)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(turnId);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(userId + "\n" + turnId), hash);
        return new Guid(hash[..16]);
    }

    private static bool IsNeighbour(ConversationTurn earlier, ConversationTurn later) =>
        (later.At - earlier.At).Duration() <= NeighbourGap && !string.IsNullOrWhiteSpace(earlier.Text) && !string.IsNullOrWhiteSpace(later.Text);

    private static string SearchContext(ConversationTurn turn, ConversationTurn? previous, ConversationTurn? next)
    {
        var korean = MemoryTextAnalyzer.ContainsHangul(turn.Text);
        var parts = new List<string>(5) { Day(turn.At, korean) };
        var dates = RelativeDates.Resolve(turn.Text, turn.At, korean);
        if (dates.Count > 0)
        {
            parts.Add(string.Join(" ", dates));
        }

        if (previous is not null)
        {
            parts.Add(Words(previous));
        }

        if (next is not null)
        {
            parts.Add(Words(next));
        }

        return Memory.TruncateText(string.Join(" / ", parts));
    }

    private static string Day(DateTimeOffset at, bool korean) => korean
        ? string.Create(CultureInfo.InvariantCulture, $"{at:d MMMM yyyy} {at.Year}년 {at.Month}월 {at.Day}일")
        : at.ToString("d MMMM yyyy", CultureInfo.InvariantCulture);

    private static string Words(ConversationTurn turn) =>
        turn.ImageCaption is { Length: > 0 } caption ? $"{turn.Text.Trim()} {caption.Trim()}" : turn.Text.Trim();
}
