using System.Text.RegularExpressions;
using Anima.Memory.Text;

namespace Anima.Memory.Consolidation;

/// <summary>Why a candidate memory is not worth keeping.</summary>
public enum JunkReason
{
    None = 0,

    /// <summary>Fewer than <see cref="MemoryJunkFilter.MinimumContentTerms"/> content words: nothing to remember.</summary>
    TooShort,

    /// <summary>A greeting, thanks, farewell or laughter ("hi!", "thanks so much", "ㅋㅋㅋ", "안녕").</summary>
    Pleasantry,

    /// <summary>Says the same as a memory already kept (normalised term overlap ≥ the duplicate threshold).</summary>
    Duplicate,

    /// <summary>About the conversation or the assistant itself rather than the user's life ("the user asked a question").</summary>
    MetaTalk,
}

/// <summary>
/// The quality gate for extracted memories: what a thoughtful friend would not bother to remember. Used by the
/// consolidator on the mind's output and, without a mind, to measure how much of a raw conversation is junk.
/// </summary>
public static partial class MemoryJunkFilter
{
    /// <summary>A memory needs at least this many analysed content terms (Korean stems count once).</summary>
    public const int MinimumContentTerms = 2;

    /// <summary>Default threshold of <see cref="Similarity"/> above which two memories say the same thing.</summary>
    public const double DefaultDuplicateThreshold = 0.7;

    /// <summary>Why <paramref name="text"/> is junk on its own (not counting duplicates), or <see cref="JunkReason.None"/>.</summary>
    public static JunkReason Classify(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        if (Pleasantry().IsMatch(trimmed))
        {
            return JunkReason.Pleasantry;
        }

        if (MetaTalk().IsMatch(trimmed))
        {
            return JunkReason.MetaTalk;
        }

        return ContentTerms(trimmed).Count < MinimumContentTerms ? JunkReason.TooShort : JunkReason.None;
    }

    /// <summary>
    /// How much two texts say the same: the overlap coefficient of their content-term sets (shared terms over the
    /// smaller set; Korean bigrams excluded so particles and compounds do not inflate it), 0..1.
    /// </summary>
    public static double Similarity(string left, string right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        var a = ContentTerms(left);
        var b = ContentTerms(right);
        if (a.Count == 0 || b.Count == 0)
        {
            return string.Equals(left.Trim(), right.Trim(), StringComparison.OrdinalIgnoreCase) ? 1 : 0;
        }

        return Similarity(a, b);
    }

    /// <summary><see cref="Similarity(string, string)"/> of two precomputed <see cref="ContentTerms"/> sets.</summary>
    public static double Similarity(IReadOnlySet<string> left, IReadOnlySet<string> right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        if (left.Count == 0 || right.Count == 0)
        {
            return 0;
        }

        var shared = left.Count(right.Contains);
        // Overlap over the larger set (not the smaller): "Lives in Busan" must not swallow "Lives in Busan with her sister Minji".
        return shared / (double)Math.Max(left.Count, right.Count);
    }

    /// <summary>The content terms of <paramref name="text"/>: analysed words and Korean stems, without syllable bigrams.</summary>
    public static HashSet<string> ContentTerms(string text)
    {
        var terms = new HashSet<string>(StringComparer.Ordinal);
        foreach (var word in MemoryTextAnalyzer.Words(text))
        {
            if (MemoryTextAnalyzer.IsHangul(word[0]))
            {
                var stem = MemoryTextAnalyzer.KoreanStem(word);
                if (MemoryTextAnalyzer.Analyze(stem).Count > 0)
                {
                    terms.Add(stem);
                }
            }
            else
            {
                foreach (var term in MemoryTextAnalyzer.Analyze(word))
                {
                    terms.Add(term);
                }
            }
        }

        return terms;
    }

    [GeneratedRegex(@"^(hi|hey|hello|yo|bye|goodbye|good (morning|night|evening|afternoon)|see (you|ya)( later| soon)?|thanks?( you)?( so much| a lot)?|thank you( so much)?|ok(ay)?|sure|cool|nice|wow|great|awesome|lol|haha+|hmm+|yes|yeah|yep|no|nope|take care|you too|me too|same here|sounds good|that's (great|awesome|amazing|cool|nice)|안녕(하세요)?|고마워(요)?|감사합니다|감사해요|잘 ?자|잘 ?가|응|어|네|아니|좋아(요)?|그래(요)?|ㅋ+|ㅎ+|ㅠ+|ㅜ+)[\s!.?~,:)(^♥❤️😊😂👍]*$",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Pleasantry();

    [GeneratedRegex(@"^(the )?(user|assistant|ai|companion|사용자|어시스턴트)\s+(asked|said|says|greeted|thanked|wants to know|is chatting|is talking|started|ended|질문|인사)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex MetaTalk();
}
