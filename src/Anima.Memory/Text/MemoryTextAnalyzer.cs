using System.Globalization;
using System.Text;

namespace Anima.Memory.Text;

/// <summary>
/// Turns text into search terms, the same way for indexing and for queries, in both stores.
/// <list type="bullet">
/// <item>Unicode NFKC, lower case; words are runs of letters and digits, split where Hangul meets another script.</item>
/// <item>English: stop words dropped; irregular verb forms and a few everyday synonyms mapped to one word
/// (went → go, made → make, kids/children → child, mom → mother, pic → photo); then a light stemmer (plural, -ing,
/// -ed, final e, doubled consonant) so that "interviews", "interviewed" and "interviewing" meet "interview".</item>
/// <item>Korean: Korean attaches particles and endings to the word (인터뷰는, 인터뷰가, 이사했어요). Each Hangul
/// word gives the whole word, its stem with the longest known particle or ending removed (인터뷰, 이사), and for
/// stems of three or more syllables the syllable bigrams of the stem (면접준비 → 면접, 접준, 준비) so compounds
/// and unknown endings still meet.</item>
/// </list>
/// Terms are plain letters and digits, safe to quote in an FTS5 query or a PostgreSQL tsquery.
/// </summary>
public static class MemoryTextAnalyzer
{
    /// <summary>Terms longer than this are cut (a pasted hash or URL should not bloat the index).</summary>
    public const int MaxTermLength = 40;

    /// <summary>
    /// The version of the terms this analyzer produces. It changes whenever the same text would give different terms;
    /// the stores record it and re-index every memory on start when the recorded version differs (2: irregular verbs
    /// and everyday synonyms).
    /// </summary>
    public const int Version = 2;

    // Irregular English verb forms the suffix stemmer cannot reach ("when did she go" must meet "she went"), and a few
    // everyday synonyms and short forms of people and things a companion hears about. Mapped before stemming.
    private static readonly Dictionary<string, string> EnglishLemmas = BuildLemmas(
        "went:go gone:go goes:go saw:see seen:see bought:buy made:make took:take taken:take ran:run met:meet gave:give " +
        "given:give felt:feel found:find left:leave thought:think told:tell came:come ate:eat eaten:eat wrote:write " +
        "written:write began:begin begun:begin sang:sing sung:sing lost:lose brought:bring taught:teach caught:catch " +
        "fought:fight sold:sell held:hold kept:keep slept:sleep spent:spend sent:send built:build learnt:learn drove:drive " +
        "driven:drive flew:fly flown:fly grew:grow grown:grow knew:know known:know threw:throw drew:draw drawn:draw " +
        "wore:wear worn:wear chose:choose chosen:choose spoke:speak spoken:speak broke:break broken:break forgot:forget " +
        "forgotten:forget swam:swim swum:swim rode:ride ridden:ride became:become heard:hear paid:pay said:say says:say " +
        "stood:stand understood:understand sat:sit fell:fall fallen:fall lent:lend meant:mean led:lead " +
        "kids:child kid:child children:child mom:mother mum:mother mommy:mother moms:mother dad:father daddy:father " +
        "dads:father pic:photo pics:photo picture:photo pictures:photo photos:photo hubby:husband bf:boyfriend " +
        "gf:girlfriend grandma:grandmother granny:grandmother grandpa:grandfather film:movie films:movie puppy:dog " +
        "puppies:dog kitten:cat kitty:cat bday:birthday vacation:holiday vacations:holiday");

    // Korean everyday synonyms and short forms, added next to the word's own terms.
    private static readonly Dictionary<string, string> KoreanSynonyms = BuildLemmas(
        "엄마:어머니 아빠:아버지 애들:아이 얘들:아이 남친:남자친구 여친:여자친구 할매:할머니 할배:할아버지 생파:생일");

