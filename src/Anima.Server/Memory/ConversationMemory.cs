using Anima.Abstractions;
using Anima.Core.Memory;
using Anima.Core.Prompting;
using Anima.Memory.Consolidation;
using Anima.Memory.Recall;
using Anima.Memory.Storage;
using Microsoft.Extensions.AI;
using MemoryTurn = Anima.Memory.Consolidation.ConversationTurn;

namespace Anima.Server.Memory;

/// <summary>Long-term memory for the companion grain, on the memory library's store, recall and consolidator.</summary>
public sealed class ConversationMemory(IMemoryStore store, TimeProvider timeProvider, ILoggerFactory loggerFactory) : IConversationMemory
{
    public async Task RememberAsync(string userId, Abstractions.ConversationTurn turn, Abstractions.ConversationTurn? previous, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(turn);
        var memory = EpisodicMemory.FromTurn(userId, ToMemoryTurn(turn), previous is null ? null : ToMemoryTurn(previous));
        await store.UpsertAsync(userId, memory, cancellationToken);
    }

    public async Task<ConsolidationOutcome> ConsolidateAsync(string userId, IReadOnlyList<Abstractions.ConversationTurn> turns, IChatClient mind, CancellationToken cancellationToken = default)
    {
        var consolidator = new MemoryConsolidator(store, mind, timeProvider, logger: loggerFactory.CreateLogger<MemoryConsolidator>());
        var result = await consolidator.ConsolidateAsync(userId, turns.Select(ToMemoryTurn).ToList(), cancellationToken);
        return new ConsolidationOutcome(result.Added.Count, result.Merged.Count, result.Retired.Count, result.Reflection is not null, result.Error);
    }

    internal static MemoryTurn ToMemoryTurn(Abstractions.ConversationTurn turn) =>
        new(turn.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
            turn.Role == TurnRole.User ? TurnSpeaker.User : TurnSpeaker.Companion,
            turn.Text,
            turn.CreatedAt,
            turn.Emotion is { } emotion ? Math.Abs(emotion.Valence) * emotion.Weight : 0);
}

/// <summary>Recalls what matters for this message (lexical, recency, importance, dated events) into the prompt within a token budget.</summary>
public sealed class MemoryContextProvider(MemoryRecall recall) : ITurnContextProvider
{
    /// <summary>Estimated tokens of remembered things per prompt.</summary>
    public const int TokenBudget = 600;

    public async ValueTask<PromptSection?> GetSectionAsync(TurnContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var recalled = await recall.RecallAsync(context.UserId, context.UserMessage, 8, cancellationToken);
        if (recalled.Count == 0)
        {
            return null;
        }

        var body = MemoryPromptComposer.Compose(recalled, TokenBudget, context.Now);
        return string.IsNullOrWhiteSpace(body)
            ? null
            : new PromptSection("What you remember", body + "\nBring these up only when they matter (a follow-up on a plan or an event on its day is welcome); never recite them.", Priority: 30);
    }
}

/// <summary>Opens the memory database at start (a corrupt file is moved aside, never deleted) and closes it at stop.</summary>
internal sealed partial class MemoryStoreLifetime(IMemoryStore store, ILogger<MemoryStoreLifetime> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken);
        if (store is SqliteMemoryStore { CorruptFileMovedTo: { } movedTo })
        {
            LogCorruptMoved(logger, movedTo);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Error, Message = "The memory database was corrupt; it was moved to {Path} and a new one was started. Nothing was deleted.")]
    private static partial void LogCorruptMoved(ILogger logger, string path);
}
