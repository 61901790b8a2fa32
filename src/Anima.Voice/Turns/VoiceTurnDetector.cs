using Anima.Voice.Activity;
using Anima.Voice.Audio;
using Anima.Voice.Emotion;

namespace Anima.Voice.Turns;

/// <summary>
/// Decides where the user's turns start and end in a stream of 16 kHz mono microphone audio, and when the user
/// interrupts the companion. Feed audio in chunks of any size with <see cref="Process"/>; it runs the voice
/// activity detector on 32 ms frames and returns events. Time is the position in the stream, so the detector
/// is deterministic and needs no clock. Tell it what the companion is playing with <see cref="AddPlayback"/>
/// (echo of that audio is not the user) and call <see cref="Complete"/> when the stream ends so a turn in
/// progress is not lost. One instance per stream; not thread-safe.
/// </summary>
public sealed class VoiceTurnDetector : IDisposable
{
    private const int Rate = AudioClip.PipelineSampleRate;
    private const int FinalPitchWindowSamples = Rate * 2 / 5; // the last 400 ms of speech
    private const double FallingSlopeSemitonesPerSecond = -6;
    private const int TrailingFrames = 2;
    private const double RisingSlopeSemitonesPerSecond = 12; // a question's rise; a level or slightly rising end holds the turn
    private readonly IVoiceActivityDetector _detector;
    private readonly VoiceTurnOptions _options;
    private readonly int _frameSize;
    private readonly float[] _pending;
    private int _pendingCount;
    private readonly List<float> _playback = [];
    private readonly Queue<float[]> _preRoll = new();
    private readonly List<float> _utterance = [];
    private readonly PitchTracker _pitchTracker = new();
    private readonly EchoGate _echoGate = new();
    private long _framesSeen;
    private bool _inSpeech;
    private bool _startReported;
    private bool _bargedIn;
    private bool _startedWhileAssistantSpeaking;
    private int _speechRunFrames;
    private int _speechFrames;
    private int _silenceFrames;
    private int _lastSpeechFrameInUtterance;
    private long _utteranceStartFrame;
    private EndOfTurnReason? _finalPitch;
    private bool _tentativeReported;

    public VoiceTurnDetector(IVoiceActivityDetector detector, VoiceTurnOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(detector);
        options ??= new VoiceTurnOptions();
        options.Validate();
        _detector = detector;
        _options = options;
        _frameSize = detector.FrameSize;
        _pending = new float[_frameSize];
    }

    /// <summary>Whether the companion's voice is playing to the user; set by the session while it streams a reply.</summary>
    public bool IsAssistantSpeaking { get; set; }

    /// <summary>The stream position reached so far.</summary>
    public TimeSpan Position => FrameTime(_framesSeen) + TimeSpan.FromSeconds((double)_pendingCount / Rate);

    /// <summary>Whether the user is speaking now (a turn is open).</summary>
    public bool IsUserSpeaking => _inSpeech && _startReported;

    private double FrameMilliseconds => 1000.0 * _frameSize / Rate;

    private int StartFrames => Math.Max(1, (int)Math.Ceiling(_options.SpeechStartMinimum.TotalMilliseconds / FrameMilliseconds));

    private int PreRollFrames => (int)Math.Ceiling(_options.PreRoll.TotalSeconds * Rate / _frameSize);

    /// <summary>
    /// Tells the detector the companion's audio that plays from now on (16 kHz), so that its echo in the
    /// microphone is not taken for the user. Call it as reply audio is sent to be played.
    /// </summary>
    public void AddPlayback(ReadOnlySpan<float> samples)
    {
        foreach (var sample in samples)
        {
            _playback.Add(sample);
        }
    }

    /// <summary>Drops playback not yet heard (the companion was interrupted and its audio stopped).</summary>
    public void ClearPlayback() => _playback.Clear();

    /// <summary>Processes the next chunk of microphone audio (16 kHz mono, any length) and returns what happened in it.</summary>
    public IReadOnlyList<TurnEvent> Process(ReadOnlySpan<float> samples)
    {
        var events = new List<TurnEvent>();
        while (!samples.IsEmpty)
        {
            var take = Math.Min(samples.Length, _frameSize - _pendingCount);
            samples[..take].CopyTo(_pending.AsSpan(_pendingCount));
            _pendingCount += take;
            samples = samples[take..];
            if (_pendingCount == _frameSize)
            {
                ProcessFrame(_pending, events);
                _pendingCount = 0;
            }
        }

        return events;
    }

