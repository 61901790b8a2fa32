namespace Anima.Voice.Turns;

/// <summary>
/// Short listener responses that acknowledge without taking the turn ("uh-huh", "yeah", "음", "네"). An
/// utterance made only of these, said while the companion speaks, must not interrupt it.
/// </summary>
public static class Backchannels
{
    /// <summary>The most words a backchannel may have.</summary>
    public const int MaximumWords = 3;

    private static readonly HashSet<string> Words = new(StringComparer.OrdinalIgnoreCase)
    {
        // English
        "uh-huh", "uhhuh", "uh", "huh", "mhm", "mm", "mmm", "mm-hmm", "mmhmm", "hmm", "hm", "yeah", "yea", "yes", "yep", "yup",
        "ok", "okay", "right", "sure", "oh", "ah", "aha", "wow", "really", "i", "see", "got", "it", "alright", "cool", "nice",
        "true", "totally", "exactly", "indeed", "go", "on",
        // Korean
        "음", "음음", "응", "응응", "네", "네네", "예", "예예", "아", "아하", "어", "오", "우와", "와", "그래", "그래요", "그렇구나",
        "그렇군요", "맞아", "맞아요", "그치", "그쵸", "진짜", "정말", "헐", "웅", "엉", "흠", "으응",
    };

    /// <summary>
    /// Words that ask the companion to stop or make room even in an utterance too short to barge in by its length
    /// ("wait", "no", "but", "잠깐만", "아니", "근데").
    /// </summary>
    private static readonly HashSet<string> InterruptionWords = new(StringComparer.OrdinalIgnoreCase)
    {
        // English
        "stop", "wait", "hold", "hang", "pause", "sorry", "excuse", "pardon", "but", "actually", "no", "nope", "nah",
        "what", "why", "how", "when", "where", "who", "hey", "listen", "quiet", "enough", "anima", "hello", "question",
        // Korean
        "잠깐", "잠깐만", "잠깐만요", "잠시만", "잠시만요", "그만", "그만해", "그만해요", "멈춰", "멈춰요", "아니", "아니야", "아니요", "아뇨",
        "근데", "그런데", "하지만", "저기", "저기요", "뭐", "뭐라고", "뭐라고요", "왜", "왜요", "질문", "애니마",
    };

    /// <summary>Whether <paramref name="transcript"/> is only a backchannel (empty text counts: nothing was said).</summary>
    public static bool IsBackchannel(string? transcript)
    {
        var words = SplitWords(transcript);
        return words.Length <= MaximumWords && words.All(Words.Contains);
    }

    /// <summary>
    /// Whether a short utterance said over the companion (shorter than the barge-in length) should still interrupt it:
    /// it holds an interruption word ("wait", "no", "잠깐만"), or more than <see cref="MaximumWords"/> words that are
    /// not all backchannels. Anything else is let pass as a backchannel — including a word the recognizer got wrong
    /// (the embedded English recognizer hears a lone "yeah" as "you" and "okay" as "o que ya"), because a false
    /// interruption costs the user the reply while a missed short one costs nothing: speaking on for
    /// <see cref="VoiceTurnOptions.BargeInSpeech"/> interrupts by length alone.
    /// </summary>
    public static bool IsInterruption(string? transcript)
    {
        var words = SplitWords(transcript);
        return words.Any(InterruptionWords.Contains) || (words.Length > MaximumWords && !words.All(Words.Contains));
    }

    private static string[] SplitWords(string? transcript) => string.IsNullOrWhiteSpace(transcript)
        ? []
        : transcript
            .Split([' ', ',', '.', '!', '?', '…', '~', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries)
            .Select(word => word.Trim('"', '\'', '(', ')'))
            .Where(word => word.Length > 0)
            .ToArray();
}
