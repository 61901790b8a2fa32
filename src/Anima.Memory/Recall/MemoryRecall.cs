using System.Diagnostics;
using Anima.Memory.Storage;
using Anima.Memory.Text;
using Microsoft.Extensions.AI;

namespace Anima.Memory.Recall;

/// <summary>
/// Weights and candidate counts of <see cref="MemoryRecall"/>. The score of a candidate memory is
/// <c>LexicalWeight·lexical + VectorWeight·max(0, cosine) + RecencyWeight·recency + ImportanceWeight·importance
/// + EmotionWeight·emotionalWeight + EventWeight·eventProximity + TimeAnswerWeight·saysWhen</c>, where lexical is the
/// store's full-text score plus the session signal (<see cref="SessionWeight"/>) divided by the best one of this query (0..1), recency is <c>2^(−age / RecencyHalfLife)</c>, and event proximity is 1 on the
/// event's day falling linearly to 0 at the edges of the event window.
/// </summary>
public sealed class MemoryRecallOptions
{
    /// <summary>Full-text candidates fetched per query (default 30, 1..500). They are also the pool the session signal
    /// looks for neighbours in (LoCoMo recall@10 with the session signal: 20 → 0.769, 30 → 0.772, 50 → 0.775 in the
    /// prototype; 30 keeps the query cheap).</summary>
    public int LexicalCandidates { get; init; } = 30;

    /// <summary>Newest memories also considered, so the last things said can surface without shared words (default 10).</summary>
    public int RecentCandidates { get; init; } = 10;

    /// <summary>Most important memories also considered (default 10).</summary>
    public int ImportantCandidates { get; init; } = 10;

    /// <summary>Events this far before now still surface ("how did the interview go?" the next day). Default 2 days.</summary>
    public TimeSpan EventWindowBefore { get; init; } = TimeSpan.FromDays(2);

    /// <summary>Events this far after now surface ahead of their day. Default 1 day.</summary>
    public TimeSpan EventWindowAfter { get; init; } = TimeSpan.FromDays(1);

    public double LexicalWeight { get; init; } = 1.0;

    public double VectorWeight { get; init; } = 0.8;

    public double RecencyWeight { get; init; } = 0.08;

    public double ImportanceWeight { get; init; } = 0.15;

    public double EmotionWeight { get; init; } = 0.05;

    public double EventWeight { get; init; } = 0.6;

    /// <summary>
    /// How much a full-text candidate gains from the best-matching candidate said within <see cref="SessionWindow"/> of it
    /// (itself included): <c>lexical' = lexical + SessionWeight · max(lexical of that conversation's candidates)</c>, then
    /// normalised again by the best. An answer is often a turn that shares few words with the question while the turns
    /// around it share many ("what did Mel make?" — "we made this!" after "my pottery class"). Default 0.4; 0 turns it off.
    /// </summary>
    public double SessionWeight { get; init; } = 0.4;

    /// <summary>
    /// Added to a candidate that says when (a time word, date, weekday, month or year, or an event date) when the turn
    /// asks when (<see cref="TimeQuestions"/>). Default 0.1 (LoCoMo temporal questions: recall@10 0.869 → 0.882 in the
    /// prototype); 0 turns it off.
    /// </summary>
    public double TimeAnswerWeight { get; init; } = 0.1;

    /// <summary>
    /// Added to a turn's memory when the query names its speaker ("what did Caroline research?" — a turn said by
    /// Caroline; the speaker is the text before "Name: " of an episodic memory). Default 0.1, a small tie-breaker like
    /// <see cref="TimeAnswerWeight"/>, set before measuring (LoCoMo recall@10 0.781 → 0.786; 0.05 gives 0.785 and 0.2
    /// 0.779, where questions about the wrong person, LoCoMo's "adversarial" ones, are misled); 0 turns it off.
    /// </summary>
    public double SpeakerWeight { get; init; } = 0.1;

    /// <summary>Memories created this close in time count as one conversation for <see cref="SessionWeight"/> (default 1 hour).</summary>
    public TimeSpan SessionWindow { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Half-life of the recency signal (default 30 days).</summary>
    public TimeSpan RecencyHalfLife { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Candidates scoring below this are not returned (default 0.12: an old, unimportant memory sharing no word with the turn stays out).</summary>
    public double MinimumScore { get; init; } = 0.12;

    /// <summary>Throws when a value is out of its documented range.</summary>
    public void Validate()
    {
        if (LexicalCandidates is < 1 or > MemorySearchQuery.MaxLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(LexicalCandidates), LexicalCandidates, $"Must be from 1 to {MemorySearchQuery.MaxLimit}.");
        }

        if (RecentCandidates is < 0 or > MemoryListQuery.MaxLimit || ImportantCandidates is < 0 or > MemoryListQuery.MaxLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(RecentCandidates), $"Recent and important candidates must be from 0 to {MemoryListQuery.MaxLimit}.");
        }

        if (EventWindowBefore < TimeSpan.Zero || EventWindowAfter < TimeSpan.Zero || RecencyHalfLife <= TimeSpan.Zero || SessionWindow < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(EventWindowBefore), "Event and session windows must not be negative and the recency half-life must be positive.");
        }

