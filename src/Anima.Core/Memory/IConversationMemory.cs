using Anima.Abstractions;
using Microsoft.Extensions.AI;

namespace Anima.Core.Memory;

/// <summary>
/// Long-term memory as the companion's turn sees it: every turn is remembered (episodic memory, which
/// works without a mind), and when the conversation goes idle the mind distils facts, plans and a
/// reflection from it. Recall into the prompt is an <see cref="Prompting.ITurnContextProvider"/>.
/// </summary>
public interface IConversationMemory
{
    /// <summary>
    /// Remembers the turns of <paramref name="recent"/> (the conversation's latest turns in time order, ending with the
    /// turn just said) in one write, each with its neighbours as context; the first turn is context only unless it
    /// opened the conversation. Earlier turns are written again with their new next neighbour, so every turn ends up
    /// stored with the turns on both sides of it.
    /// </summary>
    Task RememberAsync(string userId, IReadOnlyList<ConversationTurn> recent, CancellationToken cancellationToken = default);

    /// <summary>Distils what a thoughtful friend would remember from <paramref name="turns"/>; returns a short outcome, or throws on a broken store.</summary>
    Task<ConsolidationOutcome> ConsolidateAsync(string userId, IReadOnlyList<ConversationTurn> turns, IChatClient mind, CancellationToken cancellationToken = default);
}

/// <summary>What a consolidation did; <see cref="Error"/> is set when the mind's output was unusable (nothing was stored then).</summary>
public sealed record ConsolidationOutcome(int Added, int Merged, int Retired, bool Reflected, string? Error);
