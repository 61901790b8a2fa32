using System.Text;
using Anima.Abstractions;
using Anima.Core.Persona;
using Microsoft.Extensions.AI;

namespace Anima.Core.Prompting;

/// <summary>
/// Composes what the mind sees for one turn: the persona, then each capability's section (mood,
/// memories, policy), then as much recent conversation as fits the budget, then the user's message.
/// </summary>
public sealed class PromptComposer(IEnumerable<ITurnContextProvider> providers)
{
    /// <summary>Default budget for the conversation history part of the prompt, in estimated tokens.</summary>
    public const int DefaultHistoryTokenBudget = 3000;

    private readonly ITurnContextProvider[] _providers = providers.ToArray();

    public async Task<List<ChatMessage>> ComposeAsync(
        TurnContext context,
        IReadOnlyList<ConversationTurn> history,
        string? turnInstruction,
        int turnCount,
        int historyTokenBudget = DefaultHistoryTokenBudget,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(history);
        var sections = new List<PromptSection>(_providers.Length);
        foreach (var provider in _providers)
        {
            if (await provider.GetSectionAsync(context, cancellationToken) is { } section && !string.IsNullOrWhiteSpace(section.Body))
            {
                // In priority order, and in the providers' order within a priority.
                var at = sections.Count;
                while (at > 0 && sections[at - 1].Priority > section.Priority)
                {
                    at--;
                }

                sections.Insert(at, section);
            }
        }

        var messages = new List<ChatMessage> { new(ChatRole.System, WriteSystemPrompt(context, sections, turnInstruction, turnCount)) };
        messages.AddRange(SelectHistory(history, historyTokenBudget));
        messages.Add(new ChatMessage(ChatRole.User, context.UserMessage));
        return messages;
    }

    [ThreadStatic]
    private static StringBuilder? t_systemPrompt;

    /// <summary>
    /// The persona, then the sections (already in priority order), then this turn's instruction, written synchronously into this
    /// thread's reused buffer (about 8 KB a turn that would otherwise be new garbage at every turn).
    /// </summary>
    private static string WriteSystemPrompt(TurnContext context, List<PromptSection> sections, string? turnInstruction, int turnCount)
    {
        var system = t_systemPrompt ??= new StringBuilder(8192);
        system.Clear();
        PersonaPrompt.AppendTo(system, context.Profile, context.Language, context.Now, turnCount);
        foreach (var section in sections)
        {
            system.AppendLine().Append("## ").AppendLine(section.Title).Append(section.Body.AsSpan().Trim()).AppendLine();
        }

        if (!string.IsNullOrWhiteSpace(turnInstruction))
        {
            system.AppendLine().AppendLine("## For this reply").AppendLine(turnInstruction);
        }

        var text = system.ToString();
        if (system.Capacity > 65536)
        {
            // One huge prompt should not pin its buffer for the life of the thread.
            t_systemPrompt = null;
        }

        return text;
    }

    /// <summary>The newest turns that fit <paramref name="tokenBudget"/>, oldest first; an interrupted reply says where it was cut off.</summary>
    public static IEnumerable<ChatMessage> SelectHistory(IReadOnlyList<ConversationTurn> history, int tokenBudget)
    {
        ArgumentNullException.ThrowIfNull(history);
        var selected = new List<ChatMessage>();
        var used = 0;
        for (var index = history.Count - 1; index >= 0; index--)
        {
            var turn = history[index];
            if (turn.Role == TurnRole.Companion && turn.Text.Length == 0)
            {
                continue;
            }

            var text = turn.Role == TurnRole.Companion && turn.Status == TurnStatus.Interrupted
                ? turn.Text + " — [the user cut you off here; they did not hear the rest]"
                : turn.Text;
            var cost = TokenEstimate.Of(text) + 4;
            if (used + cost > tokenBudget && selected.Count > 0)
            {
                break;
            }

            used += cost;
            selected.Add(new ChatMessage(turn.Role == TurnRole.User ? ChatRole.User : ChatRole.Assistant, text));
        }

        selected.Reverse();
        return selected;
    }
}

/// <summary>
/// A cheap token estimate good enough for budgets: about four characters a token for Latin text and
/// about one token per Hangul syllable (what BPE vocabularies of today's chat models give on average).
/// </summary>
public static class TokenEstimate
{
    public static int Of(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int hangul = 0, other = 0;
        foreach (var character in text)
        {
            if (character is >= '\uAC00' and <= '\uD7A3')
            {
                hangul++;
            }
            else
            {
                other++;
            }
        }

        return hangul + ((other + 3) / 4);
    }
}
