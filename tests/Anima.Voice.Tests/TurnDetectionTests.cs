using Anima.Testing;
using Anima.Voice.Activity;
using Anima.Voice.Audio;
using Anima.Voice.Synthesis;
using Anima.Voice.Turns;

namespace Anima.Voice.Tests;

public sealed class TurnDetectionTests
{
    private static readonly SpeechStyle UserStyle = new(Rate: 1.0, Pitch: -0.3);

    [Fact]
    public async Task Process_SpeechThenSilence_EmitsStartAndEndWithTheUtterance()
    {
        var speech = await SpeakAsync("I went to the market this morning and bought some apples.");
        using var detector = Detector();
        var events = Run(detector, TestAudio.Concat(TestAudio.Silence(0.5), speech, TestAudio.Silence(1.5)));

        var started = Assert.Single(events.OfType<SpeechStarted>());
        var end = Assert.Single(events.OfType<EndOfTurn>());
        Assert.InRange(started.At.TotalSeconds, 0.45, 0.8);
        Assert.Contains(end.Reason, new[] { EndOfTurnReason.Silence, EndOfTurnReason.FallingPitch });
        var speechEnd = 0.5 + speech.Length / 16000.0;
        Assert.InRange(end.At.TotalSeconds - speechEnd, 0.2, 0.75);
        Assert.InRange(end.Utterance.Duration.TotalSeconds, speech.Length / 16000.0 - 0.3, speech.Length / 16000.0 + 0.5);
        Assert.False(end.WhileAssistantSpeaking);
        Assert.DoesNotContain(events, item => item is BargeIn);

        // The tentative end comes first, early enough to start transcribing while the end is confirmed.
        var tentative = Assert.Single(events.OfType<TentativeEndOfTurn>());
        Assert.True(events.IndexOf(tentative) < events.IndexOf(end));
        Assert.InRange(tentative.At.TotalSeconds - speechEnd, 0.03, 0.5);
        Assert.Equal(end.Utterance.Samples.Length, tentative.Utterance.Samples.Length);

        // The utterance's audio was handed out as it came (for a streaming recognizer): the turn's utterance is its start.
        var streamed = events.OfType<UtteranceAudio>().SelectMany(audio => audio.Samples).ToArray();
        Assert.True(events.IndexOf(started) < events.FindIndex(item => item is UtteranceAudio));
        Assert.True(streamed.Length >= end.Utterance.Samples.Length);
        Assert.Equal(end.Utterance.Samples, streamed.Take(end.Utterance.Samples.Length));
    }

    [Fact]
    public async Task Process_ShortPauseMidSentence_ResumesTheSameTurn()
    {
        var first = await SpeakAsync("I was thinking about");
        var second = await SpeakAsync("what you said yesterday about moving to the coast.");
        // Only the full silence ends a turn here, so a 300 ms pause (past the tentative end) is the mechanism under test;
        // with the shipped settings a pause after a falling or rising pitch ends the turn at 160 ms.
        using var detector = Detector(new VoiceTurnOptions { UseFallingPitch = false });
        var events = Run(detector, TestAudio.Concat(TestAudio.Silence(0.3), first, TestAudio.Silence(0.3), second, TestAudio.Silence(1.5)));
        Assert.Contains(events, item => item is TurnResumed);
        var end = Assert.Single(events.OfType<EndOfTurn>());
        Assert.True(end.Utterance.Duration.TotalSeconds > (first.Length + second.Length) / 16000.0);
        Assert.IsType<EndOfTurn>(events[^1]);
    }

    [Fact]
    public async Task Process_AnyChunking_GivesTheSameEvents()
    {
        var audio = TestAudio.Concat(TestAudio.Silence(0.3), await SpeakAsync("Can you hear me now?"), TestAudio.Silence(1.2));
        using var whole = Detector();
        var expected = Run(whole, audio).Select(Describe).ToList();
        using var chunked = Detector();
        var actual = new List<TurnEvent>();
        var random = new Random(3);
        for (var offset = 0; offset < audio.Length;)
        {
            var length = Math.Min(random.Next(1, 2000), audio.Length - offset);
            actual.AddRange(chunked.Process(audio.AsSpan(offset, length)));
            offset += length;
        }

        actual.AddRange(chunked.Complete());
        Assert.Equal(expected, actual.Select(Describe).ToList());
    }

    [Fact]
    public void Process_SilenceAndNoise_EmitNothing()
    {
        using var detector = Detector();
        var events = Run(detector, TestAudio.Concat(TestAudio.Silence(2), TestAudio.WhiteNoise(2, 0.03, 5), TestAudio.Silence(1)));
        Assert.Empty(events);
    }

