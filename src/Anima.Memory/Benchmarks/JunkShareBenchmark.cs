using Anima.Memory.Consolidation;

namespace Anima.Memory.Benchmarks;

/// <summary>The junk measurement of one source of candidate memories.</summary>
/// <param name="Candidates">Candidate memories examined.</param>
/// <param name="Junk">Judged junk on their own (pleasantry, too short, meta talk).</param>
/// <param name="Duplicates">Near-duplicates of a candidate kept earlier in the same conversation.</param>
/// <param name="Kept">What the filter would store.</param>
/// <param name="Evidence">Candidates whose turn is evidence for at least one benchmark question.</param>
/// <param name="RejectedEvidence">Rejected candidates whose turn is evidence (what the filter wrongly throws away, at most).</param>
/// <param name="KeptEvidence">Kept candidates whose turn is evidence.</param>
public sealed record JunkShare(string Source, int Candidates, int Junk, int Duplicates, int Kept, int Evidence, int RejectedEvidence, int KeptEvidence)
{
    /// <summary>Share of candidates the filter judges junk or duplicate: what a store-everything memory would hold in junk.</summary>
    public double JunkShareOfCandidates => Candidates == 0 ? 0 : (Junk + Duplicates) / (double)Candidates;
}

/// <summary>
/// Measures junk on a real conversation (LoCoMo) without a mind: (1) every raw turn as a candidate memory, as a
/// store-every-message system keeps them; (2) LoCoMo's shipped observations, facts an LLM extracted per session, as
/// a stand-in for an extraction without our filter. For each, the share that <see cref="MemoryJunkFilter"/> judges
/// junk or near-duplicate, and how many rejected candidates are nevertheless evidence for a benchmark question
/// (a check that the filter does not throw away what matters).
/// </summary>
public static class JunkShareBenchmark
{
    public static IReadOnlyList<JunkShare> Run(IReadOnlyList<LocomoSample> samples, double duplicateThreshold = MemoryJunkFilter.DefaultDuplicateThreshold)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var turns = new Accumulator("raw turns");
        var observations = new Accumulator("LLM observations");
        foreach (var sample in samples)
        {
            var evidence = sample.Questions.SelectMany(question => question.Evidence).ToHashSet(StringComparer.Ordinal);
            Measure(turns, sample.Turns.Select(turn => (turn.Text, turn.DialogueId)), evidence, duplicateThreshold);
            Measure(observations, sample.Observations.Select(observation => (observation.Text, observation.DialogueId)), evidence, duplicateThreshold);
        }

        return [turns.ToShare(), observations.ToShare()];
    }

    private static void Measure(Accumulator accumulator, IEnumerable<(string Text, string DialogueId)> candidates, HashSet<string> evidence, double threshold)
    {
        var kept = new List<HashSet<string>>();
        foreach (var (text, dialogueId) in candidates)
        {
            accumulator.Candidates++;
            var isEvidence = evidence.Contains(dialogueId);
            accumulator.Evidence += isEvidence ? 1 : 0;
            var rejected = true;
            if (MemoryJunkFilter.Classify(text) != JunkReason.None)
            {
                accumulator.Junk++;
            }
            else
            {
                var terms = MemoryJunkFilter.ContentTerms(text);
                if (kept.Any(other => MemoryJunkFilter.Similarity(terms, other) >= threshold))
                {
                    accumulator.Duplicates++;
                }
                else
                {
                    kept.Add(terms);
                    accumulator.Kept++;
                    accumulator.KeptEvidence += isEvidence ? 1 : 0;
                    rejected = false;
                }
            }

            if (rejected && isEvidence)
            {
                accumulator.RejectedEvidence++;
            }
        }
    }

    private sealed class Accumulator(string source)
    {
        public int Candidates;
        public int Junk;
        public int Duplicates;
        public int Kept;
        public int Evidence;
        public int RejectedEvidence;
        public int KeptEvidence;

        public JunkShare ToShare() => new(source, Candidates, Junk, Duplicates, Kept, Evidence, RejectedEvidence, KeptEvidence);
    }
}
