using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Anima.Memory.Consolidation;
using Anima.Memory.Recall;
using Anima.Memory.Storage;

namespace Anima.Memory.Benchmarks;

/// <summary>Recall figures of one group of LoCoMo questions.</summary>
public sealed record LocomoRecall(string Group, int Questions, double RecallAt5, double RecallAt10, double AllEvidenceAt10);

/// <summary>The result of <see cref="LocomoBenchmark.RunAsync"/>.</summary>
public sealed record LocomoReport(
    int Samples,
    int TurnsIngested,
    int MemoriesIngested,
    LocomoRecall Overall,
    IReadOnlyList<LocomoRecall> ByCategory,
    TimeSpan QueryP50,
    TimeSpan QueryP99,
    TimeSpan IngestTime,
    int UnknownEvidenceIds,
    int K,
    IReadOnlyList<LocomoMisses> Misses);

/// <summary>
/// The evidence turns of one group of questions that were not among the top K, and how many of them share no analysed
/// term (<see cref="Text.MemoryTextAnalyzer"/>) with their question other than the conversation's speaker names (every
/// turn starts with its speaker's name, so a name alone says little): in the turn's own text, and in its text and
/// hidden search context together. Those cannot be found by words alone.
/// </summary>
public sealed record LocomoMisses(string Group, int EvidenceTurns, int Missed, int NoSharedTermInText, int NoSharedTermInTextOrContext);

/// <summary>
/// LoCoMo retrieval benchmark: every turn of every conversation is stored as an episodic memory of one user per
/// sample (text "Speaker: words [shares a photo: caption]", the previous turn as hidden search context, the
/// session's time as its creation time). For each question with evidence, <see cref="MemoryRecall"/> retrieves
/// the top K memories as of the day after the last session, and recall@k is the share of the question's evidence
/// turns found among the provenance of the top k (averaged over questions). Optionally, LoCoMo's shipped
/// observations (facts an LLM extracted per session, each citing its turn) are stored too, as a stand-in for
/// what the consolidator would extract with a mind; they are reported separately.
/// </summary>
public sealed class LocomoBenchmark(IMemoryStore store, MemoryRecallOptions? recallOptions = null)
{
    private static readonly string[] CategoryNames = ["", "multi-hop", "temporal", "open-domain", "single-hop", "adversarial"];

    public static string CategoryName(int category) =>
        category >= 1 && category < CategoryNames.Length ? CategoryNames[category] : "other";

    public async Task<LocomoReport> RunAsync(IReadOnlyList<LocomoSample> samples, int k, bool includeObservations, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var depth = Math.Max(k, 10);
        var ingestStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        var totalTurns = samples.Sum(sample => sample.Turns.Count);
        var totalQuestions = samples.Sum(sample => sample.Questions.Count(question => question.Evidence.Count > 0));
        var work = (double)totalTurns + totalQuestions;
        var done = 0;
        var memories = 0;
        foreach (var sample in samples)
        {
            var batch = BuildMemories(sample, includeObservations);
            await store.UpsertManyAsync(UserId(sample), batch, cancellationToken);
            memories += batch.Count;
            done += sample.Turns.Count;
            progress?.Report(done / work);
        }

        var ingestTime = System.Diagnostics.Stopwatch.GetElapsedTime(ingestStarted);
        var latencies = new List<double>();
        var outcomes = new List<(int Category, double At5, double At10, bool All10)>();
        var misses = new List<(int Category, int Evidence, int Missed, int NoText, int NoTextOrContext)>();
        var unknown = 0;
        foreach (var sample in samples)
        {
            var known = sample.Turns.Select(turn => turn.DialogueId).ToHashSet(StringComparer.Ordinal);
            var turnMemories = new Dictionary<string, Memory>(StringComparer.Ordinal);
            foreach (var memory in BuildMemories(sample, includeObservations: false))
            {
                foreach (var id in memory.Provenance)
                {
                    turnMemories.TryAdd(id, memory);
                }
            }

            var speakerTerms = sample.Turns.Select(turn => turn.Speaker).Distinct(StringComparer.Ordinal)
                .SelectMany(name => Text.MemoryTextAnalyzer.Analyze(name)).ToHashSet(StringComparer.Ordinal);

            var now = sample.Turns.Max(turn => turn.SessionTime).AddDays(1);
            var recall = new MemoryRecall(store, new FixedTimeProvider(now), options: recallOptions);
            foreach (var question in sample.Questions)
            {
                if (question.Evidence.Count == 0)
                {
                    continue;
                }

                var evidence = question.Evidence.Where(known.Contains).ToArray();
                unknown += question.Evidence.Count - evidence.Length;
                if (evidence.Length == 0)
                {
                    done++;
                    continue;
                }

                var (results, elapsed) = await recall.RecallTimedAsync(UserId(sample), question.Question, depth, cancellationToken);
                latencies.Add(elapsed.TotalMilliseconds);
                var at5 = Found(results, 5, evidence);
                var at10 = Found(results, k, evidence);
                outcomes.Add((question.Category, at5 / (double)evidence.Length, at10 / (double)evidence.Length, at10 == evidence.Length));
                misses.Add(CountMisses(question, results, k, evidence, turnMemories, speakerTerms));
                done++;
                if (done % 50 == 0)
                {
                    progress?.Report(done / work);
                }
            }
        }

        progress?.Report(1);
        latencies.Sort();
        var byCategory = outcomes.GroupBy(outcome => outcome.Category).OrderBy(group => group.Key)
            .Select(group => Summarize(string.Create(CultureInfo.InvariantCulture, $"category {group.Key} ({CategoryName(group.Key)})"), group.ToList()))
            .ToArray();
        return new LocomoReport(samples.Count, totalTurns, memories, Summarize("overall", outcomes), byCategory,
            TimeSpan.FromMilliseconds(Percentile(latencies, 0.50)), TimeSpan.FromMilliseconds(Percentile(latencies, 0.99)), ingestTime, unknown, k,
            misses.GroupBy(miss => miss.Category).OrderBy(group => group.Key)
                .Select(group => SummarizeMisses(string.Create(CultureInfo.InvariantCulture, $"category {group.Key} ({CategoryName(group.Key)})"), group))
                .Append(SummarizeMisses("overall", misses)).ToArray());
    }

