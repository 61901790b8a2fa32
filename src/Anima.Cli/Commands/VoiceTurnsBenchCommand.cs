using System.Globalization;
using Anima.Voice.Activity;
using Anima.Voice.Audio;
using Anima.Voice.Emotion;
using Anima.Voice.Turns;

namespace Anima.Cli.Commands;

/// <summary>
/// How often the end-of-turn decision cuts one recorded utterance into two or more turns (a premature end), and how
/// long it waits after the speech: the cost side of a shorter end-of-turn silence. Each clip of a labelled folder is
/// played through the real turn detector (Silero VAD) with silence around it, once with the shipped settings and once
/// with the settings used before the latency work (350 ms after a falling pitch, 600 ms otherwise, no rising pitch).
/// </summary>
public sealed class VoiceTurnsBenchCommand : ICliCommand
{
    public string Name => "bench voice turns";

    public string Summary => "How often the end-of-turn detector splits one recorded utterance (premature ends), shipped vs previous settings.";

    public string Usage => """
        Usage: anima bench voice turns [--data DIR] [--limit N]
          DIR is a folder with labels.tsv (a `path` column), e.g. ../shared/data/korean-emotional-speech-16k (the default)
          or ../shared/data/ravdess-16k. Each clip gets 0.5 s of silence before and 1.5 s after. Prints, per setting, the
          clips heard as one turn, split into several, or not heard, and the turn-end reasons. The last line is
          `split clips with the shipped English settings: X%`.
        """;

    public async Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        var directory = arguments.Get("--data") ?? Path.Combine(VoicePaths.SharedData(), "korean-emotional-speech-16k");
        var limit = arguments.GetInt32("--limit", int.MaxValue, 1);
        arguments.ThrowIfUnused();
        var clips = VoiceEmotionDataset.ReadLabels(directory).Take(limit).Select(entry => entry.Path).ToList();
        var settings = new (string Name, VoiceTurnOptions Options)[]
        {
            ("shipped for English", new VoiceTurnOptions()),
            ("shipped for Korean", VoiceTurnOptions.ForLanguage("ko")),
            ("falling pitch only, 160 ms", new VoiceTurnOptions { UseRisingPitch = false }),
            ("falling or rising pitch, 250 ms", new VoiceTurnOptions { FallingPitchSilence = TimeSpan.FromMilliseconds(250) }),
            ("falling pitch only, 250 ms", new VoiceTurnOptions { FallingPitchSilence = TimeSpan.FromMilliseconds(250), UseRisingPitch = false }),
            ("previous (350/600 ms, falling pitch only)", new VoiceTurnOptions { FallingPitchSilence = TimeSpan.FromMilliseconds(350), TentativeSilence = TimeSpan.FromMilliseconds(192), UseRisingPitch = false }),
        };
        string? last = null;
        foreach (var (name, options) in settings)
        {
            int one = 0, split = 0, none = 0;
            var reasons = new Dictionary<EndOfTurnReason, int>();
            var waits = new List<double>();
            foreach (var path in clips)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var clip = WaveFile.ReadForPipeline(path);
                using var detector = new VoiceTurnDetector(new SileroVoiceActivityDetector(VoicePaths.SileroModel()), options);
                var audio = new float[8000 + clip.Samples.Length + 24000];
                clip.Samples.CopyTo(audio, 8000);
                var ends = detector.Process(audio).Concat(detector.Complete()).OfType<EndOfTurn>().ToList();
                switch (ends.Count)
                {
                    case 0:
                        none++;
                        break;
                    case 1:
                        one++;
                        break;
                    default:
                        split++;
                        break;
                }

                foreach (var end in ends)
                {
                    reasons[end.Reason] = reasons.GetValueOrDefault(end.Reason) + 1;
                }

                if (ends.Count > 0)
                {
                    waits.Add((ends[^1].At - ends[^1].SpeechEndedAt).TotalMilliseconds);
                }
            }

            waits.Sort();
            var median = waits.Count > 0 ? waits[waits.Count / 2] : double.NaN;
            await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{name}: {clips.Count} clips: one turn {one}, split into several {split} ({100.0 * split / clips.Count:0.0}%), not heard {none}; final wait median {median:0} ms; ends by reason: {string.Join(", ", reasons.OrderBy(pair => pair.Key).Select(pair => $"{pair.Key} {pair.Value}"))}"));
            last ??= string.Create(CultureInfo.InvariantCulture, $"split clips with the shipped English settings: {100.0 * split / clips.Count:0.0}%");
        }

        await context.Out.WriteLineAsync(last);
        return 0;
    }
}