    /// <summary>Ends the stream: a turn in progress becomes an <see cref="EndOfTurn"/> with <see cref="EndOfTurnReason.EndOfStream"/>.</summary>
    public IReadOnlyList<TurnEvent> Complete()
    {
        var events = new List<TurnEvent>();
        if (_pendingCount > 0 && _inSpeech)
        {
            _utterance.AddRange(_pending.AsSpan(0, _pendingCount));
        }

        _pendingCount = 0;
        if (_inSpeech)
        {
            FinishUtterance(events, EndOfTurnReason.EndOfStream);
        }

        return events;
    }

    private void ProcessFrame(float[] frame, List<TurnEvent> events)
    {
        var probability = _detector.Process(frame);
        var microphoneRms = Rms(frame);
        var playbackRms = TakePlaybackRms();
        var isUser = _echoGate.IsUserLouderThanEcho(playbackRms, microphoneRms);
        var threshold = _inSpeech ? _options.SilenceThreshold : _options.SpeechThreshold;
        var isSpeech = probability >= threshold && isUser;
        _framesSeen++;

        if (!_inSpeech)
        {
            _preRoll.Enqueue((float[])frame.Clone());
            while (_preRoll.Count > PreRollFrames + StartFrames)
            {
                _preRoll.Dequeue();
            }

            if (!isSpeech)
            {
                _speechRunFrames = 0;
                return;
            }

            _speechRunFrames++;
            if (_speechRunFrames < StartFrames)
            {
                return;
            }

            StartUtterance();
            events.Add(new SpeechStarted(FrameTime(_utteranceStartFrame), IsAssistantSpeaking));
            events.Add(new UtteranceAudio(FrameTime(_framesSeen), _utterance.ToArray()));
            _startReported = true;
            return;
        }

        _utterance.AddRange(frame);
        events.Add(new UtteranceAudio(FrameTime(_framesSeen), (float[])frame.Clone()));
        if (isSpeech)
        {
            if (_tentativeReported)
            {
                _tentativeReported = false;
                events.Add(new TurnResumed(FrameTime(_framesSeen)));
            }

            _speechFrames++;
            _silenceFrames = 0;
            _finalPitch = null;
            _lastSpeechFrameInUtterance = _utterance.Count / _frameSize;
        }
        else
        {
            _silenceFrames++;
        }

        if (!_bargedIn && _startedWhileAssistantSpeaking && IsAssistantSpeaking && _speechFrames * FrameMilliseconds >= _options.BargeInSpeech.TotalMilliseconds)
        {
            _bargedIn = true;
            events.Add(new BargeIn(FrameTime(_framesSeen), FrameTime(_utteranceStartFrame)));
        }

        var silence = TimeSpan.FromMilliseconds(_silenceFrames * FrameMilliseconds);
        if (!_tentativeReported && _silenceFrames > 0 && _options.TentativeSilence is { } tentative && silence >= tentative
            && _speechFrames * FrameMilliseconds >= _options.MinimumUtteranceSpeech.TotalMilliseconds)
        {
            _tentativeReported = true;
            events.Add(new TentativeEndOfTurn(FrameTime(_framesSeen), new AudioClip(SpeechSamples(), Rate), FrameTime(_utteranceStartFrame)));
        }
        // Over the companion's voice, before it is a barge-in, the short pitch-based end is not used: an interruption
        // with a comma pause ("No, wait, ...") must not fall apart into fragments too short to interrupt.
        var talkingOver = _startedWhileAssistantSpeaking && !_bargedIn;
        if (_silenceFrames > 0 && silence >= _options.FallingPitchSilence && _options.UseFallingPitch && !talkingOver)
        {
            _finalPitch ??= FinalPitch();
            if (_finalPitch is EndOfTurnReason.FallingPitch or EndOfTurnReason.RisingPitch)
            {
                FinishUtterance(events, _finalPitch.Value);
                return;
            }
        }

        if (silence >= _options.EndOfTurnSilence)
        {
            FinishUtterance(events, EndOfTurnReason.Silence);
            return;
        }

        if (_utterance.Count >= _options.MaximumUtterance.TotalSeconds * Rate)
        {
            FinishUtterance(events, EndOfTurnReason.MaximumLength);
            if (isSpeech)
            {
                // Still talking: the monologue goes on as a new turn, so nothing is lost.
                StartUtterance();
                events.Add(new SpeechStarted(FrameTime(_utteranceStartFrame), IsAssistantSpeaking));
            }
        }
    }

