using Anima.Voice.Recognition;
using Anima.Voice.Synthesis;

namespace Anima.Voice.Tests;

/// <summary>Skips tests whose native engine (a Debian package) is not installed, saying which package is missing.</summary>
internal static class NativeEngines
{
    public static void RequireEspeak()
    {
        var available = EspeakTextToSpeech.IsAvailable(out var reason);
        Assert.SkipUnless(available, $"espeak-ng is not usable here ({reason}); install the Debian packages espeak-ng and libespeak-ng1.");
    }

    public static void RequirePocketSphinx()
    {
        var available = PocketSphinxSpeechToText.IsAvailable(out var reason);
        Assert.SkipUnless(available, $"pocketsphinx is not usable here ({reason}); install the Debian packages pocketsphinx and pocketsphinx-en-us.");
    }

    /// <summary>espeak-ng's "m3" variant: the US-English voice pocketsphinx recognizes best.</summary>
    public static EspeakTextToSpeech RecognizableEspeak() => new(new Dictionary<string, string> { ["en"] = "en-us+m3" });
}
