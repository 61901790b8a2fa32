namespace Anima.Memory.Consolidation;

/// <summary>
/// When to consolidate: after the conversation has been quiet for <see cref="IdleAfter"/> and there are turns newer
/// than the last consolidation. The grain asks <see cref="IsDue"/> from a timer or reminder driven by its TimeProvider.
/// </summary>
public sealed class IdlePolicy
{
    /// <summary>Quiet time after the last turn before consolidating (default 10 minutes).</summary>
    public TimeSpan IdleAfter { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Consolidate anyway once this many turns are waiting, even mid-conversation (default 80).</summary>
    public int MaxPendingTurns { get; init; } = 80;

    /// <summary>Whether to consolidate now.</summary>
    /// <param name="lastTurnAt">When the newest turn was said (null when none).</param>
    /// <param name="pendingTurns">Turns said since the last consolidation.</param>
    public bool IsDue(DateTimeOffset now, DateTimeOffset? lastTurnAt, int pendingTurns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pendingTurns);
        if (pendingTurns == 0 || lastTurnAt is null)
        {
            return false;
        }

        return pendingTurns >= MaxPendingTurns || now - lastTurnAt.Value >= IdleAfter;
    }
}
