using System.Globalization;
using System.Text;

namespace Anima.Memory.Recall;

/// <summary>
/// Renders recalled memories into the prompt section the mind reads, best first, within a token budget.
/// Tokens are estimated, not counted (the tokenizer depends on the model): one token per 4 ASCII characters
/// (the usual English rate of BPE tokenizers) plus one token per non-ASCII character (a Hangul syllable is one
/// to two tokens in common tokenizers), rounded up. The estimate errs on the generous side of the budget's use.
/// </summary>
public static class MemoryPromptComposer
{
    /// <summary>The heading of the section (the system prompt is in English; memories stay in the user's language).</summary>
    public const string Heading = "What you remember about the user (most relevant first; dates are when it was said):";

    /// <summary>The estimated token count of <paramref name="text"/> (see the class remarks).</summary>
    public static int EstimateTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ascii = 0;
        var other = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.IsAscii)
            {
                ascii++;
            }
            else
            {
                other++;
            }
        }

        return (ascii + 3) / 4 + other;
    }

    /// <summary>
    /// The section for <paramref name="memories"/> (already ordered best first), using at most
    /// <paramref name="tokenBudget"/> estimated tokens, or an empty string when not even one memory fits.
    /// A memory that does not fit is skipped and shorter ones after it may still be included.
    /// </summary>
    public static string Compose(IReadOnlyList<RecalledMemory> memories, int tokenBudget, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(memories);
        ArgumentOutOfRangeException.ThrowIfNegative(tokenBudget);
        var builder = new StringBuilder();
        var used = EstimateTokens(Heading) + 1;
        if (used > tokenBudget)
        {
            return string.Empty;
        }

        var lines = 0;
        foreach (var recalled in memories)
        {
            var line = FormatLine(recalled.Memory, now);
            var cost = EstimateTokens(line) + 1;
            if (used + cost > tokenBudget)
            {
                continue;
            }

            if (lines == 0)
            {
                builder.Append(Heading).Append('\n');
            }

            builder.Append(line).Append('\n');
            used += cost;
            lines++;
        }

        return builder.ToString();
    }

    /// <summary>One memory as a prompt line: <c>- [said 2026-11-20 · event 2026-11-24 (tomorrow) · plan] text</c>.</summary>
    public static string FormatLine(Memory memory, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(memory);
        var builder = new StringBuilder("- [");
        builder.Append(memory.Kind == MemoryKind.Episodic ? "said " : "noted ");
        builder.Append(memory.CreatedAt.ToOffset(now.Offset).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        if (memory.EventDate is { } eventDate)
        {
            var local = eventDate.ToOffset(now.Offset);
            builder.Append(" · on ").Append(local.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            var days = (local.Date - now.Date).Days;
            var relative = days switch
            {
                0 => "today",
                1 => "tomorrow",
                -1 => "yesterday",
                > 1 and < 8 => string.Create(CultureInfo.InvariantCulture, $"in {days} days"),
                < -1 and > -8 => string.Create(CultureInfo.InvariantCulture, $"{-days} days ago"),
                _ => null,
            };
            if (relative is not null)
            {
                builder.Append(" (").Append(relative).Append(')');
            }
        }

        if (memory.Kind is not MemoryKind.Episodic and not MemoryKind.Fact)
        {
            builder.Append(" · ").Append(memory.Kind.ToString().ToLowerInvariant());
        }

        if (memory.Confidence < 0.6)
        {
            builder.Append(" · unsure");
        }

        builder.Append("] ");
        // One line per memory: newlines inside a memory would let it pose as several.
        builder.Append(memory.Text.ReplaceLineEndings(" "));
        return builder.ToString();
    }
}
