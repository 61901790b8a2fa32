using Anima.Voice.Audio;

namespace Anima.Voice.Emotion;

/// <summary>
/// Extracts prosodic and spectral features from one utterance at 16 kHz: frame-level descriptors every 10 ms
/// (log-mel bands, MFCCs and their deltas, level, YIN pitch and periodicity, spectral centroid, roll-off,
/// flatness, flux, zero-crossing rate, alpha ratio, Hammarberg index) summarized over the active frames by
/// means, deviations, percentiles and slopes, plus utterance measures (speaking rate, pauses, jitter, shimmer).
/// Instances reuse buffers and are not thread-safe.
/// </summary>
public sealed class ProsodyFeatureExtractor
{
    public const int SampleRate = AudioClip.PipelineSampleRate;
    private const int Hop = PitchTracker.HopSamples; // 160 = 10 ms
    private const int Window = 400; // 25 ms
    private const int FftSize = 512;
    private const int Bins = FftSize / 2 + 1;
    private const int MelBands = 40;
    private const int Cepstra = 13;
    private const double ActiveRangeDecibels = 40;
    private const double AbsoluteFloorDecibels = -60;
    private const int PauseFrames = 15; // 150 ms

    private static readonly float[] HammingWindow = Enumerable.Range(0, Window).Select(index => (float)(0.54 - 0.46 * Math.Cos(2 * Math.PI * index / (Window - 1)))).ToArray();
    private static readonly float[][] MelFilters = BuildMelFilters();
    private static readonly float[][] DctMatrix = BuildDct();
    private readonly Fft _fft = new(FftSize);
    private readonly PitchTracker _pitchTracker = new();
    private readonly float[] _real = new float[FftSize];
    private readonly float[] _imaginary = new float[FftSize];

    /// <summary>The names of <see cref="ProsodyFeatures.Vector"/>'s entries, in order.</summary>
    public static IReadOnlyList<string> FeatureNames { get; } = BuildNames();

