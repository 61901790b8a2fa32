using System.Security.Cryptography;
using System.Text;
using Anima.Memory.Text;

namespace Anima.Memory.Storage;

/// <summary>
/// The lexical search both stores share, so that the same <see cref="Recall.MemoryRecall"/> ranks the same way on
/// SQLite and PostgreSQL: per-user index terms, the split of a query's terms into rare terms (whose postings are
/// ranked) and common terms (whose newest memories fill in), and exact <see cref="Bm25"/> scoring of the candidates
/// with the user's own statistics.
/// </summary>
public static class LexicalSearch
{
    /// <summary>Postings a store may rank per query: the query's rarest terms are taken while their document
    /// frequencies add up to at most this (see <see cref="SqliteMemoryStore.SearchAsync"/>).</summary>
    public const int RankedPostingBudget = 300;

    /// <summary>The newest memories holding only common terms that are added as candidates when the rare terms found too few.</summary>
    public const int CommonTermCandidates = 60;

    /// <summary>The length of <see cref="UserPrefix"/>.</summary>
    public const int UserPrefixLength = 13;

    /// <summary>
    /// The prefix of a user's terms in an index ("u" and 12 hex digits of SHA-256 of the user id): every term is
    /// indexed as prefix+term, so each user has their own postings lists and a search reads only the user's postings.
    /// A prefix collision between two users costs only accuracy of statistics: rows are still checked by user id.
    /// </summary>
    public static string UserPrefix(string userId)
    {
        ArgumentNullException.ThrowIfNull(userId);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(userId), hash);
        return "u" + Convert.ToHexStringLower(hash[..6]);
    }

    /// <summary>
    /// Splits the query terms found in the user's memories (<paramref name="frequencies"/> &gt; 0) into the rare ones,
    /// rarest first while their document frequencies add up to at most <see cref="RankedPostingBudget"/>, and the rest.
    /// Ties keep the query's order.
    /// </summary>
    public static (List<string> Present, List<string> Rare, List<string> Common) Split(IReadOnlyList<string> terms, IReadOnlyDictionary<string, long> frequencies)
    {
        ArgumentNullException.ThrowIfNull(terms);
        ArgumentNullException.ThrowIfNull(frequencies);
        var present = terms.Where(term => frequencies.GetValueOrDefault(term) > 0).OrderBy(term => frequencies[term]).ToList();
        var rare = new List<string>();
        long postings = 0;
        foreach (var term in present)
        {
            if (postings + frequencies[term] > RankedPostingBudget)
            {
                break;
            }

            rare.Add(term);
            postings += frequencies[term];
        }

        return (present, rare, present.Skip(rare.Count).ToList());
    }

    /// <summary>The inverse document frequencies of the <paramref name="present"/> terms among the user's <paramref name="documentCount"/> memories.</summary>
    public static Dictionary<string, double> InverseDocumentFrequencies(IEnumerable<string> present, IReadOnlyDictionary<string, long> frequencies, long documentCount) =>
        present.ToDictionary(term => term, term => Bm25.InverseDocumentFrequency(frequencies[term], documentCount), StringComparer.Ordinal);

    /// <summary>The BM25 score of one memory's text and search context.</summary>
    public static double Score(IReadOnlyDictionary<string, double> inverseDocumentFrequencies, string text, string? searchContext, double averageLength) =>
        Bm25.Score(inverseDocumentFrequencies, MemoryTextAnalyzer.Analyze(text, distinct: false), MemoryTextAnalyzer.Analyze(searchContext, distinct: false), averageLength);

    /// <summary>The order of search hits: higher score first, then newer first.</summary>
    public static int CompareHits(double leftScore, DateTimeOffset leftCreated, double rightScore, DateTimeOffset rightCreated) =>
        rightScore.CompareTo(leftScore) is var order && order != 0 ? order : rightCreated.CompareTo(leftCreated);
}
