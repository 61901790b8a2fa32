namespace Anima.Memory.Text;

/// <summary>
/// Okapi BM25 over two fields (BM25F-style): a memory's own text and its hidden search context, the context's term
/// frequencies and length counted at <see cref="ContextWeight"/>. Scores are positive, higher is better.
/// <c>idf = ln(1 + (N − df + 0.5) / (df + 0.5))</c>, <c>score = Σ idf · tf·(k1+1) / (tf + k1·(1 − b + b·len/avgLen))</c>.
/// </summary>
public static class Bm25
{
    public const double K1 = 1.2;
    public const double B = 0.75;

    /// <summary>How much a word of the search context counts against a word of the memory itself.</summary>
    public const double ContextWeight = 0.5;

    /// <summary>The inverse document frequency of a term found in <paramref name="documentFrequency"/> of <paramref name="documentCount"/> documents.</summary>
    public static double InverseDocumentFrequency(long documentFrequency, long documentCount)
    {
        var count = Math.Max(documentCount, documentFrequency);
        return Math.Log(1 + (count - documentFrequency + 0.5) / (documentFrequency + 0.5));
    }

    /// <summary>The weighted length of a document: its text terms plus its context terms at <see cref="ContextWeight"/>.</summary>
    public static double Length(int textTerms, int contextTerms) => textTerms + ContextWeight * contextTerms;

    /// <summary>
    /// The BM25 score of one document for the query terms in <paramref name="inverseDocumentFrequencies"/>.
    /// </summary>
    /// <param name="textTerms">The analysed terms of the memory's text, every occurrence.</param>
    /// <param name="contextTerms">The analysed terms of its search context, every occurrence.</param>
    /// <param name="averageLength">The average <see cref="Length"/> over the collection (positive).</param>
    public static double Score(IReadOnlyDictionary<string, double> inverseDocumentFrequencies, IReadOnlyList<string> textTerms, IReadOnlyList<string> contextTerms, double averageLength)
    {
        ArgumentNullException.ThrowIfNull(inverseDocumentFrequencies);
        ArgumentNullException.ThrowIfNull(textTerms);
        ArgumentNullException.ThrowIfNull(contextTerms);
        var frequencies = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var term in textTerms)
        {
            if (inverseDocumentFrequencies.ContainsKey(term))
            {
                frequencies[term] = frequencies.GetValueOrDefault(term) + 1;
            }
        }

        foreach (var term in contextTerms)
        {
            if (inverseDocumentFrequencies.ContainsKey(term))
            {
                frequencies[term] = frequencies.GetValueOrDefault(term) + ContextWeight;
            }
        }

        var length = Length(textTerms.Count, contextTerms.Count);
        var normalizer = K1 * (1 - B + B * length / Math.Max(averageLength, 1e-9));
        var score = 0.0;
        foreach (var (term, frequency) in frequencies)
        {
            score += inverseDocumentFrequencies[term] * frequency * (K1 + 1) / (frequency + normalizer);
        }

        return score;
    }
}
