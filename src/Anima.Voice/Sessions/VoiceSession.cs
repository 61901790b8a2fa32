using System.Threading.Channels;
using Anima.Voice.Audio;
using Anima.Voice.Emotion;
using Anima.Voice.Recognition;
using Anima.Voice.Synthesis;
using Anima.Voice.Turns;

namespace Anima.Voice.Sessions;

/// <summary>
/// One voice conversation: microphone audio in (16 kHz PCM16, as the page streams it), reply audio and events out.
/// It detects turns, transcribes them, hears their feeling, asks the <see cref="VoiceMind"/>, speaks the reply
/// sentence by sentence while it is still being written, and on barge-in stops playback, cancels the reply and
/// reports what was heard. Backchannels over the companion's voice are ignored; its own echo is gated.
/// Write audio from one reader (the socket loop) and read <see cref="Outputs"/> from one writer loop.
/// </summary>
public sealed class VoiceSession : IAsyncDisposable
{
    private readonly VoiceTurnDetector _detector;
    private readonly ISpeechToText _speechToText;
    private readonly ITextToSpeech _textToSpeech;
    private readonly VoiceEmotionRecognizer? _emotion;
    private readonly SpeakerFeatureStatistics? _speaker;
    private readonly VoiceMind _mind;
    private readonly string? _language;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Channel<VoiceSessionOutput> _outputs = Channel.CreateUnbounded<VoiceSessionOutput>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _lifetime = new();
    private CancellationTokenSource? _reply;
    private Task _replyTask = Task.CompletedTask;
    private SpokenReplyTracker? _tracker;
    private string _replyText = string.Empty;
    private TimeSpan? _playbackStartedAt;
    private TimeSpan _playbackSent;
    private string? _sentenceInProgress;
    private TimeSpan _sentenceInProgressSent;
    private bool _replyActive;
    private HeardReply? _interrupted;
    private SpokenReplyTracker? _interruptedTracker;
    private int _oddByte = -1;
    private (int Samples, Task<Transcript> Transcription)? _speculative;
    private (int Samples, Task<ProsodyFeatures> Prosody)? _speculativeProsody;
    private ISpeechRecognitionStream? _recognition;
    private TimeSpan? _lastEndOfTurnAt;
    private int _disposed;

    /// <summary>
    /// Speech that starts this soon after the end of the user's turn, while the reply has begun, is the user going on
    /// (the end-of-turn decision was early), not a backchannel: the reply stops at once instead of after
    /// <see cref="VoiceTurnOptions.BargeInSpeech"/>, and the continuation becomes the next turn.
    /// </summary>
    public static readonly TimeSpan ContinuationWindow = TimeSpan.FromMilliseconds(1200);

    /// <param name="detector">The turn detector for this stream (owned by the session).</param>
    /// <param name="language">The user's language hint for transcription ("en", "ko"), or null to let the engine decide.</param>
    public VoiceSession(VoiceTurnDetector detector, ISpeechToText speechToText, ITextToSpeech textToSpeech, VoiceMind mind, VoiceEmotionRecognizer? emotion = null, SpeakerFeatureStatistics? speaker = null, string? language = null, TimeProvider? timeProvider = null)
    {
        _detector = detector ?? throw new ArgumentNullException(nameof(detector));
        _speechToText = speechToText ?? throw new ArgumentNullException(nameof(speechToText));
        _textToSpeech = textToSpeech ?? throw new ArgumentNullException(nameof(textToSpeech));
        _mind = mind ?? throw new ArgumentNullException(nameof(mind));
        _emotion = emotion;
        _speaker = speaker;
        _language = language;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Everything for the client, in order.</summary>
    public ChannelReader<VoiceSessionOutput> Outputs => _outputs.Reader;

    /// <summary>Processes microphone bytes (16 kHz mono PCM16 LE; a chunk may split a sample).</summary>
    public async Task WriteAudioAsync(ReadOnlyMemory<byte> pcm16, CancellationToken cancellationToken = default)
    {
        var bytes = pcm16.Span;
        byte[] joined;
        if (_oddByte >= 0)
        {
            joined = new byte[bytes.Length + 1];
            joined[0] = (byte)_oddByte;
            bytes.CopyTo(joined.AsSpan(1));
        }
        else
        {
            joined = bytes.ToArray();
        }

        var even = joined.Length & ~1;
        _oddByte = even < joined.Length ? joined[^1] : -1;
        var samples = Pcm16.Decode(joined.AsSpan(0, even));
        IReadOnlyList<TurnEvent> events;
        lock (_gate)
        {
            _detector.IsAssistantSpeaking = IsAssistantSpeakingLocked();
            events = _detector.Process(samples);
        }

        await HandleAsync(events, cancellationToken);
    }

    /// <summary>The companion is speaking while its reply is produced and until the audio sent has had time to play.</summary>
    private bool IsAssistantSpeakingLocked() =>
        _reply is not null && (_replyActive || (_playbackStartedAt is { } started && _detector.Position < started + _playbackSent));

    /// <summary>The stream ended (socket closed, file finished): a turn in progress is still answered.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        IReadOnlyList<TurnEvent> events;
        lock (_gate)
        {
            events = _detector.Complete();
        }

        await HandleAsync(events, cancellationToken);
        await _replyTask;
    }

