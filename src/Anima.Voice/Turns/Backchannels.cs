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

    /// <summary>Whether <paramref name="transcript"/> is only a backchannel (empty text counts: nothing was said).</summary>
    public static bool IsBackchannel(string? transcript)
    {
        if (string.IsNullOrWhiteSpace(transcript))
        {
            return true;
        }

        var words = transcript
            .Split([' ', ',', '.', '!', '?', '…', '~', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries)
            .Select(word => word.Trim('"', '\'', '(', ')'))
            .Where(word => word.Length > 0)
            .ToArray();
        return words.Length <= MaximumWords && words.All(Words.Contains);
    }
}