    private void StartUtterance()
    {
        _inSpeech = true;
        _utterance.Clear();
        var kept = _preRoll.ToArray();
        // The frames of the start run itself are in the queue too; keep them plus the pre-roll before them.
        var keep = Math.Min(kept.Length, PreRollFrames + _speechRunFrames);
        foreach (var frame in kept.Skip(kept.Length - keep))
        {
            _utterance.AddRange(frame);
        }

        _preRoll.Clear();
        _utteranceStartFrame = _framesSeen - Math.Max(1, _speechRunFrames);
        _speechFrames = Math.Max(1, _speechRunFrames);
        _speechRunFrames = 0;
        _silenceFrames = 0;
        _bargedIn = false;
        _startedWhileAssistantSpeaking = IsAssistantSpeaking;
        _lastSpeechFrameInUtterance = _utterance.Count / _frameSize;
        _finalPitch = null;
        _tentativeReported = false;
    }

    private void FinishUtterance(List<TurnEvent> events, EndOfTurnReason reason)
    {
        _inSpeech = false;
        _startReported = false;
        var speech = TimeSpan.FromMilliseconds(_speechFrames * FrameMilliseconds);
        var now = FrameTime(_framesSeen);
        if (speech < _options.MinimumUtteranceSpeech && reason != EndOfTurnReason.MaximumLength)
        {
            events.Add(new SpeechDiscarded(now, speech));
        }
        else
        {
            var samples = reason is EndOfTurnReason.MaximumLength or EndOfTurnReason.EndOfStream ? _utterance.ToArray() : SpeechSamples();
            var utteranceStartSample = _framesSeen * _frameSize - _utterance.Count;
            var speechEnd = TimeSpan.FromSeconds((double)(utteranceStartSample + (long)_lastSpeechFrameInUtterance * _frameSize) / Rate);
            events.Add(new EndOfTurn(now, new AudioClip(samples, Rate), FrameTime(_utteranceStartFrame), speech, reason, _startedWhileAssistantSpeaking) { SpeechEndedAt = speechEnd });
        }

        _utterance.Clear();
        _speechFrames = 0;
        _silenceFrames = 0;
        _bargedIn = false;
        _tentativeReported = false;
    }

    /// <summary>
    /// The utterance up to its last speech frame and the two frames (64 ms) of silence after it, not the whole wait;
    /// the same at the tentative end (which comes after two silent frames) and at the confirmed end.
    /// </summary>
    private float[] SpeechSamples()
    {
        var keepFrames = Math.Min(_utterance.Count / _frameSize, _lastSpeechFrameInUtterance + TrailingFrames);
        return _utterance.GetRange(0, keepFrames * _frameSize).ToArray();
    }

    /// <summary>
    /// How the pitch of the last voiced stretch moves, judged from the last 400 ms of speech: falling (a finished
    /// statement), clearly rising (a yes/no question) — both yield the turn — or level (<see cref="EndOfTurnReason.Silence"/>:
    /// the speaker is more likely to go on, so the full silence is waited for).
    /// </summary>
    private EndOfTurnReason FinalPitch()
    {
        var end = Math.Min(_utterance.Count, _lastSpeechFrameInUtterance * _frameSize);
        var start = Math.Max(0, end - FinalPitchWindowSamples);
        if (end - start < FinalPitchWindowSamples / 2)
        {
            return EndOfTurnReason.Silence;
        }

        var window = _utterance.GetRange(start, end - start).ToArray();
        var frames = _pitchTracker.Track(window);
        var points = frames.Select((frame, index) => (frame, index)).Where(pair => pair.frame.IsVoiced).ToArray();
        if (points.Length < 8)
        {
            return EndOfTurnReason.Silence;
        }

        var semitones = points.Select(pair => 12 * Math.Log2(pair.frame.FrequencyHz / 55.0)).ToArray();
        var positions = points.Select(pair => pair.index).ToArray();
        var slope = Statistics.Slope(semitones, positions) * 100; // semitones per second
        return slope <= FallingSlopeSemitonesPerSecond ? EndOfTurnReason.FallingPitch
            : slope >= RisingSlopeSemitonesPerSecond && _options.UseRisingPitch ? EndOfTurnReason.RisingPitch
            : EndOfTurnReason.Silence;
    }

    private double TakePlaybackRms()
    {
        if (_playback.Count == 0)
        {
            return 0;
        }

        var count = Math.Min(_frameSize, _playback.Count);
        double sum = 0;
        for (var index = 0; index < count; index++)
        {
            sum += (double)_playback[index] * _playback[index];
        }

        _playback.RemoveRange(0, count);
        return Math.Sqrt(sum / _frameSize);
    }

    private static double Rms(ReadOnlySpan<float> frame)
    {
        double sum = 0;
        foreach (var sample in frame)
        {
            sum += (double)sample * sample;
        }

        return Math.Sqrt(sum / frame.Length);
    }

    private TimeSpan FrameTime(long frames) => TimeSpan.FromSeconds((double)frames * _frameSize / Rate);

    public void Dispose() => _detector.Dispose();
}