    [Fact]
    public void Process_CoughBurst_IsNotATurn()
    {
        using var detector = Detector();
        var events = Run(detector, TestAudio.Concat(TestAudio.Silence(1), TestAudio.Cough(7), TestAudio.Silence(1.5), TestAudio.Cough(8), TestAudio.Silence(1.5)));
        Assert.DoesNotContain(events, item => item is EndOfTurn);
    }

    [Fact]
    public async Task Process_Monologue_IsCutAtMaximumLengthWithoutLosingAudio()
    {
        var sentence = await SpeakAsync("and then we kept walking along the river and talking about everything");
        var monologue = TestAudio.Concat(sentence, sentence, sentence, sentence);
        using var detector = Detector(new VoiceTurnOptions { MaximumUtterance = TimeSpan.FromSeconds(3), EndOfTurnSilence = TimeSpan.FromSeconds(1.2), FallingPitchSilence = TimeSpan.FromSeconds(1.2) });
        var events = Run(detector, TestAudio.Concat(TestAudio.Silence(0.3), monologue, TestAudio.Silence(2)));
        var ends = events.OfType<EndOfTurn>().ToList();
        Assert.True(ends.Count(end => end.WasForced) >= 2, $"{ends.Count(end => end.WasForced)} forced ends");
        Assert.All(ends.Where(end => end.WasForced), end => Assert.InRange(end.Utterance.Duration.TotalSeconds, 2.9, 3.6));
        var total = ends.Sum(end => end.Utterance.Duration.TotalSeconds);
        Assert.InRange(total, monologue.Length / 16000.0 - 0.5, monologue.Length / 16000.0 + 1.5);
    }

    [Fact]
    public async Task Complete_StreamDroppedMidUtterance_KeepsTheTurn()
    {
        // One clause, no comma: "Wait," alone can be a whole turn (a falling pitch and a pause), which is not what this
        // test is about; it is about a stream that stops while the user is still mid-sentence.
        var speech = await SpeakAsync("There is one more thing I wanted to tell you about");
        using var detector = Detector();
        var events = detector.Process(TestAudio.Concat(TestAudio.Silence(0.3), speech[..(speech.Length * 2 / 3)])).ToList();
        Assert.DoesNotContain(events, item => item is EndOfTurn);
        var end = Assert.Single(detector.Complete().OfType<EndOfTurn>());
        Assert.Equal(EndOfTurnReason.EndOfStream, end.Reason);
        Assert.True(end.Utterance.Duration.TotalSeconds > speech.Length / 16000.0 * 0.6);
    }

    [Fact]
    public async Task Process_UserTalksOverAssistant_BargesInAfterSustainedSpeech()
    {
        var speech = await SpeakAsync("No no, stop, that is not what I meant at all.");
        using var detector = Detector();
        detector.IsAssistantSpeaking = true;
        var events = Run(detector, TestAudio.Concat(TestAudio.Silence(0.5), speech, TestAudio.Silence(1)));
        var started = Assert.Single(events.OfType<SpeechStarted>());
        Assert.True(started.WhileAssistantSpeaking);
        var bargeIn = Assert.Single(events.OfType<BargeIn>());
        Assert.InRange((bargeIn.At - bargeIn.SpeechStartedAt).TotalMilliseconds, 550, 1100);
        Assert.True(events.IndexOf(bargeIn) < events.FindIndex(item => item is EndOfTurn));
    }

    [Theory]
    [InlineData("yeah", "en")]
    [InlineData("uh huh", "en")]
    [InlineData("네", "ko")]
    [InlineData("음", "ko")]
    public async Task Process_BackchannelWhileAssistantSpeaks_DoesNotBargeIn(string word, string language)
    {
        var speech = await SpeakAsync(word, language);
        using var detector = Detector();
        detector.IsAssistantSpeaking = true;
        var events = Run(detector, TestAudio.Concat(TestAudio.Silence(0.5), speech, TestAudio.Silence(1)));
        Assert.DoesNotContain(events, item => item is BargeIn);
        Assert.All(events.OfType<EndOfTurn>(), end => Assert.True(end.WhileAssistantSpeaking));
    }