    private static (int Category, int Evidence, int Missed, int NoText, int NoTextOrContext) CountMisses(
        LocomoQuestion question, IReadOnlyList<RecalledMemory> results, int k, IReadOnlyList<string> evidence, Dictionary<string, Memory> turnMemories,
        HashSet<string> speakerTerms)
    {
        var cited = results.Take(k).SelectMany(result => result.Memory.Provenance).ToHashSet(StringComparer.Ordinal);
        var questionTerms = Text.MemoryTextAnalyzer.Analyze(question.Question).Where(term => !speakerTerms.Contains(term)).ToHashSet(StringComparer.Ordinal);
        int missed = 0, noText = 0, noTextOrContext = 0;
        foreach (var id in evidence.Where(id => !cited.Contains(id)))
        {
            missed++;
            var memory = turnMemories[id];
            var inText = Text.MemoryTextAnalyzer.Analyze(memory.Text).Any(questionTerms.Contains);
            if (!inText)
            {
                noText++;
                if (!Text.MemoryTextAnalyzer.Analyze(memory.SearchContext).Any(questionTerms.Contains))
                {
                    noTextOrContext++;
                }
            }
        }

        return (question.Category, evidence.Count, missed, noText, noTextOrContext);
    }

    private static LocomoMisses SummarizeMisses(string group, IEnumerable<(int Category, int Evidence, int Missed, int NoText, int NoTextOrContext)> misses)
    {
        var list = misses.ToList();
        return new LocomoMisses(group, list.Sum(miss => miss.Evidence), list.Sum(miss => miss.Missed), list.Sum(miss => miss.NoText), list.Sum(miss => miss.NoTextOrContext));
    }

    private static LocomoRecall Summarize(string group, List<(int Category, double At5, double At10, bool All10)> outcomes) =>
        outcomes.Count == 0
            ? new LocomoRecall(group, 0, 0, 0, 0)
            : new LocomoRecall(group, outcomes.Count, outcomes.Average(outcome => outcome.At5), outcomes.Average(outcome => outcome.At10),
                outcomes.Count(outcome => outcome.All10) / (double)outcomes.Count);

    private static int Found(IReadOnlyList<RecalledMemory> results, int k, IReadOnlyList<string> evidence)
    {
        var cited = new HashSet<string>(StringComparer.Ordinal);
        foreach (var result in results.Take(k))
        {
            cited.UnionWith(result.Memory.Provenance);
        }

        return evidence.Count(cited.Contains);
    }

    /// <summary>The nearest-rank percentile of sorted values (0 when empty).</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double fraction)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0)
        {
            return 0;
        }

        var rank = (int)Math.Ceiling(fraction * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    private static string UserId(LocomoSample sample) => "locomo-" + sample.SampleId;

    /// <summary>The memories one sample is stored as: one episodic memory per turn (and its observations when asked).</summary>
    public static IReadOnlyList<Memory> BuildMemories(LocomoSample sample, bool includeObservations)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var userId = UserId(sample);
        // The same code path as the live companion's episodic memory: the turn's text, and as hidden context its day,
        // the dates its relative ones mean, and its neighbouring turns (with their photo captions). Both speakers are
        // people, so both count as the user (importance 0.3).
        var turns = sample.Turns.Select((turn, index) => new ConversationTurn(
            turn.DialogueId, TurnSpeaker.User, turn.Text, turn.SessionTime.AddSeconds(index), SpeakerName: turn.Speaker, ImageCaption: turn.ImageCaption)).ToArray();
        var memories = new List<Memory>(EpisodicMemory.FromConversation(userId, turns));
        if (includeObservations)
        {
            var sessionTimes = sample.Turns.GroupBy(turn => turn.Session).ToDictionary(group => group.Key, group => group.First().SessionTime);
            foreach (var observation in sample.Observations)
            {
                memories.Add(new Memory
                {
                    Id = StableId(userId, "obs:" + observation.DialogueId + ":" + observation.Text),
                    UserId = userId,
                    Kind = MemoryKind.Fact,
                    Text = Memory.TruncateText(observation.Text),
                    CreatedAt = sessionTimes.GetValueOrDefault(observation.Session, sample.Turns[0].SessionTime),
                    Provenance = [observation.DialogueId],
                    Importance = 0.5,
                });
            }
        }

        return memories;
    }

    private static Guid StableId(string userId, string key)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(userId + "\n" + key), hash);
        return new Guid(hash[..16]);
    }

    private sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
