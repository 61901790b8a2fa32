using System.Globalization;
using System.Text.RegularExpressions;

namespace Anima.Memory.Text;

/// <summary>
/// Resolves the relative dates of a turn ("yesterday", "last Friday", "two weeks ago", "지난주", "3일 전") against the
/// moment it was said, so a memory can be found by the date it talks about ("what did she do on 7 May?") long after
/// "yesterday" stopped meaning anything. English and Korean. The result is words for the search index, not a claim
/// shown to anyone: a week or a month is written as the month (and year) it falls in.
/// </summary>
public static partial class RelativeDates
{
    private static readonly string[] Weekdays = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
    private static readonly string[] KoreanWeekdays = ["일요일", "월요일", "화요일", "수요일", "목요일", "금요일", "토요일"];

    /// <summary>
    /// The absolute dates that <paramref name="text"/>, said at <paramref name="said"/> (its own calendar day), refers
    /// to, each once, as index words: a day as "7 May 2023" (and "2023년 5월 7일" when <paramref name="korean"/>), a
    /// week or month as "May 2023", a year as "2022". Empty when the text names no relative date.
    /// </summary>
    public static IReadOnlyList<string> Resolve(string? text, DateTimeOffset said, bool korean = false)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }

        var lower = text.ToLowerInvariant();
        var today = DateOnly.FromDateTime(said.DateTime);
        var found = new List<string>();

        void Day(DateOnly day)
        {
            Add(found, day.ToString("d MMMM yyyy", CultureInfo.InvariantCulture));
            if (korean)
            {
                Add(found, string.Create(CultureInfo.InvariantCulture, $"{day.Year}년 {day.Month}월 {day.Day}일"));
            }
        }

        void Month(DateOnly day)
        {
            Add(found, day.ToString("MMMM yyyy", CultureInfo.InvariantCulture));
            if (korean)
            {
                Add(found, string.Create(CultureInfo.InvariantCulture, $"{day.Year}년 {day.Month}월"));
            }
        }

        void Year(int year) => Add(found, year.ToString(CultureInfo.InvariantCulture));

        // English.
        if (EnglishWord("yesterday").IsMatch(lower) || EnglishWord("last night").IsMatch(lower))
        {
            Day(today.AddDays(-1));
        }

        if (EnglishWord("today").IsMatch(lower) || EnglishWord("tonight").IsMatch(lower) || EnglishWord("this morning").IsMatch(lower))
        {
            Day(today);
        }

        if (EnglishWord("tomorrow").IsMatch(lower))
        {
            Day(today.AddDays(1));
        }

        if (EnglishWord("the day before yesterday").IsMatch(lower))
        {
            Day(today.AddDays(-2));
        }

        foreach (Match match in EnglishWeekday().Matches(lower))
        {
            var weekday = Array.IndexOf(Weekdays, match.Groups["day"].Value);
            var back = ((int)today.DayOfWeek - weekday + 7) % 7;
            Day(match.Groups["which"].Value is "last" or "this past"
                ? today.AddDays(back == 0 ? -7 : -back)
                : today.AddDays(((weekday - (int)today.DayOfWeek + 7) % 7) is var ahead && ahead == 0 ? 7 : ahead));
        }

        foreach (Match match in EnglishAgo().Matches(lower))
        {
            var count = Number(match.Groups["count"].Value);
            if (count is null or > 60)
            {
                continue;
            }

            switch (match.Groups["unit"].Value.TrimEnd('s'))
            {
                case "day":
                    Day(today.AddDays(-count.Value));
                    break;
                case "week":
                    Month(today.AddDays(-7 * count.Value));
                    break;
                case "month":
                    Month(today.AddMonths(-count.Value));
                    break;
                case "year":
                    Year(today.Year - count.Value);
                    break;
            }
        }

        if (EnglishWord("last week").IsMatch(lower) || EnglishWord("last weekend").IsMatch(lower))
        {
            Month(today.AddDays(-7));
        }

        if (EnglishWord("next week").IsMatch(lower) || EnglishWord("next weekend").IsMatch(lower))
        {
            Month(today.AddDays(7));
        }

        if (EnglishWord("last month").IsMatch(lower))
        {
            Month(today.AddMonths(-1));
        }

        if (EnglishWord("next month").IsMatch(lower))
        {
            Month(today.AddMonths(1));
        }

        if (EnglishWord("last year").IsMatch(lower))
        {
            Year(today.Year - 1);
        }

        if (EnglishWord("next year").IsMatch(lower))
        {
            Year(today.Year + 1);
        }

        // Korean (words are written without particles here; "어제는", "지난주에" still contain them).
        if (lower.Contains("그저께", StringComparison.Ordinal) || lower.Contains("그제", StringComparison.Ordinal))
        {
            Day(today.AddDays(-2));
        }
        else if (lower.Contains("어제", StringComparison.Ordinal) || lower.Contains("어젯밤", StringComparison.Ordinal))
        {
            Day(today.AddDays(-1));
        }

        if (lower.Contains("오늘", StringComparison.Ordinal))
        {
            Day(today);
        }

        if (lower.Contains("모레", StringComparison.Ordinal))
        {
            Day(today.AddDays(2));
        }
        else if (lower.Contains("내일", StringComparison.Ordinal))
        {
            Day(today.AddDays(1));
        }

        foreach (Match match in KoreanWeekday().Matches(lower))
        {
            var weekday = Array.IndexOf(KoreanWeekdays, match.Groups["day"].Value);
            var back = ((int)today.DayOfWeek - weekday + 7) % 7;
            var ahead = (weekday - (int)today.DayOfWeek + 7) % 7;
            Day(match.Groups["which"].Value is "지난" or "저번" ? today.AddDays(back == 0 ? -7 : -back) : today.AddDays(ahead == 0 ? 7 : ahead));
        }

        foreach (Match match in KoreanAgo().Matches(lower))
        {
            var count = int.Parse(match.Groups["count"].Value, CultureInfo.InvariantCulture);
            if (count > 60)
            {
                continue;
            }

            switch (match.Groups["unit"].Value)
            {
                case "일":
                    Day(today.AddDays(-count));
                    break;
                case "주":
                    Month(today.AddDays(-7 * count));
                    break;
                case "달" or "개월":
                    Month(today.AddMonths(-count));
                    break;
                case "년":
                    Year(today.Year - count);
                    break;
            }
        }

        if (KoreanPhrase("지난", "주").IsMatch(lower) || lower.Contains("저번 주", StringComparison.Ordinal) || lower.Contains("저번주", StringComparison.Ordinal))
        {
            Month(today.AddDays(-7));
        }

        if (KoreanPhrase("다음", "주").IsMatch(lower))
        {
            Month(today.AddDays(7));
        }

        if (KoreanPhrase("지난", "달").IsMatch(lower) || lower.Contains("저번 달", StringComparison.Ordinal) || lower.Contains("저번달", StringComparison.Ordinal))
        {
            Month(today.AddMonths(-1));
        }

        if (KoreanPhrase("다음", "달").IsMatch(lower))
        {
            Month(today.AddMonths(1));
        }

        if (lower.Contains("작년", StringComparison.Ordinal) || KoreanPhrase("지난", "해").IsMatch(lower))
        {
            Year(today.Year - 1);
        }

        if (lower.Contains("내년", StringComparison.Ordinal))
        {
            Year(today.Year + 1);
        }

        return found;
    }

    private static void Add(List<string> found, string words)
    {
        if (!found.Contains(words, StringComparer.Ordinal))
        {
            found.Add(words);
        }
    }

    private static int? Number(string word) => word switch
    {
        "a" or "an" or "one" => 1,
        "two" or "a couple of" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        _ => int.TryParse(word, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null,
    };

    private static Regex EnglishWord(string phrase) => phrase switch
    {
        "yesterday" => Yesterday(),
        "last night" => LastNight(),
        "today" => Today(),
        "tonight" => Tonight(),
        "this morning" => ThisMorning(),
        "tomorrow" => Tomorrow(),
        "the day before yesterday" => DayBeforeYesterday(),
        "last week" => LastWeek(),
        "last weekend" => LastWeekend(),
        "next week" => NextWeek(),
        "next weekend" => NextWeekend(),
        "last month" => LastMonth(),
        "next month" => NextMonth(),
        "last year" => LastYear(),
        "next year" => NextYear(),
        _ => throw new ArgumentOutOfRangeException(nameof(phrase), phrase, "Unknown phrase."),
    };

    private static Regex KoreanPhrase(string first, string second) => (first, second) switch
    {
        ("지난", "주") => KoreanLastWeek(),
        ("다음", "주") => KoreanNextWeek(),
        ("지난", "달") => KoreanLastMonth(),
        ("다음", "달") => KoreanNextMonth(),
        ("지난", "해") => KoreanLastYear(),
        _ => throw new ArgumentOutOfRangeException(nameof(first), first + second, "Unknown phrase."),
    };

    [GeneratedRegex(@"\byesterday\b")]
    private static partial Regex Yesterday();

    [GeneratedRegex(@"\blast night\b")]
    private static partial Regex LastNight();

    [GeneratedRegex(@"\btoday\b")]
    private static partial Regex Today();

    [GeneratedRegex(@"\btonight\b")]
    private static partial Regex Tonight();

    [GeneratedRegex(@"\bthis morning\b")]
    private static partial Regex ThisMorning();

    [GeneratedRegex(@"\btomorrow\b")]
    private static partial Regex Tomorrow();

    [GeneratedRegex(@"\bthe day before yesterday\b")]
    private static partial Regex DayBeforeYesterday();

    [GeneratedRegex(@"\blast week\b")]
    private static partial Regex LastWeek();

    [GeneratedRegex(@"\blast weekend\b")]
    private static partial Regex LastWeekend();

    [GeneratedRegex(@"\bnext week\b")]
    private static partial Regex NextWeek();

    [GeneratedRegex(@"\bnext weekend\b")]
    private static partial Regex NextWeekend();

    [GeneratedRegex(@"\blast month\b")]
    private static partial Regex LastMonth();

    [GeneratedRegex(@"\bnext month\b")]
    private static partial Regex NextMonth();

    [GeneratedRegex(@"\blast year\b")]
    private static partial Regex LastYear();

    [GeneratedRegex(@"\bnext year\b")]
    private static partial Regex NextYear();

    [GeneratedRegex(@"\b(?<which>last|next|this past|this coming) (?<day>sunday|monday|tuesday|wednesday|thursday|friday|saturday)\b")]
    private static partial Regex EnglishWeekday();

    [GeneratedRegex(@"\b(?<count>\d{1,2}|a couple of|an|a|one|two|three|four|five|six|seven|eight|nine|ten) (?<unit>days?|weeks?|months?|years?) ago\b")]
    private static partial Regex EnglishAgo();

    [GeneratedRegex(@"(?<which>지난|다음|저번)\s*주?\s*(?<day>[일월화수목금토]요일)")]
    private static partial Regex KoreanWeekday();

    [GeneratedRegex(@"(?<count>\d{1,2})\s*(?<unit>일|주|달|개월|년)\s*전")]
    private static partial Regex KoreanAgo();

    [GeneratedRegex(@"지난\s*주")]
    private static partial Regex KoreanLastWeek();

    [GeneratedRegex(@"다음\s*주")]
    private static partial Regex KoreanNextWeek();

    [GeneratedRegex(@"지난\s*달")]
    private static partial Regex KoreanLastMonth();

    [GeneratedRegex(@"다음\s*달")]
    private static partial Regex KoreanNextMonth();

    [GeneratedRegex(@"지난\s*해")]
    private static partial Regex KoreanLastYear();
}