    [Fact]
    public async Task Process_EchoOfAssistantVoice_IsNotTheUser()
    {
        var reply = await SpeakAsync("Of course. I remember the trip you told me about, the one to the mountains with your sister last spring.", "en", SpeechStyle.FromFeeling(0.5, 0.3), "en-us+f3");
        var user = await SpeakAsync("Hold on, that was my brother, not my sister.");
        using var detector = Detector();
        detector.IsAssistantSpeaking = true;
        detector.AddPlayback(reply);

        // The microphone hears the reply 120 ms late at a third of its level, plus a little room noise.
        var delay = (int)(0.12 * 16000);
        var microphone = new float[delay + reply.Length + 16000];
        var noise = TestAudio.WhiteNoise(microphone.Length / 16000.0 + 1, 0.002, 6);
        for (var index = 0; index < microphone.Length; index++)
        {
            microphone[index] = noise[index] + (index >= delay && index - delay < reply.Length ? 0.33f * reply[index - delay] : 0);
        }

        var echoEvents = Run(detector, microphone, complete: false);
        Assert.DoesNotContain(echoEvents, item => item is BargeIn);
        Assert.DoesNotContain(echoEvents, item => item is EndOfTurn);

        // Now the user talks over a second reply: that must still interrupt.
        detector.AddPlayback(reply);
        var overlap = new float[Math.Max(reply.Length, user.Length + 8000)];
        for (var index = 0; index < overlap.Length; index++)
        {
            var echo = index >= delay && index - delay < reply.Length ? 0.33f * reply[index - delay] : 0;
            var voice = index >= 8000 && index - 8000 < user.Length ? user[index - 8000] : 0;
            overlap[index] = echo + voice;
        }

        var overlapEvents = Run(detector, overlap);
        Assert.Single(overlapEvents.OfType<BargeIn>());
    }

    [Theory]
    [InlineData("uh-huh", true)]
    [InlineData("Yeah, yeah.", true)]
    [InlineData("Mm-hmm", true)]
    [InlineData("I see", true)]
    [InlineData("네네.", true)]
    [InlineData("아 그렇구나", true)]
    [InlineData("", true)]
    [InlineData("Yeah but that's not what I said", false)]
    [InlineData("wait", false)]
    [InlineData("잠깐만요", false)]
    [InlineData("네 그런데 질문이 있어요", false)]
    public void IsBackchannel_Transcript_ClassifiesListenerResponses(string transcript, bool expected)
    {
        Assert.Equal(expected, Backchannels.IsBackchannel(transcript));
    }

    [Theory]
    [InlineData("uh-huh", false)]
    [InlineData("yeah", false)]
    [InlineData("you", false)]                 // pocketsphinx's hearing of espeak's "yeah"
    [InlineData("o que ya", false)]            // ... and of "okay"
    [InlineData("네", false)]
    [InlineData("", false)]
    [InlineData("wait", true)]
    [InlineData("Stop.", true)]
    [InlineData("no no", true)]
    [InlineData("yeah but", true)]
    [InlineData("잠깐만요", true)]
    [InlineData("아니 그게 아니라", true)]
    [InlineData("I need to go now please", true)] // more than three words, not all backchannels
    [InlineData("yeah yeah okay right", false)]  // four backchannel words
    public void IsInterruption_ShortUtteranceOverTheCompanion_OnlyInterruptionWordsOrSentencesStopIt(string transcript, bool expected)
    {
        Assert.Equal(expected, Backchannels.IsInterruption(transcript));
    }

    [Fact]
    public void Validate_FallingPitchLongerThanSilence_Throws()
    {
        var options = new VoiceTurnOptions { EndOfTurnSilence = TimeSpan.FromMilliseconds(300), FallingPitchSilence = TimeSpan.FromMilliseconds(500) };
        Assert.Throws<ArgumentException>(options.Validate);
    }

    private static VoiceTurnDetector Detector(VoiceTurnOptions? options = null) =>
        new(new SileroVoiceActivityDetector(Path.Combine(SharedData.RequireDirectory("silero-vad"), "silero_vad.onnx")), options);

    private static List<TurnEvent> Run(VoiceTurnDetector detector, float[] audio, bool complete = true)
    {
        var events = detector.Process(audio).ToList();
        if (complete)
        {
            events.AddRange(detector.Complete());
        }

        return events;
    }

    private static string Describe(TurnEvent item) => item switch
    {
        EndOfTurn end => $"end {end.At.TotalMilliseconds} {end.Reason} {end.Utterance.Samples.Length}",
        _ => $"{item.GetType().Name} {item.At.TotalMilliseconds}",
    };

    private static async Task<float[]> SpeakAsync(string text, string language = "en", SpeechStyle? style = null, string? voice = null)
    {
        NativeEngines.RequireEspeak();
        var tts = new EspeakTextToSpeech(voice is null ? null : new Dictionary<string, string> { [language] = voice });
        var clip = await tts.SynthesizeToClipAsync(text, language, style ?? UserStyle, TestContext.Current.CancellationToken);
        return clip.Samples;
    }
}
