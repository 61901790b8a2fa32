using System.Runtime.CompilerServices;
using Anima.Testing;
using Anima.Voice.Activity;
using Anima.Voice.Audio;
using Anima.Voice.Recognition;
using Anima.Voice.Sessions;
using Anima.Voice.Synthesis;
using Anima.Voice.Turns;

namespace Anima.Voice.Tests;

public sealed class VoiceSessionTests
{
    private const string Reply = "Hello to you too. I was hoping you would call today, because I have been thinking about our walk by the river and everything we talked about.";

    [Fact]
    public async Task Session_UserSpeaks_TranscribesRepliesSentenceBySentenceWithTimings()
    {
        var (session, turns) = await CreateAsync();
        await using (session)
        {
            var user = await NativeEngines.RecognizableEspeak().SynthesizeToClipAsync("hello world", "en", new SpeechStyle(Rate: 0.86), TestContext.Current.CancellationToken);
            await FeedAsync(session, TestAudio.Concat(TestAudio.Silence(0.3), user.Samples, TestAudio.Silence(1.0)));
            await session.WaitForReplyAsync();
        }

        var outputs = await DrainAsync(session);
        var transcript = Assert.Single(outputs.OfType<UserTranscript>());
        Assert.Contains("world", transcript.Turn.Transcript, StringComparison.Ordinal);
        Assert.Single(turns);
        var sentences = outputs.OfType<ReplySentence>().Select(sentence => sentence.Text).ToList();
        Assert.Equal(["Hello to you too.", "I was hoping you would call today, because I have been thinking about our walk by the river and everything we talked about."], sentences);
        Assert.True(outputs.IndexOf(outputs.OfType<ReplyAudio>().First()) < outputs.IndexOf(outputs.OfType<ReplySentence>().Last()), "the first sentence is heard before the second is synthesized");
        var finished = Assert.Single(outputs.OfType<ReplyFinished>());
        Assert.InRange(finished.Timings.EndOfTurnWait.TotalMilliseconds, 100, 700);
        Assert.True(finished.Timings.FirstAudio > TimeSpan.Zero && finished.Timings.FirstAudio >= finished.Timings.FirstSentence);
        Assert.DoesNotContain(outputs, output => output is StopPlayback);
    }

    [Fact]
    public async Task DisposeAsync_Twice_SecondCallDoesNothing()
    {
        // The server disposes the session explicitly and again at the end of its 'await using'.
        var (session, _) = await CreateAsync();
        await session.DisposeAsync();
        await session.DisposeAsync();
    }

    [Fact]
    public async Task Session_UserBargesIn_StopsPlaybackAndTellsTheMindWhatWasHeard()
    {
        var (session, turns) = await CreateAsync();
        List<VoiceSessionOutput> outputs;
        await using (session)
        {
            var espeak = NativeEngines.RecognizableEspeak();
            var first = await espeak.SynthesizeToClipAsync("hello world", "en", new SpeechStyle(Rate: 0.86), TestContext.Current.CancellationToken);
            await FeedAsync(session, TestAudio.Concat(TestAudio.Silence(0.3), first.Samples, TestAudio.Silence(0.8)));
            await session.WaitForReplyAsync();

            // The reply plays for about 9 s of stream time; 1.5 s in, the user talks over it.
            var interruption = await espeak.SynthesizeToClipAsync("wait wait, hello world, hello world, that is not right", "en", SpeechStyle.Neutral, TestContext.Current.CancellationToken);
            await FeedAsync(session, TestAudio.Concat(TestAudio.Silence(1.5), interruption.Samples, TestAudio.Silence(1.0)));
            await session.CompleteAsync(TestContext.Current.CancellationToken);
            outputs = await DrainAsync(session, complete: false);
        }

        // The interruption may be heard as two turns (espeak pauses at commas); the first cut is the one that matters.
        var stop = outputs.OfType<StopPlayback>().First();
        Assert.False(stop.Heard.IsComplete);
        Assert.StartsWith("Hello to you too.", stop.Heard.Text, StringComparison.Ordinal);
        Assert.True(stop.Heard.Text.Length < Reply.Length);
        Assert.True(turns.Count >= 2);
        Assert.Equal(stop.Heard, turns[1].PreviousReplyInterrupted);
    }