        foreach (var weight in new[] { LexicalWeight, VectorWeight, RecencyWeight, ImportanceWeight, EmotionWeight, EventWeight, SessionWeight, TimeAnswerWeight, SpeakerWeight, MinimumScore })
        {
            if (!double.IsFinite(weight) || weight < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(LexicalWeight), weight, "Weights must be finite and not negative.");
            }
        }
    }
}

/// <summary>A recalled memory, its score and the parts of the score (for the page that explains why it was recalled).</summary>
public sealed record RecalledMemory(Memory Memory, double Score, double Lexical, double Vector, double Recency, double EventProximity);

/// <summary>
/// Retrieves what matters for a turn: full-text candidates (the same BM25F on SQLite and PostgreSQL) plus the newest,
/// the most important and the events near today, re-scored with recency, importance, emotional weight, event
/// proximity and — when an embedding generator is configured — cosine similarity. Works without a mind.
/// </summary>
public sealed class MemoryRecall
{
    private readonly IMemoryStore _store;
    private readonly TimeProvider _timeProvider;
    private readonly IEmbeddingGenerator<string, Embedding<float>>? _embeddings;
    private readonly MemoryRecallOptions _options;

    public MemoryRecall(IMemoryStore store, TimeProvider timeProvider, IEmbeddingGenerator<string, Embedding<float>>? embeddings = null, MemoryRecallOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = options ?? new MemoryRecallOptions();
        _options.Validate();
        _store = store;
        _timeProvider = timeProvider;
        _embeddings = embeddings;
    }

    /// <summary>Whether vector similarity takes part (an embedding generator is configured).</summary>
    public bool UsesEmbeddings => _embeddings is not null;

    /// <summary>The best <paramref name="limit"/> memories of <paramref name="userId"/> for <paramref name="query"/>, best first.</summary>
    public async Task<IReadOnlyList<RecalledMemory>> RecallAsync(string userId, string query, int limit = 8, CancellationToken cancellationToken = default)
    {
        MemoryValidation.ValidateUserId(userId);
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, MemorySearchQuery.MaxLimit);
        var now = _timeProvider.GetUtcNow();
        var candidates = new Dictionary<Guid, (Memory Memory, double Lexical)>();
        var lexicalLimit = Math.Max(_options.LexicalCandidates, limit);
        var hits = await _store.SearchAsync(userId, new MemorySearchQuery { Text = Memory.TruncateText(query), Limit = lexicalLimit }, cancellationToken);
        var lexicalScores = WithSessionSignal(hits, _options.SessionWeight, _options.SessionWindow);
        var best = lexicalScores.Length > 0 ? lexicalScores.Max() : 0;
        for (var index = 0; index < hits.Count; index++)
        {
            candidates[hits[index].Memory.Id] = (hits[index].Memory, best > 0 ? lexicalScores[index] / best : 0);
        }

        if (_options.RecentCandidates > 0)
        {
            AddCandidates(candidates, await _store.ListAsync(userId, new MemoryListQuery { Limit = _options.RecentCandidates, IncludeTotal = false }, cancellationToken));
        }

        if (_options.ImportantCandidates > 0)
        {
            AddCandidates(candidates, await _store.ListAsync(userId, new MemoryListQuery { Limit = _options.ImportantCandidates, ByImportance = true, IncludeTotal = false }, cancellationToken));
        }

        if (_options.EventWeight > 0)
        {
            AddCandidates(candidates, await _store.ListAsync(userId, new MemoryListQuery
            {
                EventFrom = now - _options.EventWindowBefore - TimeSpan.FromDays(1),
                EventBefore = now + _options.EventWindowAfter + TimeSpan.FromDays(1),
                Limit = 50,
                IncludeTotal = false,
            }, cancellationToken));
        }

        float[]? queryVector = null;
        if (_embeddings is not null && _options.VectorWeight > 0 && candidates.Values.Any(candidate => candidate.Memory.Embedding is not null))
        {
            var generated = await _embeddings.GenerateAsync([query], cancellationToken: cancellationToken);
            queryVector = generated.Count > 0 ? generated[0].Vector.ToArray() : null;
        }

