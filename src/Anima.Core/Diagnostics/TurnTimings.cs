using System.Collections.Frozen;

namespace Anima.Core.Diagnostics;

/// <summary>The steps of a turn whose time this node records (see <see cref="TurnTimings"/>).</summary>
public enum TurnStage
{
    /// <summary>Looking up a retried message by its id.</summary>
    Lookup,

    /// <summary>Text (and voice) perception of the user's message.</summary>
    Perceive,

    /// <summary>Storing the user's message (durable before the reply starts).</summary>
    StoreMessage,

    /// <summary>Composing the prompt: persona, mood, recalled memories, honesty.</summary>
    Compose,

    /// <summary>Writing a turn into long-term memory.</summary>
    Remember,

    /// <summary>From asking the mind to its first token: the mind's own time, not the platform's.</summary>
    MindFirstToken,

    /// <summary>Storing the companion's reply when it ends.</summary>
    StoreReply,

    /// <summary>Bringing a companion into memory: its recent history and turn count.</summary>
    Activate,

    /// <summary>From the turn reaching the grain to its first token, minus the mind's own time.</summary>
    GrainFirstTokenOverhead,

    /// <summary>From the request reaching the node to the first token written to the client, minus the mind's own first-token time.</summary>
    FirstTokenOverhead,

    /// <summary>From the request reaching the node to the grain's acceptance (the message stored) written to the client.</summary>
    Accepted,

    /// <summary>
    /// From the request reaching the node to "done" written to the client, minus the time the mind itself took (from
    /// being asked to the end of its stream, and a naming call): the node's whole share of a completed turn.
    /// </summary>
    TurnOverhead,
}

/// <summary>
/// Where this node's time goes in a turn: one <see cref="LatencyHistogram"/> per <see cref="TurnStage"/>, for
/// operators (<c>/api/admin/stats</c>) and for finding what makes a slow turn slow under load. Holds timings
/// only, never content.
/// </summary>
public sealed class TurnTimings
{
    private readonly LatencyHistogram[] _stages = [.. Enum.GetValues<TurnStage>().Select(_ => new LatencyHistogram())];

    public void Record(TurnStage stage, TimeSpan elapsed) => _stages[(int)stage].Record(elapsed);

    public LatencyHistogram this[TurnStage stage] => _stages[(int)stage];

    public FrozenDictionary<string, LatencySummary> Summarize() =>
        Enum.GetValues<TurnStage>().Where(stage => this[stage].Count > 0).ToFrozenDictionary(stage => stage.ToString(), stage => this[stage].Summarize());

    public void Reset()
    {
        foreach (var stage in _stages)
        {
            stage.Reset();
        }
    }
}
