using Anima.Memory.Text;

namespace Anima.Memory.Recall;

/// <summary>
/// Question-word handling for time, in English and Korean: a question that asks when ("when did we…", "what day…",
/// "how long ago…", "언제…", "며칠…", "몇 월…") is best answered by a memory that says when ("yesterday", "last week",
/// "in May", "3월", "지난 주말", a year). The question words themselves are stop words and never reach the full-text
/// search; this lets recall favour the candidates that can answer.
/// </summary>
public static class TimeQuestions
{
    private static readonly string[] EnglishOpenings = ["what day", "what date", "what time", "what year", "what month", "which day", "which year", "which month", "how long ago", "since when"];

    private static readonly string[] KoreanQuestionWords = ["언제", "며칠", "몇시", "몇 시", "몇월", "몇 월", "몇년", "몇 년", "무슨 요일", "무슨요일", "얼마나 오래", "얼마 전"];

    // Analysed (stemmed) forms, so they compare with MemoryTextAnalyzer's terms.
    private static readonly HashSet<string> EnglishTimeTerms = new(
        MemoryTextAnalyzer.Analyze(
            "yesterday today tonight tomorrow last next ago week weekend weekends month months year years morning evening night " +
            "monday tuesday wednesday thursday friday saturday sunday january february march april may june july august " +
            "september october november december recently soon since lately earlier later"),
        StringComparer.Ordinal);

    private static readonly string[] KoreanTimeWords =
    [
        "어제", "그제", "그저께", "오늘", "내일", "모레", "지난", "다음", "작년", "올해", "내년", "재작년", "주말", "아침", "저녁", "밤",
        "요일", "방금", "최근", "요즘", "예전", "전에", "후에", "동안", "지난주", "다음주", "이번주", "지난달", "다음달", "이번달",
    ];

    /// <summary>Whether <paramref name="question"/> asks when something happened (or how long ago).</summary>
    public static bool AsksWhen(string? question)
    {
        if (string.IsNullOrWhiteSpace(question))
        {
            return false;
        }

        var text = question.Trim().ToLowerInvariant();
        foreach (var word in MemoryTextAnalyzer.Words(text))
        {
            // "when" anywhere but as the opening of a clause after the question ("tell me when…" still asks when).
            if (word is "when")
            {
                return true;
            }
        }

        foreach (var opening in EnglishOpenings)
        {
            if (text.Contains(opening, StringComparison.Ordinal))
            {
                return true;
            }
        }

        foreach (var word in KoreanQuestionWords)
        {
            if (text.Contains(word, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether <paramref name="text"/> says when: a time word, a weekday or month, a year or a Korean date unit.</summary>
    public static bool MentionsTime(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        foreach (var word in MemoryTextAnalyzer.Words(text))
        {
            if (MemoryTextAnalyzer.IsHangul(word[0]))
            {
                foreach (var timeWord in KoreanTimeWords)
                {
                    if (word.StartsWith(timeWord, StringComparison.Ordinal))
                    {
                        return true;
                    }
                }

                continue;
            }

            if (IsYear(word) || EnglishTimeTerms.Contains(MemoryTextAnalyzer.StemEnglish(word)))
            {
                return true;
            }
        }

        // Korean dates: a number followed by 년, 월 or 일 ("3월 5일", "2023년"); Words splits digits from Hangul.
        var previousWasNumber = false;
        foreach (var word in MemoryTextAnalyzer.Words(text))
        {
            if (previousWasNumber && word[0] is '년' or '월' or '일' or '주')
            {
                return true;
            }

            previousWasNumber = char.IsAsciiDigit(word[^1]);
        }

        return false;
    }

    private static bool IsYear(string word) =>
        word.Length == 4 && char.IsAsciiDigit(word[0]) && int.TryParse(word, out var year) && year is >= 1900 and <= 2199;
}