    /// <summary>
    /// The page says how much of the interrupted reply it actually played before it stopped (it knows; the session only
    /// estimates from the time since the first chunk). When that is less than estimated, the heard text is cut back and a
    /// <see cref="ReplyHeard"/> tells the server to store the shorter text; the next turn carries it too. Call it from
    /// the loop that writes audio.
    /// </summary>
    public async Task ReportPlaybackAsync(TimeSpan played, CancellationToken cancellationToken = default)
    {
        if (_interrupted is not { } estimated || _interruptedTracker is not { } tracker || played < TimeSpan.Zero)
        {
            return;
        }

        var heard = tracker.HeardAt(played) with { IsComplete = false };
        if (heard.Text.Length < estimated.Text.Length)
        {
            _interrupted = heard;
            await _outputs.Writer.WriteAsync(new ReplyHeard(heard), cancellationToken);
        }
    }

    /// <summary>Waits for the reply in progress, if any, to finish.</summary>
    public Task WaitForReplyAsync() => _replyTask;

    private async Task HandleAsync(IReadOnlyList<TurnEvent> events, CancellationToken cancellationToken)
    {
        foreach (var item in events)
        {
            switch (item)
            {
                case SpeechStarted started:
                    await _outputs.Writer.WriteAsync(new UserSpeechStarted(started.At), cancellationToken);
                    StartRecognition();
                    if (started.WhileAssistantSpeaking && _lastEndOfTurnAt is { } endedAt && started.At - endedAt <= ContinuationWindow && IsReplying)
                    {
                        await InterruptAsync(cancellationToken); // the user was not finished: let them go on
                    }

                    break;
                case UtteranceAudio audio:
                    _recognition?.Write(audio.Samples);
                    break;
                case BargeIn:
                    await InterruptAsync(cancellationToken);
                    break;
                case TentativeEndOfTurn tentative:
                    if (_emotion is not null)
                    {
                        var utterance = tentative.Utterance;
                        _speculativeProsody = (utterance.Samples.Length, Task.Run(() => new ProsodyFeatureExtractor().Extract(utterance), CancellationToken.None));
                    }

                    // A streaming recognizer has decoded everything so far and goes on listening: only its finalization
                    // is left at the end of the turn. Otherwise transcribe now, during the confirmation silence;
                    // EndOfTurn reuses the result when the audio is unchanged.
                    if (_recognition is null)
                    {
                        _speculative = (tentative.Utterance.Samples.Length, _speechToText.TranscribeAsync(tentative.Utterance, _language, _lifetime.Token));
                    }

                    break;
                case TurnResumed:
                    _speculativeProsody = null;
                    Forget(_speculative);
                    _speculative = null;
                    break;
                case EndOfTurn end:
                    await OnEndOfTurnAsync(end, cancellationToken);
                    break;
            }
        }
    }

    /// <summary>Opens a recognition stream for the utterance that starts now, when the engine streams and knows the language.</summary>
    private void StartRecognition()
    {
        _recognition?.Dispose();
        _recognition = null;
        if (_speechToText is IStreamingSpeechToText streaming)
        {
            try
            {
                _recognition = streaming.StartStream(_language);
            }
            catch (SpeechRecognitionException)
            {
                // The language is not supported: the turn is transcribed in one piece and reports the error then.
            }
        }
    }

    private static async Task<Transcript> FinishAndDisposeAsync(ISpeechRecognitionStream recognition, CancellationToken cancellationToken)
    {
        try
        {
            return await recognition.FinishAsync(cancellationToken);
        }
        finally
        {
            recognition.Dispose();
        }
    }

