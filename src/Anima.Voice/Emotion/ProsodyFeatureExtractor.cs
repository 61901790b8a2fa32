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
    private static readonly (double Low, double High)[] SlopeBands = [(0, 500), (500, 1500), (1500, 4000), (4000, 8000)];
    private static readonly double[] CosineTable = BuildCosineTable();
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
        var bandSlopes = new double[SlopeBands.Length][];
        for (var band = 0; band < SlopeBands.Length; band++)
        {
            bandSlopes[band] = new double[frameCount];
        }

        var cepstralPeak = new double[frameCount];
        var firstPeak = new double[frameCount];
        var secondPeak = new double[frameCount];
        var spectra = new float[frameCount][];
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
            var spectrum = new float[Bins];
            for (var bin = 0; bin < Bins; bin++)
            {
                spectrum[bin] = (float)(10 * Math.Log10(power[bin] + 1e-10));
            }

            spectra[frame] = spectrum;
            for (var band = 0; band < SlopeBands.Length; band++)
            {
                bandSlopes[band][frame] = BandSlope(spectrum, SlopeBands[band].Low, SlopeBands[band].High);
            }

            firstPeak[frame] = PeakFrequency(spectrum, 250, 900);
            secondPeak[frame] = PeakFrequency(spectrum, 900, 2600);

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
            vector.Add((float)Statistics.StandardDeviation(Deltas(logMel, band, activeIndices)));
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
            vector.Add((float)Statistics.StandardDeviation(DeltaDeltas(cepstra, coefficient, activeIndices)));
        }

        var activeLevel = activeIndices.Select(frame => level[frame]).ToArray();
        AddContour(vector, activeLevel, activeIndices);
        AddContourShape(vector, activeLevel, activeIndices);

        // Pitch in semitones relative to 55 Hz: a perceptual scale where shifts are comparable across voices.
        var semitones = voicedIndices.Select(frame => 12 * Math.Log2(pitch[frame].FrequencyHz / 55.0)).ToArray();
        AddContour(vector, semitones, voicedIndices);
        AddContourShape(vector, semitones, voicedIndices);
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

        // Voice quality and vocal tract on voiced frames: spectral slope per band, cepstral peak prominence,
        // the first two harmonics' level difference (H1–H2) and the strongest peaks where F1 and F2 lie.
        var harmonicDifference = voicedIndices.Select(frame => HarmonicDifference(spectra[frame], pitch[frame].FrequencyHz)).ToArray();
        var cepstrumInput = new double[Bins];
        foreach (var frame in voicedIndices)
        {
            cepstralPeak[frame] = CepstralPeakProminence(spectra[frame], cepstrumInput); // the costly one: voiced frames only
        }

        foreach (var descriptor in bandSlopes.Append(cepstralPeak).Append(firstPeak).Append(secondPeak))
        {
            var values = voicedIndices.Select(frame => descriptor[frame]).ToArray();
            vector.Add((float)Statistics.Mean(values));
            vector.Add((float)Statistics.StandardDeviation(values));
        }

        vector.Add((float)Statistics.Mean(harmonicDifference));
        vector.Add((float)Statistics.StandardDeviation(harmonicDifference));

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
        var (voicedRuns, meanVoicedRun) = VoicedRuns(voiced, first, last);
        vector.Add((float)(voicedRuns / (span / 100.0)));
        vector.Add((float)meanVoicedRun);

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

    /// <summary>Shape of a contour: skewness, kurtosis, quartiles, and the mean rise and fall between adjacent frames.</summary>
    private static void AddContourShape(List<float> vector, double[] values, int[] frames)
    {
        var mean = Statistics.Mean(values);
        var deviation = Statistics.StandardDeviation(values);
        double third = 0, fourth = 0;
        foreach (var value in values)
        {
            var z = deviation > 1e-9 ? (value - mean) / deviation : 0;
            third += z * z * z;
            fourth += z * z * z * z;
        }

        vector.Add((float)(values.Length == 0 ? 0 : third / values.Length));
        vector.Add((float)(values.Length == 0 ? 0 : fourth / values.Length - 3));
        vector.Add((float)Statistics.Percentile(values, 0.25));
        vector.Add((float)Statistics.Percentile(values, 0.75));
        double rise = 0, fall = 0;
        int rises = 0, falls = 0;
        for (var index = 1; index < values.Length; index++)
        {
            if (frames[index] != frames[index - 1] + 1)
            {
                continue;
            }

            var change = values[index] - values[index - 1];
            if (change > 0)
            {
                rise += change;
                rises++;
            }
            else if (change < 0)
            {
                fall -= change;
                falls++;
            }
        }

        vector.Add((float)(rises == 0 ? 0 : rise / rises));
        vector.Add((float)(falls == 0 ? 0 : fall / falls));
    }

    /// <summary>The least-squares slope of the dB spectrum between two frequencies, dB per kHz.</summary>
    private static double BandSlope(float[] spectrum, double low, double high)
    {
        double sumX = 0, sumY = 0, sumXY = 0, sumXX = 0;
        var count = 0;
        for (var bin = 0; bin < Bins; bin++)
        {
            var frequency = (double)bin * SampleRate / FftSize;
            if (frequency < low || frequency >= high)
            {
                continue;
            }

            var x = frequency / 1000;
            sumX += x;
            sumY += spectrum[bin];
            sumXY += x * spectrum[bin];
            sumXX += x * x;
            count++;
        }

        var denominator = count * sumXX - sumX * sumX;
        return count < 2 || denominator <= 0 ? 0 : (count * sumXY - sumX * sumY) / denominator;
    }

    /// <summary>The frequency of the strongest (3-bin smoothed) spectral peak between two frequencies.</summary>
    private static double PeakFrequency(float[] spectrum, double low, double high)
    {
        var best = double.NegativeInfinity;
        var bestBin = 0;
        for (var bin = 1; bin < Bins - 1; bin++)
        {
            var frequency = (double)bin * SampleRate / FftSize;
            if (frequency < low || frequency >= high)
            {
                continue;
            }

            var smoothed = (spectrum[bin - 1] + 2.0 * spectrum[bin] + spectrum[bin + 1]) / 4;
            if (smoothed > best)
            {
                best = smoothed;
                bestBin = bin;
            }
        }

        return (double)bestBin * SampleRate / FftSize;
    }

    /// <summary>
    /// Cepstral peak prominence (Hillenbrand): the height of the cepstrum's peak at quefrencies of 60–500 Hz voices
    /// above the regression line of the cepstrum over that range; higher for a clear, periodic voice.
    /// </summary>
    private static double CepstralPeakProminence(float[] spectrum, double[] input)
    {
        for (var bin = 0; bin < Bins; bin++)
        {
            input[bin] = spectrum[bin];
        }

        // Real cepstrum by a cosine transform of the dB spectrum (even-symmetric).
        const int First = SampleRate / 500;
        const int Last = SampleRate / 60 < FftSize / 2 ? SampleRate / 60 : FftSize / 2 - 1;
        double sumX = 0, sumY = 0, sumXY = 0, sumXX = 0, peak = double.NegativeInfinity;
        var peakAt = First;
        var cepstrum = new double[Last + 1];
        for (var quefrency = First; quefrency <= Last; quefrency++)
        {
            cepstrum[quefrency] = System.Numerics.Tensors.TensorPrimitives.Dot<double>(input, CosineTable.AsSpan(quefrency * Bins, Bins)) / Bins;
            sumX += quefrency;
            sumY += cepstrum[quefrency];
            sumXY += quefrency * cepstrum[quefrency];
            sumXX += (double)quefrency * quefrency;
            if (cepstrum[quefrency] > peak)
            {
                peak = cepstrum[quefrency];
                peakAt = quefrency;
            }
        }

        var count = Last - First + 1;
        var slope = (count * sumXY - sumX * sumY) / (count * sumXX - sumX * sumX);
        var intercept = (sumY - slope * sumX) / count;
        return peak - (intercept + slope * peakAt);
    }

    /// <summary>H1–H2: the level of the first harmonic minus that of the second, dB (breathy voices have more).</summary>
    private static double HarmonicDifference(float[] spectrum, double pitchHz)
    {
        double Level(double frequency)
        {
            var bin = (int)Math.Round(frequency * FftSize / SampleRate);
            var best = float.NegativeInfinity;
            for (var near = Math.Max(0, bin - 1); near <= Math.Min(Bins - 1, bin + 1); near++)
            {
                best = Math.Max(best, spectrum[near]);
            }

            return best;
        }

        return pitchHz <= 0 ? 0 : Level(pitchHz) - Level(2 * pitchHz);
    }

    private static (int Runs, double MeanLength) VoicedRuns(bool[] voiced, int first, int last)
    {
        int runs = 0, frames = 0;
        for (var frame = first; frame <= last; frame++)
        {
            if (voiced[frame])
            {
                frames++;
                if (frame == first || !voiced[frame - 1])
                {
                    runs++;
                }
            }
        }

        return (runs, runs == 0 ? 0 : frames / 100.0 / runs);
    }

    private static double[] DeltaDeltas(float[][] cepstra, int coefficient, int[] frames)
    {
        // The second difference of the ±2-frame regression delta, i.e. the delta of the delta.
        double Delta(int frame)
        {
            double numerator = 0;
            for (var step = 1; step <= 2; step++)
            {
                numerator += step * (cepstra[Math.Clamp(frame + step, 0, cepstra.Length - 1)][coefficient] - cepstra[Math.Clamp(frame - step, 0, cepstra.Length - 1)][coefficient]);
            }

            return numerator / 10;
        }

        var result = new double[frames.Length];
        for (var index = 0; index < frames.Length; index++)
        {
            var frame = frames[index];
            double numerator = 0;
            for (var step = 1; step <= 2; step++)
            {
                numerator += step * (Delta(frame + step) - Delta(frame - step));
            }

            result[index] = numerator / 10;
        }

        return result;
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

    private static double[] BuildCosineTable()
    {
        // cos(π·q·k / (Bins − 1)) for the cepstrum of the half spectrum; rows are quefrencies up to FftSize / 2.
        var table = new double[(FftSize / 2 + 1) * Bins];
        for (var quefrency = 0; quefrency <= FftSize / 2; quefrency++)
        {
            for (var bin = 0; bin < Bins; bin++)
            {
                table[quefrency * Bins + bin] = (bin is 0 or Bins - 1 ? 1 : 2) * Math.Cos(Math.PI * quefrency * bin / (Bins - 1));
            }
        }

        return table;
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
            names.Add($"logmel{band}_delta_std");
        }

        for (var coefficient = 0; coefficient < Cepstra; coefficient++)
        {
            names.AddRange([$"mfcc{coefficient}_mean", $"mfcc{coefficient}_std", $"mfcc{coefficient}_p10", $"mfcc{coefficient}_p90", $"mfcc{coefficient}_delta_std", $"mfcc{coefficient}_delta2_std"]);
        }

        foreach (var contour in new[] { "level", "pitch" })
        {
            names.AddRange([$"{contour}_mean", $"{contour}_std", $"{contour}_p10", $"{contour}_p50", $"{contour}_p90", $"{contour}_range", $"{contour}_slope", $"{contour}_change"]);
            names.AddRange([$"{contour}_skewness", $"{contour}_kurtosis", $"{contour}_p25", $"{contour}_p75", $"{contour}_rise", $"{contour}_fall"]);
        }

        names.AddRange(["pitch_final_slope", "voiced_fraction", "hnr_mean", "hnr_std", "jitter", "shimmer"]);
        foreach (var descriptor in new[] { "centroid", "rolloff", "flatness", "flux", "zcr", "alpha_ratio", "hammarberg" })
        {
            names.Add($"{descriptor}_mean");
            names.Add($"{descriptor}_std");
        }

        foreach (var descriptor in new[] { "slope_0_500", "slope_500_1500", "slope_1500_4000", "slope_4000_8000", "cpp", "peak_f1", "peak_f2", "h1_h2" })
        {
            names.Add($"{descriptor}_mean");
            names.Add($"{descriptor}_std");
        }

        names.AddRange(["speaking_rate", "pause_ratio", "pause_rate", "duration", "voiced_run_rate", "voiced_run_length"]);
        return [.. names];
    }
}
