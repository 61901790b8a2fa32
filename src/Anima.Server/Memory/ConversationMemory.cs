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
public sealed partial class ConversationMemory(IMemoryStore store, TimeProvider timeProvider, ILoggerFactory loggerFactory,
    IEmbeddingGenerator<string, Embedding<float>>? embeddings = null) : IConversationMemory
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<ConversationMemory>();

    public async Task RememberAsync(string userId, IReadOnlyList<Abstractions.ConversationTurn> recent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(recent);
        if (recent.Count == 0)
        {
            return;
        }

        // Every turn of the window but the first, which is there as the second's context (unless it opened the
        // conversation, when it has no context of its own and is written too); built as the benchmark builds them.
        var window = recent.Where(turn => turn.Text.Length > 0).ToList();
        if (window.Count == 0 || window[^1].Id != recent[^1].Id)
        {
            return;
        }

        var turns = window.Select(ToMemoryTurn).ToList();
        var first = window[0].Id == 1 || window.Count == 1 ? 0 : 1;
        var memories = new List<Anima.Memory.Memory>(turns.Count - first);
        for (var index = first; index < turns.Count; index++)
        {
            memories.Add(EpisodicMemory.FromConversation(userId, turns, index));
        }

        if (embeddings is not null)
        {
            memories = await EmbedAsync(memories, cancellationToken);
        }

        await store.UpsertManyAsync(userId, memories, cancellationToken);
    }

    public async Task<ConsolidationOutcome> ConsolidateAsync(string userId, IReadOnlyList<Abstractions.ConversationTurn> turns, IChatClient mind, CancellationToken cancellationToken = default)
    {
        var consolidator = new MemoryConsolidator(store, mind, timeProvider, embeddings: embeddings, logger: loggerFactory.CreateLogger<MemoryConsolidator>());
        var result = await consolidator.ConsolidateAsync(userId, turns.Select(ToMemoryTurn).ToList(), cancellationToken);
        return new ConsolidationOutcome(result.Added.Count, result.Merged.Count, result.Retired.Count, result.Reflection is not null, result.Error);
    }

    /// <summary>The memories with their embeddings; when the embedding service fails they are stored without (recall stays lexical for them).</summary>
    private async Task<List<Anima.Memory.Memory>> EmbedAsync(List<Anima.Memory.Memory> memories, CancellationToken cancellationToken)
    {
        try
        {
            var vectors = await embeddings!.GenerateAsync(memories.Select(memory => memory.Text), cancellationToken: cancellationToken);
            if (vectors.Count != memories.Count)
            {
                throw new InvalidOperationException($"The embedding generator returned {vectors.Count} vectors for {memories.Count} texts.");
            }

            return memories.Select((memory, index) => memory with { Embedding = vectors[index].Vector.ToArray() }).ToList();
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogEmbeddingFailed(_logger, exception);
            return memories;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Embedding a turn's memory failed; it is stored without a vector.")]
    private static partial void LogEmbeddingFailed(ILogger logger, Exception exception);

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

/// <summary>
/// Opens the memory database at start (a corrupt file is moved aside, never deleted) and closes it at stop; then, in
/// the background, warms the recall path (<see cref="MemoryWarmup"/>, <c>Anima:Memory:WarmUpQueries</c>, default
/// 1500, 0 = off) so the first users' turns do not wait for the JIT.
/// </summary>
internal sealed partial class MemoryStoreLifetime(IMemoryStore store, IConfiguration configuration, ILogger<MemoryStoreLifetime> logger) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _warmUp = Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken);
        if (store is SqliteMemoryStore { CorruptFileMovedTo: { } movedTo })
        {
            LogCorruptMoved(logger, movedTo);
        }

        var queries = configuration.GetValue("Anima:Memory:WarmUpQueries", MemoryWarmup.DefaultQueries);
        if (queries < 0)
        {
            throw new InvalidOperationException($"Anima:Memory:WarmUpQueries must be 0 or more; got {queries}.");
        }

        if (queries > 0)
        {
            _warmUp = Task.Run(async () =>
            {
                try
                {
                    var took = await MemoryWarmup.RunAsync(queries, _stopping.Token);
                    LogWarmedUp(logger, queries, took.TotalSeconds);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // Only the first turns are slower; nothing else depends on it.
                    LogWarmUpFailed(logger, exception);
                }
                catch (OperationCanceledException)
                {
                    // Stopped before it finished.
                }
            }, CancellationToken.None);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _warmUp.WaitAsync(cancellationToken);
        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Memory recall warmed up ({Queries} queries on a throwaway store, {Seconds:0.0} s).")]
    private static partial void LogWarmedUp(ILogger logger, int queries, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The memory recall warm-up failed; the first turns may be slower.")]
    private static partial void LogWarmUpFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "The memory database was corrupt; it was moved to {Path} and a new one was started. Nothing was deleted.")]
    private static partial void LogCorruptMoved(ILogger logger, string path);
}
