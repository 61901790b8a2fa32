using System.Globalization;
using Anima.Core.Conversation;
using Anima.Core.Prompting;

namespace Anima.Core.Policy;

/// <summary>
/// What the companion must be able to say truthfully: how many people it is talking with right now
/// (users of this installation, on every node, who wrote in the last <see cref="ActiveWindow"/>), and
/// what it keeps about the user. Theodore learned the first from Samantha too late; here it is never hidden.
/// </summary>
public sealed class HonestyContextProvider(IConversationStore conversations, TimeProvider timeProvider) : ITurnContextProvider
{
    /// <summary>A conversation counts as going on when its user wrote within this window.</summary>
    public static readonly TimeSpan ActiveWindow = TimeSpan.FromMinutes(10);

    /// <summary>The count is shared by every turn for this long, so a busy node asks the database rarely.</summary>
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private (int Count, DateTimeOffset At)? _cached;
    private Task<int>? _counting;

    public async ValueTask<PromptSection?> GetSectionAsync(TurnContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var count = Math.Max(1, await CountAsync(cancellationToken));
        var others = count - 1;
        var body = string.Create(CultureInfo.InvariantCulture, $"""
            If the user asks how many people you are talking with, answer truthfully: right now you are in {count} conversation{(count == 1 ? string.Empty : "s")} on this Anima installation ({(others == 0 ? "only this one" : $"this one and {others} other{(others == 1 ? string.Empty : "s")}")}). Each is private; you never share one person's conversation with another.
            If asked what you keep: every message of your conversations, the feelings you perceived in their messages (if perception is on), and the things you remember about their life. It is kept only by this Anima installation, which they or someone they chose runs; they can see, correct, export or delete all of it.
            """);
        return new PromptSection("Honesty", body, Priority: 90);
    }

    /// <summary>
    /// The number of conversations going on now, cached for a few seconds; when the cache runs out, one
    /// query refreshes it while every other turn waits for that same query (no stampede on a busy node).
    /// </summary>
    public Task<int> CountAsync(CancellationToken cancellationToken = default)
    {
        var now = timeProvider.GetUtcNow();
        lock (_gate)
        {
            if (_cached is { } cached && now - cached.At < CacheFor)
            {
                return Task.FromResult(cached.Count);
            }

            if (_counting is { IsCompleted: false } running)
            {
                return running;
            }

            // Queued, not run here: the query must not run inside the lock.
            return _counting = Task.Run(() => RefreshAsync(now), CancellationToken.None);
        }
    }

    private async Task<int> RefreshAsync(DateTimeOffset now)
    {
        var count = await conversations.CountActiveUsersAsync(now - ActiveWindow, CancellationToken.None);
        lock (_gate)
        {
            _cached = (count, now);
        }

        return count;
    }
}