    [Fact]
    public async Task Session_SocketDroppedMidUtterance_StillAnswersTheTurn()
    {
        var (session, turns) = await CreateAsync();
        await using (session)
        {
            var user = await NativeEngines.RecognizableEspeak().SynthesizeToClipAsync("hello world hello world", "en", new SpeechStyle(Rate: 0.86), TestContext.Current.CancellationToken);
            await FeedAsync(session, TestAudio.Concat(TestAudio.Silence(0.3), user.Samples));
            Assert.Empty(turns);
            await session.CompleteAsync(TestContext.Current.CancellationToken);
        }

        var outputs = await DrainAsync(session);
        var transcript = Assert.Single(outputs.OfType<UserTranscript>());
        Assert.Equal(EndOfTurnReason.EndOfStream, transcript.Turn.Audio.Reason);
        Assert.Single(outputs.OfType<ReplyFinished>());
    }

    [Fact]
    public async Task Session_SilenceAndNoise_ProduceNoTurn()
    {
        var (session, turns) = await CreateAsync();
        await using (session)
        {
            await FeedAsync(session, TestAudio.Concat(TestAudio.Silence(1), TestAudio.WhiteNoise(1, 0.02, 3), TestAudio.Cough(4), TestAudio.Silence(1)));
            await session.CompleteAsync(TestContext.Current.CancellationToken);
        }

        var outputs = await DrainAsync(session);
        Assert.Empty(turns);
        Assert.DoesNotContain(outputs, output => output is UserTranscript or ReplyAudio);
    }

    private static async Task<(VoiceSession Session, List<VoiceUserTurn> Turns)> CreateAsync()
    {
        NativeEngines.RequireEspeak();
        NativeEngines.RequirePocketSphinx();
        var model = Path.Combine(SharedData.RequireDirectory("silero-vad"), "silero_vad.onnx");
        var turns = new List<VoiceUserTurn>();
        VoiceReplyPlan Mind(VoiceUserTurn turn, CancellationToken cancellationToken)
        {
            turns.Add(turn);
            return new VoiceReplyPlan(Tokens(cancellationToken), SpeechStyle.FromFeeling(0.5, 0.2), "en");
        }

        var session = new VoiceSession(new VoiceTurnDetector(new SileroVoiceActivityDetector(model)), new PocketSphinxSpeechToText(), new EspeakTextToSpeech(), Mind, language: "en");
        await Task.CompletedTask;
        return (session, turns);
    }

    private static async IAsyncEnumerable<string> Tokens([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var token in Reply.Split(' '))
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            yield return token + " ";
        }
    }

    private static async Task FeedAsync(VoiceSession session, float[] samples)
    {
        var bytes = Pcm16.Encode(samples);
        for (var offset = 0; offset < bytes.Length; offset += 1023) // odd chunks: samples split across messages
        {
            await session.WriteAudioAsync(bytes.AsMemory(offset, Math.Min(1023, bytes.Length - offset)), TestContext.Current.CancellationToken);
        }
    }

    private static async Task<List<VoiceSessionOutput>> DrainAsync(VoiceSession session, bool complete = true)
    {
        var outputs = new List<VoiceSessionOutput>();
        if (complete)
        {
            await foreach (var output in session.Outputs.ReadAllAsync(TestContext.Current.CancellationToken))
            {
                outputs.Add(output);
            }
        }
        else
        {
            while (session.Outputs.TryRead(out var output))
            {
                outputs.Add(output);
            }
        }

        return outputs;
    }
}