    private async Task OnEndOfTurnAsync(EndOfTurn end, CancellationToken cancellationToken)
    {
        var decidedAt = _time.GetTimestamp();
        var levels = AudioQuality.Measure(end.Utterance.Samples);
        if (levels.IsClipped)
        {
            await _outputs.Writer.WriteAsync(new AudioWarning($"Your microphone is clipping ({levels.ClippedFraction:P1} of the samples are at full scale); turn the input gain down."), cancellationToken);
        }

        Transcript transcript;
        var speculative = _speculative;
        _speculative = null;
        var recognition = _recognition;
        _recognition = null;
        // Hearing the feeling needs only the audio: its features were extracted during the confirmation silence
        // (the same audio unless the user went on), else they are now, beside the transcription's finalization.
        var prosody = _speculativeProsody is { } speculativeProsody && speculativeProsody.Samples == end.Utterance.Samples.Length
            ? speculativeProsody.Prosody
            : null;
        _speculativeProsody = null;
        // Only the features (the costly, pure part) run ahead: the recognizer, which adds the utterance to the user's
        // voice baseline, runs once the transcript shows a real turn (not noise or a backchannel).
        var features = _emotion is not null
            ? prosody ?? Task.Run(() => new ProsodyFeatureExtractor().Extract(end.Utterance), CancellationToken.None)
            : null;
        try
        {
            if (recognition is not null)
            {
                Forget(speculative);
                transcript = await FinishAndDisposeAsync(recognition, cancellationToken);
            }
            else if (speculative is { } guess && guess.Samples == end.Utterance.Samples.Length)
            {
                transcript = await guess.Transcription.WaitAsync(cancellationToken);
            }
            else
            {
                Forget(speculative);
                transcript = await _speechToText.TranscribeAsync(end.Utterance, _language, cancellationToken);
            }
        }
        catch (SpeechRecognitionException exception)
        {
            await _outputs.Writer.WriteAsync(new VoiceSessionError($"I couldn't transcribe that: {exception.Message}"), cancellationToken);
            return;
        }

        var transcribed = _time.GetElapsedTime(decidedAt);
        var replying = IsReplying;
        // Said over the companion and too short to barge in by length: a backchannel ("yeah", "음") or a cough lets the
        // reply go on; only an interruption word or a real sentence stops it (Backchannels.IsInterruption).
        if (end.WhileAssistantSpeaking && replying && !Backchannels.IsInterruption(transcript.Text))
        {
            await _outputs.Writer.WriteAsync(new BackchannelIgnored(transcript.Text), cancellationToken);
            return;
        }

        if (transcript.IsEmpty)
        {
            return;
        }

        if (replying)
        {
            await InterruptAsync(cancellationToken); // a late barge-in: a short but real interjection
        }

        var emotion = _emotion is not null && features is not null ? _emotion.Recognize(await features, _speaker) : null;
        var turn = new VoiceUserTurn(transcript.Text, transcript.Language, emotion, end, _interrupted);
        _interrupted = null;
        _interruptedTracker = null;
        await _outputs.Writer.WriteAsync(new UserTranscript(turn), cancellationToken);
        // Only a turn that is answered opens the continuation window: speech right after an ignored backchannel is
        // not the rest of a sentence.
        _lastEndOfTurnAt = end.At;
        StartReply(turn, decidedAt, transcribed, end);
    }