        var asksWhen = _options.TimeAnswerWeight > 0 && TimeQuestions.AsksWhen(query);
        var speakers = _options.SpeakerWeight > 0 ? new SpeakerMatcher(query) : null;
        var results = new List<RecalledMemory>(candidates.Count);
        foreach (var (memory, lexical) in candidates.Values)
        {
            var vector = queryVector is not null && memory.Embedding is { } embedding && embedding.Length == queryVector.Length
                ? Math.Max(0, VectorMath.Cosine(queryVector, embedding))
                : 0;
            var age = now - memory.CreatedAt;
            var recency = age <= TimeSpan.Zero ? 1 : Math.Pow(2, -age / _options.RecencyHalfLife);
            var eventProximity = EventProximity(memory, now);
            var score = _options.LexicalWeight * lexical
                + _options.VectorWeight * vector
                + _options.RecencyWeight * recency
                + _options.ImportanceWeight * memory.Importance
                + _options.EmotionWeight * memory.EmotionalWeight
                + _options.EventWeight * eventProximity
                + (asksWhen && (memory.EventDate is not null || TimeQuestions.MentionsTime(memory.Text)) ? _options.TimeAnswerWeight : 0)
                + (speakers is not null && speakers.Names(memory) ? _options.SpeakerWeight : 0);
            if (score >= _options.MinimumScore)
            {
                results.Add(new RecalledMemory(memory, score, lexical, vector, recency, eventProximity));
            }
        }

        results.Sort((left, right) => right.Score.CompareTo(left.Score) is var order && order != 0
            ? order
            : right.Memory.CreatedAt.CompareTo(left.Memory.CreatedAt));
        return results.Count > limit ? results.GetRange(0, limit) : results;
    }

    /// <summary>
    /// The full-text scores with the session signal added: each hit gains <paramref name="weight"/> times the best score
    /// among the hits created within <paramref name="window"/> of it (itself included). Hits sorted by time, a sliding
    /// window: O(n log n) for the n hits.
    /// </summary>
    public static double[] WithSessionSignal(IReadOnlyList<MemorySearchHit> hits, double weight, TimeSpan window)
    {
        var scores = new double[hits.Count];
        for (var index = 0; index < hits.Count; index++)
        {
            scores[index] = hits[index].LexicalScore;
        }

        if (weight <= 0 || hits.Count == 0)
        {
            return scores;
        }

        var byTime = new int[hits.Count];
        for (var index = 0; index < byTime.Length; index++)
        {
            byTime[index] = index;
        }

        Array.Sort(byTime, (left, right) => hits[left].Memory.CreatedAt.CompareTo(hits[right].Memory.CreatedAt));
        var start = 0;
        var end = 0;
        foreach (var index in byTime)
        {
            var created = hits[index].Memory.CreatedAt;
            while (hits[byTime[start]].Memory.CreatedAt < created - window)
            {
                start++;
            }

            while (end < byTime.Length && hits[byTime[end]].Memory.CreatedAt <= created + window)
            {
                end++;
            }

            var neighbourhood = 0.0;
            for (var other = start; other < end; other++)
            {
                neighbourhood = Math.Max(neighbourhood, hits[byTime[other]].LexicalScore);
            }

            scores[index] += weight * neighbourhood;
        }

        return scores;
    }

    /// <summary>1 when the event is today (same calendar day as now in now's offset), falling to 0 at the window's edges.</summary>
    private double EventProximity(Memory memory, DateTimeOffset now)
    {
        if (memory.EventDate is not { } eventDate)
        {
            return 0;
        }

        var days = (eventDate.ToOffset(now.Offset).Date - now.Date).TotalDays;
        var window = days < 0 ? _options.EventWindowBefore.TotalDays : _options.EventWindowAfter.TotalDays;
        if (days == 0)
        {
            return 1;
        }

        return window <= 0 ? 0 : Math.Max(0, 1 - Math.Abs(days) / (window + 1));
    }

    /// <summary>Whether a query names the speaker of a turn's memory ("Caroline: …"), with one analysis per speaker name.</summary>
    private sealed class SpeakerMatcher(string query)
    {
        private const int MaxNameLength = 40;
        private readonly HashSet<string> _queryTerms = new(MemoryTextAnalyzer.Analyze(query), StringComparer.Ordinal);
        private readonly Dictionary<string, bool> _named = new(StringComparer.Ordinal);

        public bool Names(Memory memory)
        {
            if (memory.Kind != MemoryKind.Episodic || _queryTerms.Count == 0)
            {
                return false;
            }

            var colon = memory.Text.IndexOf(": ", StringComparison.Ordinal);
            if (colon is <= 0 or > MaxNameLength)
            {
                return false;
            }

            var name = memory.Text[..colon];
            if (!_named.TryGetValue(name, out var named))
            {
                var terms = MemoryTextAnalyzer.Analyze(name);
                named = terms.Count > 0 && terms.All(_queryTerms.Contains);
                _named[name] = named;
            }

            return named;
        }
    }

    private static void AddCandidates(Dictionary<Guid, (Memory Memory, double Lexical)> candidates, MemoryPage page)
    {
        foreach (var memory in page.Items)
        {
            candidates.TryAdd(memory.Id, (memory, 0));
        }
    }

    /// <summary>Measures one recall (for benchmarks): the results and the elapsed time.</summary>
    public async Task<(IReadOnlyList<RecalledMemory> Results, TimeSpan Elapsed)> RecallTimedAsync(string userId, string query, int limit, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        var results = await RecallAsync(userId, query, limit, cancellationToken);
        return (results, Stopwatch.GetElapsedTime(started));
    }
}