    /// <summary>Extracts the features of <paramref name="clip"/> (converted to 16 kHz when needed).</summary>
    public ProsodyFeatures Extract(AudioClip clip)
    {
        ArgumentNullException.ThrowIfNull(clip);
        var samples = clip.ToSampleRate(SampleRate).Samples;
        var frameCount = Math.Max(0, (samples.Length - Window) / Hop + 1);
        if (frameCount < 10)
        {
            return Empty();
        }

        // Frame-level descriptors: [frame][band] log-mel, [frame][coefficient] MFCC, and scalars per frame.
        var logMel = new float[frameCount][];
        var cepstra = new float[frameCount][];
        var level = new double[frameCount];
        var centroid = new double[frameCount];
        var rolloff = new double[frameCount];
        var flatness = new double[frameCount];
        var flux = new double[frameCount];
        var crossings = new double[frameCount];
        var alphaRatio = new double[frameCount];
        var hammarberg = new double[frameCount];
        var vowelBand = new double[frameCount];
        var power = new double[Bins];
        var previousMagnitude = new double[Bins];
        for (var frame = 0; frame < frameCount; frame++)
        {
            var offset = frame * Hop;
            Array.Clear(_real);
            Array.Clear(_imaginary);
            double sumSquares = 0;
            var zeroCrossings = 0;
            for (var index = 0; index < Window; index++)
            {
                var sample = samples[offset + index];
                sumSquares += (double)sample * sample;
                if (index > 0 && (sample >= 0) != (samples[offset + index - 1] >= 0))
                {
                    zeroCrossings++;
                }

                var emphasized = index == 0 && offset == 0 ? sample : sample - 0.97f * samples[offset + index - 1];
                _real[index] = emphasized * HammingWindow[index];
            }

            level[frame] = 10 * Math.Log10(sumSquares / Window + 1e-10);
            crossings[frame] = (double)zeroCrossings / Window;
            _fft.Forward(_real, _imaginary);
            double total = 0, weighted = 0, logSum = 0, fluxSum = 0, magnitudeSum = 0;
            double low = 0, mid = 0, maxLow = 0, maxHigh = 0, vowel = 0;
            for (var bin = 0; bin < Bins; bin++)
            {
                power[bin] = (double)_real[bin] * _real[bin] + (double)_imaginary[bin] * _imaginary[bin];
                var frequency = (double)bin * SampleRate / FftSize;
                total += power[bin];
                weighted += power[bin] * frequency;
                logSum += Math.Log(power[bin] + 1e-12);
                magnitudeSum += Math.Sqrt(power[bin]);
                if (frequency is >= 300 and < 2500)
                {
                    vowel += power[bin];
                }

                if (frequency is >= 50 and < 1000)
                {
                    low += power[bin];
                }
                else if (frequency is >= 1000 and < 5000)
                {
                    mid += power[bin];
                }

                if (frequency < 2000)
                {
                    maxLow = Math.Max(maxLow, power[bin]);
                }
                else if (frequency < 5000)
                {
                    maxHigh = Math.Max(maxHigh, power[bin]);
                }
            }

            centroid[frame] = total > 0 ? weighted / total : 0;
            var cumulative = 0.0;
            rolloff[frame] = 0;
            for (var bin = 0; bin < Bins; bin++)
            {
                cumulative += power[bin];
                if (cumulative >= 0.85 * total)
                {
                    rolloff[frame] = (double)bin * SampleRate / FftSize;
                    break;
                }
            }

            flatness[frame] = total > 0 ? Math.Exp(logSum / Bins) / (total / Bins) : 0;
            for (var bin = 0; bin < Bins; bin++)
            {
                var magnitude = magnitudeSum > 0 ? Math.Sqrt(power[bin]) / magnitudeSum : 0;
                fluxSum += (magnitude - previousMagnitude[bin]) * (magnitude - previousMagnitude[bin]);
                previousMagnitude[bin] = magnitude;
            }

            flux[frame] = frame == 0 ? 0 : Math.Sqrt(fluxSum);
            alphaRatio[frame] = 10 * Math.Log10((mid + 1e-12) / (low + 1e-12));
            hammarberg[frame] = 10 * Math.Log10((maxLow + 1e-12) / (maxHigh + 1e-12));
            vowelBand[frame] = 10 * Math.Log10(vowel + 1e-10);

            var mel = new float[MelBands];
            for (var band = 0; band < MelBands; band++)
            {
                double energy = 0;
                var filter = MelFilters[band];
                for (var bin = 0; bin < Bins; bin++)
                {
                    energy += filter[bin] * power[bin];
                }

                mel[band] = (float)Math.Log(energy + 1e-10);
            }

            logMel[frame] = mel;
            var cepstrum = new float[Cepstra];
            for (var coefficient = 0; coefficient < Cepstra; coefficient++)
            {
                double sum = 0;
                for (var band = 0; band < MelBands; band++)
                {
                    sum += DctMatrix[coefficient][band] * mel[band];
                }

                cepstrum[coefficient] = (float)sum;
            }

            cepstra[frame] = cepstrum;
        }

        // Pitch on the same 10 ms grid; the YIN frame starting at sample k·160 is aligned with spectral frame k.
        var pitch = _pitchTracker.Track(samples);
        var maximumLevel = level.Max();
        var threshold = Math.Max(maximumLevel - ActiveRangeDecibels, AbsoluteFloorDecibels);
        var active = new bool[frameCount];
        var voiced = new bool[frameCount];
        for (var frame = 0; frame < frameCount; frame++)
        {
            active[frame] = level[frame] > threshold;
            voiced[frame] = active[frame] && frame < pitch.Length && pitch[frame].IsVoiced && level[frame] > maximumLevel - 30;
        }

        var activeIndices = Enumerable.Range(0, frameCount).Where(frame => active[frame]).ToArray();
        var voicedIndices = Enumerable.Range(0, frameCount).Where(frame => voiced[frame]).ToArray();
        if (activeIndices.Length < 5 || voicedIndices.Length < 3 || maximumLevel < AbsoluteFloorDecibels + 10)
        {
            return Empty();
        }

        var vector = new List<float>(FeatureNames.Count);
        for (var band = 0; band < MelBands; band++)
        {
            var values = activeIndices.Select(frame => (double)logMel[frame][band]).ToArray();
            vector.Add((float)Statistics.Mean(values));
            vector.Add((float)Statistics.StandardDeviation(values));
        }

        for (var coefficient = 0; coefficient < Cepstra; coefficient++)
        {
            var values = activeIndices.Select(frame => (double)cepstra[frame][coefficient]).ToArray();
            vector.Add((float)Statistics.Mean(values));
            vector.Add((float)Statistics.StandardDeviation(values));
            vector.Add((float)Statistics.Percentile(values, 0.1));
            vector.Add((float)Statistics.Percentile(values, 0.9));
            var deltas = Deltas(cepstra, coefficient, activeIndices);
            vector.Add((float)Statistics.StandardDeviation(deltas));
        }

        var activeLevel = activeIndices.Select(frame => level[frame]).ToArray();
        AddContour(vector, activeLevel, activeIndices);

        // Pitch in semitones relative to 55 Hz: a perceptual scale where shifts are comparable across voices.
        var semitones = voicedIndices.Select(frame => 12 * Math.Log2(pitch[frame].FrequencyHz / 55.0)).ToArray();
        AddContour(vector, semitones, voicedIndices);
        var finalIndices = voicedIndices.Where(frame => frame >= voicedIndices[^1] - 30).ToArray();
        var finalSlope = Statistics.Slope(finalIndices.Select(frame => 12 * Math.Log2(pitch[frame].FrequencyHz / 55.0)).ToArray(), finalIndices) * 100;
        vector.Add((float)finalSlope);
        var voicedFraction = (double)voicedIndices.Length / activeIndices.Length;
        vector.Add((float)voicedFraction);

        var periodicity = voicedIndices.Select(frame => (double)pitch[frame].Periodicity).ToArray();
        var harmonicsToNoise = periodicity.Select(value => 10 * Math.Log10((value + 1e-3) / (1 - value + 1e-3))).ToArray();
        vector.Add((float)Statistics.Mean(harmonicsToNoise));
        vector.Add((float)Statistics.StandardDeviation(harmonicsToNoise));

        var (jitter, shimmer) = JitterAndShimmer(pitch, level, voiced);
        vector.Add((float)jitter);
        vector.Add((float)shimmer);

        foreach (var descriptor in new[] { centroid, rolloff, flatness, flux, crossings, alphaRatio, hammarberg })
        {
            var values = activeIndices.Select(frame => descriptor[frame]).ToArray();
            vector.Add((float)Statistics.Mean(values));
            vector.Add((float)Statistics.StandardDeviation(values));
        }

        var first = activeIndices[0];
        var last = activeIndices[^1];
        var span = last - first + 1;
        var (pausedFrames, pauseCount) = Pauses(active, first, last);
        var speechSeconds = Math.Max(0.1, (span - pausedFrames) / 100.0);
        var syllables = SyllableNuclei(vowelBand, voiced, first, last);
        var speakingRate = syllables / speechSeconds;
        var pauseRatio = (double)pausedFrames / span;
        vector.Add((float)speakingRate);
        vector.Add((float)pauseRatio);
        vector.Add((float)(pauseCount / (span / 100.0)));
        vector.Add((float)(span / 100.0));

        var features = vector.ToArray();
        for (var index = 0; index < features.Length; index++)
        {
            if (!float.IsFinite(features[index]))
            {
                features[index] = 0;
            }
        }

        return new ProsodyFeatures(
            HasSpeech: true,
            MeanPitchHz: voicedIndices.Average(frame => pitch[frame].FrequencyHz),
            PitchRangeSemitones: Statistics.Percentile(semitones, 0.9) - Statistics.Percentile(semitones, 0.1),
            FinalPitchSlope: finalSlope,
            MeanLoudnessDecibels: Statistics.Mean(activeLevel),
            LoudnessVariationDecibels: Statistics.StandardDeviation(activeLevel),
            SpeakingRate: speakingRate,
            PauseRatio: pauseRatio,
            Jitter: jitter,
            Shimmer: shimmer,
            HarmonicsToNoiseDecibels: Statistics.Mean(harmonicsToNoise),
            VoicedFraction: voicedFraction,
            Vector: features);
    }

