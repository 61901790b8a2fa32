namespace Anima.Core.Persona;

/// <summary>The two languages Anima speaks, and how to tell them apart in text.</summary>
public static class Languages
{
    public const string English = "en";
    public const string Korean = "ko";

    public static bool IsSupported(string? language) => language is English or Korean;

    /// <summary>"ko" when Hangul makes up a meaningful share of the letters, otherwise <paramref name="fallback"/>.</summary>
    public static string Detect(string text, string fallback = English)
    {
        ArgumentNullException.ThrowIfNull(text);
        int hangul = 0, latin = 0;
        foreach (var character in text)
        {
            if (character is >= '\uAC00' and <= '\uD7A3' or >= '\u1100' and <= '\u11FF' or >= '\u3130' and <= '\u318F')
            {
                hangul++;
            }
            else if (char.IsAsciiLetter(character))
            {
                latin++;
            }
        }

        if (hangul == 0 && latin == 0)
        {
            return fallback;
        }

        // Korean sentences often carry English words (names, brands); a third of Hangul letters is Korean.
        return hangul * 3 >= latin ? Korean : English;
    }
}
