using System.ComponentModel.DataAnnotations;

namespace Anima.Grains;

/// <summary>Limits and timings of a companion's turn.</summary>
public sealed class CompanionOptions
{
    public const string SectionName = "Anima:Companion";

    /// <summary>Default longest user message, in characters (about ten pages of text).</summary>
    public const int DefaultMaximumMessageLength = 16_000;

    /// <summary>The longest user message accepted, in characters (1..100,000).</summary>
    [Range(1, 100_000)]
    public int MaximumMessageLength { get; set; } = DefaultMaximumMessageLength;

    /// <summary>How many recent turns a companion keeps in memory for prompts (10..1,000; default 60).</summary>
    [Range(10, 1_000)]
    public int RecentTurns { get; set; } = 60;

    /// <summary>Estimated tokens of conversation history put in each prompt (200..100,000; default 3,000).</summary>
    [Range(200, 100_000)]
    public int HistoryTokenBudget { get; set; } = 3_000;

    /// <summary>How long to wait for the mind's first token before giving up (default 90 s: a local model may be loading).</summary>
    public TimeSpan FirstTokenTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>How long the mind may go silent between tokens before the reply counts as failed (default 30 s).</summary>
    public TimeSpan TokenGapTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>After how many user messages of the first meeting the companion chooses its name (1..10; default 2).</summary>
    [Range(1, 10)]
    public int NameAfterUserTurns { get; set; } = 2;

    /// <summary>
    /// How long a reply may wait for its reader to take the next event before a new turn may take over
    /// (the reader's node died, say). Default 2 s; a live reader takes events within milliseconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan AbandonedReplyTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a companion nobody talks to stays in memory before it is deactivated (default 15 min); it comes
    /// back with its state at the next message. At least 10 seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:10", "7.00:00:00")]
    public TimeSpan DeactivateAfterIdle { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a conversation must be quiet before its memories are consolidated (default 10 minutes).</summary>
    public TimeSpan ConsolidateAfterIdle { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The shortest time between two token events of a written reply (default 100 ms, ten updates a second, which reads
    /// as a steady flow; 0 sends every piece as it comes). The first piece and the end of the reply are never held back;
    /// pieces in between that arrive sooner travel together, so a fast mind costs one event per interval instead of one
    /// per token (each event is a grain call and an SSE write). Spoken replies are not held back.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01")]
    public TimeSpan TextEventInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The most tokens one reply may have (16..8,192; default 1,024).</summary>
    [Range(16, 8_192)]
    public int MaximumReplyTokens { get; set; } = 1_024;
}