    private static ProsodyFeatures Empty() => new(false, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, new float[FeatureNames.Count]);

    private static void AddContour(List<float> vector, double[] values, int[] frames)
    {
        vector.Add((float)Statistics.Mean(values));
        vector.Add((float)Statistics.StandardDeviation(values));
        vector.Add((float)Statistics.Percentile(values, 0.1));
        vector.Add((float)Statistics.Percentile(values, 0.5));
        vector.Add((float)Statistics.Percentile(values, 0.9));
        vector.Add((float)(Statistics.Percentile(values, 0.9) - Statistics.Percentile(values, 0.1)));
        vector.Add((float)(Statistics.Slope(values, frames) * 100)); // per second
        var changes = new List<double>();
        for (var index = 1; index < values.Length; index++)
        {
            if (frames[index] == frames[index - 1] + 1)
            {
                changes.Add(Math.Abs(values[index] - values[index - 1]));
            }
        }

        vector.Add((float)(changes.Count == 0 ? 0 : changes.Average()));
    }

    private static double[] Deltas(float[][] cepstra, int coefficient, int[] frames)
    {
        // The regression delta over ±2 frames.
        var deltas = new double[frames.Length];
        for (var index = 0; index < frames.Length; index++)
        {
            var frame = frames[index];
            double numerator = 0;
            for (var step = 1; step <= 2; step++)
            {
                var ahead = cepstra[Math.Min(cepstra.Length - 1, frame + step)][coefficient];
                var behind = cepstra[Math.Max(0, frame - step)][coefficient];
                numerator += step * (ahead - behind);
            }

            deltas[index] = numerator / 10;
        }

        return deltas;
    }

