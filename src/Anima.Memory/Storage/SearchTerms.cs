using Anima.Memory.Text;

namespace Anima.Memory.Storage;

/// <summary>The terms a store searches for: the analysed query, capped so a pasted essay cannot make a slow query.</summary>
public static class SearchTerms
{
    /// <summary>The most terms one query uses (the first ones, in order of appearance).</summary>
    public const int MaxQueryTerms = 48;

    public static IReadOnlyList<string> FromQuery(string? text)
    {
        var terms = MemoryTextAnalyzer.Analyze(text);
        return terms.Count <= MaxQueryTerms ? terms : terms.Take(MaxQueryTerms).ToArray();
    }
}
