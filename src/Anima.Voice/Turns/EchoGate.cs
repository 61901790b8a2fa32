namespace Anima.Voice.Turns;

/// <summary>
/// Keeps the companion's own voice, picked up by the user's microphone, from counting as the user speaking
/// (a double-talk detector in the spirit of Geigel's): it remembers the level of the audio played in recent
/// frames, learns how strongly that playback leaks into the microphone (the echo path gain), and declares a
/// microphone frame to be the user only when it is clearly louder than the echo the playback could explain.
/// The browser's own echo cancellation should stay on; this is the server's second line.
/// </summary>
public sealed class EchoGate
{
    /// <summary>How far (in 32 ms frames) the echo may lag the playback: about 480 ms of output and input latency.</summary>
    public const int MaximumDelayFrames = 15;

    /// <summary>How much louder than the predicted echo a frame must be to be the user (6 dB).</summary>
    public const double MarginFactor = 2.0;

    private const double InitialEchoGain = 1.0; // assume the worst (no attenuation) until learned
    private const double MinimumEchoGain = 0.05;
    private readonly double[] _playbackLevels = new double[MaximumDelayFrames + 1];
    private int _position;
    private double _echoGain = InitialEchoGain;

    /// <summary>The learned ratio of echo level to playback level.</summary>
    public double EchoGain => _echoGain;

    /// <summary>The maximum playback level over the echo window, as RMS.</summary>
    public double RecentPlaybackLevel => _playbackLevels.Max();

    /// <summary>
    /// Records the RMS of the playback that coincides with the next microphone frame (0 when nothing plays) and
    /// judges that frame: true when it holds more than the echo of the playback.
    /// </summary>
    public bool IsUserLouderThanEcho(double playbackRms, double microphoneRms)
    {
        _playbackLevels[_position] = playbackRms;
        _position = (_position + 1) % _playbackLevels.Length;
        var reference = RecentPlaybackLevel;
        if (reference < 1e-4)
        {
            return true; // nothing is playing: no echo to explain the sound
        }

        var predictedEcho = _echoGain * reference;
        var isUser = microphoneRms > MarginFactor * predictedEcho;
        if (!isUser)
        {
            // Only echo (or quiet) now: track the echo path gain, rising quickly and falling slowly, so that a
            // loud echo is never mistaken for the user.
            var observed = Math.Max(MinimumEchoGain, microphoneRms / reference);
            _echoGain += (observed > _echoGain ? 0.5 : 0.1) * (observed - _echoGain);
        }

        return isUser;
    }

    public void Reset()
    {
        Array.Clear(_playbackLevels);
        _position = 0;
        _echoGain = InitialEchoGain;
    }
}