    private static (double Jitter, double Shimmer) JitterAndShimmer(PitchFrame[] pitch, double[] level, bool[] voiced)
    {
        double periodChange = 0, periodSum = 0, amplitudeChange = 0, amplitudeSum = 0;
        var pairs = 0;
        for (var frame = 1; frame < voiced.Length && frame < pitch.Length; frame++)
        {
            if (!voiced[frame] || !voiced[frame - 1])
            {
                continue;
            }

            double period = 1 / pitch[frame].FrequencyHz, previousPeriod = 1 / pitch[frame - 1].FrequencyHz;
            double amplitude = Math.Pow(10, level[frame] / 20), previousAmplitude = Math.Pow(10, level[frame - 1] / 20);
            periodChange += Math.Abs(period - previousPeriod);
            periodSum += period;
            amplitudeChange += Math.Abs(amplitude - previousAmplitude);
            amplitudeSum += amplitude;
            pairs++;
        }

        return pairs == 0 ? (0, 0) : (periodChange / periodSum, amplitudeChange / amplitudeSum);
    }

    private static (int PausedFrames, int PauseCount) Pauses(bool[] active, int first, int last)
    {
        int paused = 0, count = 0, run = 0;
        for (var frame = first; frame <= last + 1; frame++)
        {
            if (frame <= last && !active[frame])
            {
                run++;
                continue;
            }

            if (run >= PauseFrames)
            {
                paused += run;
                count++;
            }

            run = 0;
        }

        return (paused, count);
    }

