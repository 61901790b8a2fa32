namespace Anima.Perception;

/// <summary>
/// Decides by script which language a text is in, so the model only reads what it was trained on.
/// Hangul is Korean; Latin letters are English when most words are in the English vocabulary learned
/// from GoEmotions (otherwise another Latin-script language: unknown); any other script (Japanese,
/// Chinese, Cyrillic, Arabic, …) dominating the letters is unknown.
/// </summary>
public static class LanguageDetector
{
    /// <summary>The smaller of Hangul and Latin must be at least this share of both for the text to count as mixed.</summary>
    public const double MixedShare = 0.2;

    /// <summary>Letters of other scripts above this share of all letters make the text unknown.</summary>
    public const double OtherScriptShare = 0.3;

    /// <summary>With at least <see cref="MinimumWordsForVocabularyCheck"/> Latin words, at least this share must be known English words.</summary>
    public const double KnownEnglishShare = 0.5;

    /// <summary>Shorter Latin texts ("lol wtf") are taken as English without the vocabulary check.</summary>
    public const int MinimumWordsForVocabularyCheck = 3;

    /// <summary>One of the <see cref="EmotionReading"/> language codes for the scripts seen in a text.</summary>
    public static string Detect(ScriptCounts scripts, bool checkVocabulary = true)
    {
        var letters = scripts.Hangul + scripts.Latin + scripts.OtherLetters;
        if (letters == 0)
        {
            return scripts.Emoji > 0 ? EmotionReading.EmojiOnly : EmotionReading.UnknownLanguage;
        }

        if (scripts.OtherLetters > OtherScriptShare * letters)
        {
            return EmotionReading.UnknownLanguage;
        }

        var korean = scripts.Hangul;
        var latin = scripts.Latin;
        if (korean > 0 && latin > 0 && Math.Min(korean, latin) >= MixedShare * (korean + latin))
        {
            return EmotionReading.Mixed;
        }

        if (korean >= latin)
        {
            return EmotionReading.Korean;
        }

        if (checkVocabulary && scripts.LatinWords >= MinimumWordsForVocabularyCheck
            && scripts.KnownLatinWords < KnownEnglishShare * scripts.LatinWords)
        {
            return EmotionReading.UnknownLanguage;
        }

        return EmotionReading.English;
    }

    /// <summary>The share of Hangul among Hangul and Latin letters (0 when there are none).</summary>
    public static double KoreanShare(ScriptCounts scripts)
    {
        var total = scripts.Hangul + scripts.Latin;
        return total == 0 ? 0 : (double)scripts.Hangul / total;
    }
}