    /// <summary>Drops a speculative transcription whose audio changed; its failure, if any, is of no interest.</summary>
    private static void Forget((int Samples, Task<Transcript> Transcription)? speculative)
    {
        speculative?.Transcription.ContinueWith(task => _ = task.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    private bool IsReplying
    {
        get
        {
            lock (_gate)
            {
                return IsAssistantSpeakingLocked();
            }
        }
    }

    private void StartReply(VoiceUserTurn turn, long decidedAt, TimeSpan transcription, EndOfTurn end)
    {
        var cancellation = CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token);
        var tracker = new SpokenReplyTracker();
        lock (_gate)
        {
            _reply = cancellation;
            _tracker = tracker;
            _sentenceInProgress = null;
            _replyText = string.Empty;
            _playbackStartedAt = null;
            _playbackSent = TimeSpan.Zero;
            _replyActive = true;
            _detector.IsAssistantSpeaking = true;
        }

        var endOfTurnWait = end.At - end.SpeechEndedAt;
        _replyTask = Task.Run(() => ReplyAsync(turn, tracker, decidedAt, transcription, endOfTurnWait, cancellation.Token), CancellationToken.None);
    }

    private async Task ReplyAsync(VoiceUserTurn turn, SpokenReplyTracker tracker, long decidedAt, TimeSpan transcription, TimeSpan endOfTurnWait, CancellationToken cancellationToken)
    {
        var askedAt = _time.GetTimestamp();
        var decisionToMind = _time.GetElapsedTime(decidedAt, askedAt);
        TimeSpan? firstText = null, firstSentence = null, firstAudio = null, decisionToAudio = null;
        var spoken = new List<string>();
        try
        {
            var plan = _mind(turn, cancellationToken);
            async IAsyncEnumerable<string> Observed()
            {
                await foreach (var delta in plan.TextDeltas.WithCancellation(cancellationToken))
                {
                    firstText ??= _time.GetElapsedTime(askedAt);
                    yield return delta;
                }
            }

            await foreach (var sentence in SentenceSplitter.SplitAsync(Observed(), SentenceSplitter.DefaultFirstClauseMinimumLength, cancellationToken))
            {
                firstSentence ??= _time.GetElapsedTime(askedAt);
                spoken.Add(sentence);
                lock (_gate)
                {
                    _replyText = string.Join(' ', spoken);
                    _sentenceInProgress = sentence;
                    _sentenceInProgressSent = TimeSpan.Zero;
                }

                await _outputs.Writer.WriteAsync(new ReplySentence(sentence), cancellationToken);
                var samples = 0;
                await foreach (var chunk in _textToSpeech.SynthesizeAsync(sentence, plan.Language, plan.Style, cancellationToken))
                {
                    if (firstAudio is null)
                    {
                        firstAudio = _time.GetElapsedTime(askedAt);
                        decisionToAudio = _time.GetElapsedTime(decidedAt);
                    }

                    lock (_gate)
                    {
                        _playbackStartedAt ??= _detector.Position;
                        _playbackSent += chunk.Duration;
                        _sentenceInProgressSent += chunk.Duration;
                        _detector.AddPlayback(chunk.Samples);
                    }

                    samples += chunk.Samples.Length;
                    await _outputs.Writer.WriteAsync(new ReplyAudio(Pcm16.Encode(chunk.Samples)), cancellationToken);
                }

                lock (_gate)
                {
                    // Unless the reply was interrupted meanwhile (then the interruption accounted for this sentence).
                    if (ReferenceEquals(_tracker, tracker))
                    {
                        tracker.AddSentence(sentence, TimeSpan.FromSeconds((double)samples / AudioClip.PipelineSampleRate));
                        _sentenceInProgress = null;
                    }
                }
            }

            var timings = new VoiceTurnTimings(endOfTurnWait, transcription, firstText ?? TimeSpan.Zero, firstSentence ?? TimeSpan.Zero, firstAudio ?? TimeSpan.Zero, decisionToAudio ?? TimeSpan.Zero, decisionToMind);
            await _outputs.Writer.WriteAsync(new ReplyFinished(string.Join(' ', spoken), timings), CancellationToken.None);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Interrupted: InterruptAsync has reported what was heard.
        }
        catch (SpeechSynthesisException exception)
        {
            await _outputs.Writer.WriteAsync(new VoiceSessionError($"I couldn't speak the reply: {exception.Message}"), CancellationToken.None);
        }
        finally
        {
            lock (_gate)
            {
                _replyActive = false;
            }
        }
    }

    private async Task InterruptAsync(CancellationToken cancellationToken)
    {
        CancellationTokenSource? reply;
        HeardReply heard;
        string fullText;
        lock (_gate)
        {
            reply = _reply;
            if (reply is null || _tracker is null)
            {
                return;
            }

            // The page plays in real time from the first chunk on, so the played length is the stream time since then.
            var played = _playbackStartedAt is { } started ? _detector.Position - started : TimeSpan.Zero;
            if (_sentenceInProgress is { } partial && _sentenceInProgressSent > TimeSpan.Zero)
            {
                // A sentence whose audio was still being sent: its full length is estimated from the speaking rate of
                // the sentences before it (or ~70 ms a character), never less than what was already sent.
                var perCharacter = _tracker.TotalDuration > TimeSpan.Zero && _replyText.Length > partial.Length
                    ? _tracker.TotalDuration / Math.Max(1, _replyText.Length - partial.Length)
                    : TimeSpan.FromMilliseconds(70);
                var estimate = perCharacter * partial.Length;
                _tracker.AddSentence(partial, estimate > _sentenceInProgressSent ? estimate : _sentenceInProgressSent);
                _sentenceInProgress = null;
            }

            heard = _tracker.HeardAt(played);
            _interruptedTracker = _tracker;
            _tracker = null;
            heard = heard with { IsComplete = heard.IsComplete && !_replyActive };
            fullText = _replyText;
            _reply = null;
            _replyActive = false;
            _detector.ClearPlayback();
            _detector.IsAssistantSpeaking = false;
        }

        await reply.CancelAsync();
        await _outputs.Writer.WriteAsync(new StopPlayback(heard, fullText), cancellationToken);
        _interrupted = heard;
        try
        {
            await _replyTask;
        }
        finally
        {
            reply.Dispose();
        }
    }

    /// <summary>Cancels a reply in progress and releases the detector; calling it again does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _lifetime.CancelAsync();
        try
        {
            await _replyTask;
        }
        catch (OperationCanceledException)
        {
            // Ending the session cancels the reply in progress.
        }

        _outputs.Writer.TryComplete();
        _recognition?.Dispose();
        Forget(_speculative);
        _detector.Dispose();
        _lifetime.Dispose();
    }
}