    /// <summary>
    /// Counts syllable nuclei (after de Jong &amp; Wempe 2009): peaks of the lightly smoothed 300–2500 Hz band level
    /// (where vowels stand out from consonants) in voiced frames, at least 1.5 dB above the dip before them and
    /// 60 ms apart.
    /// </summary>
    private static int SyllableNuclei(double[] level, bool[] voiced, int first, int last)
    {
        var smoothed = new double[level.Length];
        for (var frame = 0; frame < level.Length; frame++)
        {
            double sum = 0;
            var count = 0;
            for (var offset = -1; offset <= 1; offset++)
            {
                var index = frame + offset;
                if (index >= 0 && index < level.Length)
                {
                    sum += level[index];
                    count++;
                }
            }

            smoothed[frame] = sum / count;
        }

        var voicedLevels = Enumerable.Range(first, last - first + 1).Where(frame => voiced[frame]).Select(frame => smoothed[frame]).ToArray();
        if (voicedLevels.Length == 0)
        {
            return 0;
        }

        var floor = Statistics.Percentile(voicedLevels, 0.5) - 6;
        var nuclei = 0;
        var dip = double.MaxValue;
        var lastPeak = -100;
        for (var frame = Math.Max(first, 1); frame < Math.Min(last, level.Length - 1); frame++)
        {
            dip = Math.Min(dip, smoothed[frame]);
            var isPeak = smoothed[frame] >= smoothed[frame - 1] && smoothed[frame] > smoothed[frame + 1];
            if (isPeak && voiced[frame] && smoothed[frame] > floor && smoothed[frame] - dip >= 1.5 && frame - lastPeak >= 6)
            {
                nuclei++;
                lastPeak = frame;
                dip = double.MaxValue;
            }
        }

        return nuclei;
    }

    private static float[][] BuildMelFilters()
    {
        static double ToMel(double hertz) => 2595 * Math.Log10(1 + hertz / 700);
        static double ToHertz(double mel) => 700 * (Math.Pow(10, mel / 2595) - 1);
        var low = ToMel(20);
        var high = ToMel(SampleRate / 2.0);
        var edges = Enumerable.Range(0, MelBands + 2).Select(index => ToHertz(low + (high - low) * index / (MelBands + 1))).ToArray();
        var filters = new float[MelBands][];
        for (var band = 0; band < MelBands; band++)
        {
            filters[band] = new float[Bins];
            for (var bin = 0; bin < Bins; bin++)
            {
                var frequency = (double)bin * SampleRate / FftSize;
                var rising = (frequency - edges[band]) / (edges[band + 1] - edges[band]);
                var falling = (edges[band + 2] - frequency) / (edges[band + 2] - edges[band + 1]);
                filters[band][bin] = (float)Math.Max(0, Math.Min(rising, falling));
            }
        }

        return filters;
    }

    private static float[][] BuildDct()
    {
        var matrix = new float[Cepstra][];
        for (var coefficient = 0; coefficient < Cepstra; coefficient++)
        {
            matrix[coefficient] = new float[MelBands];
            var scale = Math.Sqrt((coefficient == 0 ? 1.0 : 2.0) / MelBands);
            for (var band = 0; band < MelBands; band++)
            {
                matrix[coefficient][band] = (float)(scale * Math.Cos(Math.PI * coefficient * (band + 0.5) / MelBands));
            }
        }

        return matrix;
    }

    private static string[] BuildNames()
    {
        var names = new List<string>();
        for (var band = 0; band < MelBands; band++)
        {
            names.Add($"logmel{band}_mean");
            names.Add($"logmel{band}_std");
        }

        for (var coefficient = 0; coefficient < Cepstra; coefficient++)
        {
            names.AddRange([$"mfcc{coefficient}_mean", $"mfcc{coefficient}_std", $"mfcc{coefficient}_p10", $"mfcc{coefficient}_p90", $"mfcc{coefficient}_delta_std"]);
        }

        foreach (var contour in new[] { "level", "pitch" })
        {
            names.AddRange([$"{contour}_mean", $"{contour}_std", $"{contour}_p10", $"{contour}_p50", $"{contour}_p90", $"{contour}_range", $"{contour}_slope", $"{contour}_change"]);
        }

        names.AddRange(["pitch_final_slope", "voiced_fraction", "hnr_mean", "hnr_std", "jitter", "shimmer"]);
        foreach (var descriptor in new[] { "centroid", "rolloff", "flatness", "flux", "zcr", "alpha_ratio", "hammarberg" })
        {
            names.Add($"{descriptor}_mean");
            names.Add($"{descriptor}_std");
        }

        names.AddRange(["speaking_rate", "pause_ratio", "pause_rate", "duration"]);
        return [.. names];
    }
}