    private static Dictionary<string, string> BuildLemmas(string pairs)
    {
        var lemmas = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = pair.IndexOf(':', StringComparison.Ordinal);
            lemmas.Add(pair[..colon], pair[(colon + 1)..]);
        }

        return lemmas;
    }

    private static readonly HashSet<string> EnglishStopWords = new(StringComparer.Ordinal)
    {
        "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been",
        "before", "being", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "done", "for", "from",
        "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is",
        "it", "its", "just", "me", "my", "myself", "no", "nor", "not", "of", "off", "on", "once", "only", "or", "other",
        "our", "ours", "out", "over", "own", "she", "should", "so", "some", "such", "than", "that", "the", "their",
        "theirs", "them", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until",
        "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will",
        "with", "would", "you", "your", "yours", "yourself", "ll", "re", "ve", "don", "didn", "doesn", "isn", "wasn",
        "won", "im", "let", "lets", "s", "t", "d", "m", "o", "y", "oh", "yeah", "yes", "hey", "hi", "wow", "really",
        "much", "many", "more", "most", "get", "got", "any", "each", "few", "same", "us", "ever", "kind", "thing",
    };

    private static readonly HashSet<string> KoreanStopWords = new(StringComparer.Ordinal)
    {
        "나", "너", "저", "그", "이", "저것", "그것", "이것", "우리", "저희", "제", "내", "네", "뭐", "무엇", "어떻게", "언제",
        "왜", "어디", "누구", "그리고", "그래서", "그런데", "하지만", "근데", "정말", "진짜", "너무", "아주", "좀", "것", "수",
        "때", "거", "게", "건", "걸", "안", "못", "더", "또", "잘", "네요", "응", "어", "아", "음", "있", "없", "하", "되",
    };

    // Longest first within the list is not required: the matcher tries every suffix and keeps the longest match.
    private static readonly string[] KoreanSuffixes =
    [
        // particles (조사)
        "은", "는", "이", "가", "을", "를", "에", "에서", "에게", "한테", "께", "께서", "와", "과", "랑", "이랑", "하고", "도",
        "만", "의", "로", "으로", "까지", "부터", "처럼", "보다", "이나", "나", "에는", "에서는", "에게는", "으로는", "로는",
        "와는", "과는", "이랑은", "에도", "에서도", "으로도", "로도", "만큼", "마다", "조차", "밖에", "이라도", "라도", "이든", "든",
        "이라고", "라고", "이라는", "라는", "이란", "란", "이야", "야", "이에요", "예요", "이었어요", "였어요", "이었다", "였다",
        "인데", "이고", "이지만", "이니까", "이랑도", "한테서", "에게서", "께는",
        // verb and adjective endings (어미), commonest first-person and polite forms
        "했어요", "했어", "했다", "했고", "했는데", "했지만", "했습니다", "했죠", "했을", "했던", "해요", "해서", "하다", "하는",
        "하고", "하게", "하기", "하면", "하니까", "합니다", "할", "한", "해", "했", "하려고", "할게요", "할거야", "할래요",
        "됐어요", "됐어", "됐다", "돼요", "되다", "되는", "된", "될", "되어", "되었다", "되었어요",
        "었어요", "았어요", "였어요", "었어", "았어", "었다", "았다", "었고", "았고", "었는데", "았는데", "어요", "아요",
        "습니다", "ㅂ니다", "니다", "는데", "은데", "지만", "고요", "네요", "군요", "죠", "지요", "겠어요", "겠다", "려고",
        "으려고", "러", "으러", "면서", "으면서", "니까", "으니까", "어서", "아서", "면", "으면", "기로", "기도", "는지",
        "은지", "을지", "거든요", "거든", "잖아요", "잖아", "더라고요", "더라", "대요", "래요", "답니다", "세요", "으세요",
        "셨어요", "으셨어요", "시다", "ㄹ게요", "을게요", "게요",
    ];

    private static readonly int MaxSuffixLength = KoreanSuffixes.Max(suffix => suffix.Length);
    private static readonly HashSet<string> KoreanSuffixSet = new(KoreanSuffixes, StringComparer.Ordinal);

    /// <summary>The search terms of <paramref name="text"/> in order; with <paramref name="distinct"/> each once
    /// (queries), otherwise every occurrence (indexing, so BM25 sees term frequency).</summary>
    public static IReadOnlyList<string> Analyze(string? text, bool distinct = true)
    {
        var terms = new List<string>();
        if (string.IsNullOrWhiteSpace(text))
        {
            return terms;
        }

        var seen = distinct ? new HashSet<string>(StringComparer.Ordinal) : null;
        foreach (var word in Words(text))
        {
            if (IsHangul(word[0]))
            {
                AddKorean(word, terms, seen);
            }
            else
            {
                AddOther(word, terms, seen);
            }
        }

        return terms;
    }

    /// <summary>The terms of <paramref name="text"/> joined by spaces: what the stores put in their full-text columns.</summary>
    public static string ToIndexText(string? text) => string.Join(' ', Analyze(text, distinct: false));

    /// <summary>The words of <paramref name="text"/>: lower-case runs of letters and digits, Hangul split from other scripts.</summary>
    public static IEnumerable<string> Words(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var normalized = text.IsNormalized(NormalizationForm.FormKC) ? text : text.Normalize(NormalizationForm.FormKC);
        var builder = new StringBuilder();
        var builderIsHangul = false;
        foreach (var rune in normalized.EnumerateRunes())
        {
            if (Rune.IsLetterOrDigit(rune))
            {
                var hangul = rune.IsBmp && IsHangul((char)rune.Value);
                if (builder.Length > 0 && hangul != builderIsHangul)
                {
                    yield return Flush(builder);
                }

                builderIsHangul = hangul;
                var lower = Rune.ToLowerInvariant(rune);
                if (lower.IsBmp)
                {
                    builder.Append((char)lower.Value);
                }
                else
                {
                    builder.Append(char.ConvertFromUtf32(lower.Value));
                }
            }
            else if (builder.Length > 0)
            {
                yield return Flush(builder);
            }
        }

        if (builder.Length > 0)
        {
            yield return Flush(builder);
        }
    }

    private static string Flush(StringBuilder builder)
    {
        var word = builder.ToString();
        builder.Clear();
        return word;
    }

    private static void AddOther(string word, List<string> terms, HashSet<string>? seen)
    {
        if (word.Length == 0 || EnglishStopWords.Contains(word))
        {
            return;
        }

        var term = IsAsciiLetters(word) ? StemEnglish(EnglishLemmas.GetValueOrDefault(word, word)) : word;
        if (term.Length == 1 && !char.IsDigit(term[0]) && term[0] < 0x80)
        {
            return;
        }

        Add(term, terms, seen);
    }

    private static void AddKorean(string word, List<string> terms, HashSet<string>? seen)
    {
        var stem = KoreanStem(word);
        if (!KoreanStopWords.Contains(word) && !KoreanSuffixSet.Contains(word))
        {
            Add(word, terms, seen);
        }

        if (stem.Length == 0 || KoreanStopWords.Contains(stem))
        {
            return;
        }

        if (!string.Equals(stem, word, StringComparison.Ordinal) || KoreanStopWords.Contains(word))
        {
            Add(stem, terms, seen);
        }

        if (KoreanSynonyms.TryGetValue(stem, out var synonym) || KoreanSynonyms.TryGetValue(word, out synonym))
        {
            Add(synonym, terms, seen);
        }

        if (stem.Length >= 3)
        {
            for (var index = 0; index + 1 < stem.Length; index++)
            {
                Add(stem.Substring(index, 2), terms, seen);
            }
        }
    }

    /// <summary>The word with its longest known particle or ending removed, leaving at least two syllables
    /// (one syllable when the suffix is two or more syllables long), or the word itself.</summary>
    public static string KoreanStem(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        for (var length = Math.Min(MaxSuffixLength, word.Length - 1); length >= 1; length--)
        {
            var remaining = word.Length - length;
            if (remaining < (length == 1 ? 2 : 1))
            {
                continue;
            }

            if (KoreanSuffixSet.Contains(word[remaining..]))
            {
                return word[..remaining];
            }
        }

        return word;
    }

    /// <summary>A light English stemmer: enough to meet plural and tense forms, applied to index and query alike.</summary>
    public static string StemEnglish(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        var stem = word;
        if (stem.Length > 4 && stem.EndsWith("ies", StringComparison.Ordinal))
        {
            stem = stem[..^3] + "y";
        }
        else if (stem.Length > 4 && stem.EndsWith("ied", StringComparison.Ordinal))
        {
            stem = stem[..^3] + "y";
        }
        else if (stem.Length > 4 && stem.EndsWith("sses", StringComparison.Ordinal))
        {
            stem = stem[..^2];
        }
        else if (stem.Length > 5 && stem.EndsWith("ing", StringComparison.Ordinal))
        {
            stem = Undouble(stem[..^3]);
        }
        else if (stem.Length > 4 && stem.EndsWith("ed", StringComparison.Ordinal) && !stem.EndsWith("eed", StringComparison.Ordinal))
        {
            stem = Undouble(stem[..^2]);
        }
        else if (stem.Length > 3 && stem.EndsWith('s') && !stem.EndsWith("ss", StringComparison.Ordinal)
            && !stem.EndsWith("us", StringComparison.Ordinal) && !stem.EndsWith("is", StringComparison.Ordinal))
        {
            stem = stem.EndsWith("es", StringComparison.Ordinal) && stem.Length > 4 && IsSibilantBefore(stem) ? stem[..^2] : stem[..^1];
        }

        if (stem.Length > 3 && stem[^1] == 'e')
        {
            stem = stem[..^1];
        }

        return stem.Length > MaxTermLength ? stem[..MaxTermLength] : stem;
    }

    private static bool IsSibilantBefore(string word)
    {
        // "boxes", "wishes", "churches", "buses" lose "es"; "games", "hikes" lose only "s".
        var before = word[..^2];
        return before.EndsWith('x') || before.EndsWith("sh", StringComparison.Ordinal) || before.EndsWith("ch", StringComparison.Ordinal)
            || before.EndsWith('s') || before.EndsWith('z');
    }

    private static string Undouble(string stem)
    {
        if (stem.Length >= 3 && stem[^1] == stem[^2] && stem[^1] is not ('l' or 's' or 'z' or 'e' or 'o') && !IsVowel(stem[^1]))
        {
            return stem[..^1];
        }

        return stem;
    }

    private static bool IsVowel(char letter) => letter is 'a' or 'e' or 'i' or 'o' or 'u';

    private static bool IsAsciiLetters(string word)
    {
        foreach (var letter in word)
        {
            if (letter is < 'a' or > 'z')
            {
                return false;
            }
        }

        return true;
    }

    private static void Add(string term, List<string> terms, HashSet<string>? seen)
    {
        if (term.Length > MaxTermLength)
        {
            term = term[..MaxTermLength];
        }

        if (seen is null || seen.Add(term))
        {
            terms.Add(term);
        }
    }

    /// <summary>Whether <paramref name="letter"/> is a Hangul syllable or jamo.</summary>
    public static bool IsHangul(char letter) =>
        letter is >= '\uAC00' and <= '\uD7A3' or >= '\u1100' and <= '\u11FF' or >= '\u3130' and <= '\u318F';

    /// <summary>Whether <paramref name="text"/> holds any Hangul.</summary>
    public static bool ContainsHangul(string? text)
    {
        foreach (var letter in text ?? string.Empty)
        {
            if (IsHangul(letter))
            {
                return true;
            }
        }

        return false;
    }
}
