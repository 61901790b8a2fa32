using System.Runtime.CompilerServices;
using System.Text;

namespace Anima.Voice.Synthesis;

/// <summary>
/// Cuts streamed reply text into sentences as soon as each one is complete, so the first sentence can be spoken
/// while the rest is still being written. A sentence ends at . ! ? … (and their full-width forms 。！？) followed by
/// whitespace, at a line break, or at a Korean final ending "다." / "요." even when the next sentence follows
/// without a space. Closing quotes and brackets stay with their sentence; decimal numbers and common English
/// abbreviations ("Mr.", "e.g.") do not end one. A run longer than <see cref="MaximumSentenceLength"/> is cut at
/// its last comma or space so a run-on reply still starts playing early. With <see cref="FirstClauseMinimumLength"/>
/// set, the first piece of a reply may also end at a clause break (, ; : or a dash, followed by whitespace) once it
/// is that long, so speech starts before the whole first sentence has been written.
/// </summary>
public sealed class SentenceSplitter
{
    /// <summary>Sentences longer than this many characters are cut at a comma or space.</summary>
    public const int MaximumSentenceLength = 220;

    private static readonly HashSet<string> Abbreviations = new(StringComparer.OrdinalIgnoreCase)
    {
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "a.m", "p.m", "approx",
    };

    /// <summary>The shortest first clause spoken on its own (about three words): shorter ones wait for the sentence.</summary>
    public const int DefaultFirstClauseMinimumLength = 16;

    private readonly StringBuilder _pending = new();
    private bool _tookAny;

    /// <summary>When set, the first piece may end at a clause break once it has at least this many characters; null: sentences only.</summary>
    public int? FirstClauseMinimumLength { get; init; }

    /// <summary>Adds streamed text and returns the sentences it completes (often none).</summary>
    public IReadOnlyList<string> Append(string delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        _pending.Append(delta);
        var sentences = new List<string>();
        while (TryTakeSentence(final: false) is { } sentence)
        {
            sentences.Add(sentence);
        }

        return sentences;
    }

    /// <summary>Ends the stream: the remaining text as a last sentence, or null when only whitespace is left.</summary>
    public string? Complete()
    {
        var rest = TryTakeSentence(final: true) ?? _pending.ToString().Trim();
        _pending.Clear();
        return rest.Length == 0 ? null : rest;
    }

    /// <summary>Splits a stream of text deltas into a stream of sentences.</summary>
    public static IAsyncEnumerable<string> SplitAsync(IAsyncEnumerable<string> deltas, CancellationToken cancellationToken = default) =>
        SplitAsync(deltas, null, cancellationToken);

    /// <summary>Splits a stream of text deltas into a stream of sentences, the first possibly cut at a clause break.</summary>
    /// <param name="firstClauseMinimumLength">See <see cref="FirstClauseMinimumLength"/>; null to cut at sentences only.</param>
    public static async IAsyncEnumerable<string> SplitAsync(IAsyncEnumerable<string> deltas, int? firstClauseMinimumLength, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        var splitter = new SentenceSplitter { FirstClauseMinimumLength = firstClauseMinimumLength };
        await foreach (var delta in deltas.WithCancellation(cancellationToken))
        {
            foreach (var sentence in splitter.Append(delta))
            {
                yield return sentence;
            }
        }

        while (splitter.TryTakeSentence(final: true) is { } sentence)
        {
            yield return sentence;
        }

        if (splitter.Complete() is { } last)
        {
            yield return last;
        }
    }

    /// <summary>Splits complete text into sentences.</summary>
    public static IReadOnlyList<string> Split(string text)
    {
        var splitter = new SentenceSplitter();
        var sentences = splitter.Append(text).ToList();
        while (splitter.TryTakeSentence(final: true) is { } sentence)
        {
            sentences.Add(sentence);
        }

        if (splitter.Complete() is { } last)
        {
            sentences.Add(last);
        }

        return sentences;
    }

    private string? TryTakeSentence(bool final)
    {
        var text = _pending.ToString();
        for (var index = 0; index < text.Length; index++)
        {
            var character = text[index];
            if (character == '\n')
            {
                if (Take(text, index + 1) is { } line)
                {
                    return line;
                }

                index = -1;
                text = _pending.ToString();
                continue;
            }

            if (!IsTerminator(character))
            {
                continue;
            }

            // Extend over repeated terminators ("?!", "...") and closing quotes or brackets.
            var end = index + 1;
            while (end < text.Length && (IsTerminator(text[end]) || IsCloser(text[end])))
            {
                end++;
            }

            if (end == text.Length)
            {
                if (!final)
                {
                    return null; // the next delta may continue it ("3." + "14", "?" + "!")
                }
            }
            else if (!char.IsWhiteSpace(text[end]))
            {
                // "다.그래서" — a Korean sentence ending followed directly by more Hangul.
                var koreanEnding = character == '.' && index > 0 && text[index - 1] is '다' or '요' && IsHangul(text[end]);
                if (!koreanEnding && !IsFullWidthTerminator(character))
                {
                    index = end - 1;
                    continue;
                }
            }

            if (character == '.' && IsAbbreviation(text, index))
            {
                index = end - 1;
                continue;
            }

            return Take(text, end) ?? TryTakeSentence(final);
        }

        if (!_tookAny && FirstClauseMinimumLength is { } minimum && FirstClauseEnd(text, minimum) is { } clauseEnd)
        {
            return Take(text, clauseEnd);
        }

        if (text.Length > MaximumSentenceLength)
        {
            var cut = text.LastIndexOfAny([',', '，', '、', ';'], MaximumSentenceLength);
            if (cut < MaximumSentenceLength / 3)
            {
                cut = text.LastIndexOf(' ', MaximumSentenceLength);
            }

            return Take(text, cut > 0 ? cut + 1 : MaximumSentenceLength);
        }

        return null;
    }

    private string? Take(string text, int length)
    {
        var sentence = text[..length].Trim();
        _pending.Remove(0, length);
        if (sentence.Length == 0 || sentence.All(character => IsTerminator(character) || IsCloser(character)))
        {
            return null;
        }

        _tookAny = true;
        return sentence;
    }

    /// <summary>The end of the first clause break at or after <paramref name="minimum"/> characters that whitespace follows.</summary>
    private static int? FirstClauseEnd(string text, int minimum)
    {
        for (var index = Math.Max(1, minimum - 1); index < text.Length - 1; index++)
        {
            var isBreak = text[index] is ',' or ';' or ':' or '，' or '、' or '—' or '–';
            if (isBreak && char.IsWhiteSpace(text[index + 1]))
            {
                return index + 1;
            }
        }

        return null;
    }

    private static bool IsAbbreviation(string text, int periodIndex)
    {
        var start = periodIndex;
        while (start > 0 && (char.IsLetter(text[start - 1]) || text[start - 1] == '.'))
        {
            start--;
        }

        var word = text[start..periodIndex];
        return word.Length > 0 && (Abbreviations.Contains(word) || (word.Length == 1 && char.IsUpper(word[0])));
    }

    private static bool IsTerminator(char character) => character is '.' or '!' or '?' or '…' || IsFullWidthTerminator(character);

    private static bool IsFullWidthTerminator(char character) => character is '。' or '！' or '？';

    private static bool IsCloser(char character) => character is '"' or '\'' or ')' or ']' or '”' or '’' or '」' or '』' or '）';

    private static bool IsHangul(char character) => character is >= '\uAC00' and <= '\uD7A3';
}
