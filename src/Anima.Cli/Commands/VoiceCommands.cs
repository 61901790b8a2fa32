using System.Diagnostics;
using System.Globalization;
using Anima.Voice.Activity;
using Anima.Voice.Audio;
using Anima.Voice.Emotion;
using Anima.Voice.Recognition;
using Anima.Voice.Synthesis;
using Anima.Voice.Turns;

namespace Anima.Cli.Commands;

/// <summary>Paths shared by the voice commands.</summary>
internal static class VoicePaths
{
    public const string ModelRelativePath = "src/Anima.Voice/Emotion/Model/voice-emotion.json";
    public static readonly string[] TrainingSets = ["ravdess-16k", "korean-emotional-speech-16k"];

    public static string? RepositoryRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "Anima.slnx")))
                {
                    return directory.FullName;
                }
            }
        }

        return null;
    }

    /// <summary>$ANIMA_SHARED_DATA, else ../shared/data beside the repository.</summary>
    public static string SharedData()
    {
        var path = Environment.GetEnvironmentVariable("ANIMA_SHARED_DATA")
            ?? (RepositoryRoot() is { } root ? Path.GetFullPath(Path.Combine(root, "..", "shared", "data")) : null);
        return path is not null && Directory.Exists(path)
            ? path
            : throw new CliUsageException("The shared data folder (../shared/data) was not found; pass --data DIR.");
    }

    public static string SileroModel() => Path.Combine(SharedData(), "silero-vad", "silero_vad.onnx");

    /// <summary>Loads a labelled folder, naming speakers after the folder so two sets never share a speaker id.</summary>
    /// <param name="speedFactors">Also make training copies at these speeds (augmentation; training only).</param>
    public static IReadOnlyList<VoiceEmotionExample> LoadSet(string directory, CliContext context, CancellationToken cancellationToken, IReadOnlyList<double>? speedFactors = null)
    {
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)));
        using var progress = new ConsoleProgressBar(context, $"features {name}");
        try
        {
            return VoiceEmotionDataset.Load(directory, progress, cancellationToken, speedFactors)
                .Select(example => example with { Speaker = name + ":" + example.Speaker })
                .ToArray();
        }
        catch (Exception exception) when (exception is InvalidDataException or AudioFormatException or FileNotFoundException)
        {
            throw new CliUsageException(exception.Message);
        }
    }

    public static string Percent(double value) => (value * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%";
}

/// <summary>Trains the voice-emotion model on the shared speech sets and reports leave-speakers-out figures.</summary>
public sealed class TrainVoiceEmotionCommand : ICliCommand
{
    public string Name => "train voice-emotion";

    public string Summary => "Train the voice-emotion model (RAVDESS + Korean speech), with nested leave-speakers-out evaluation.";

    public string Usage => string.Format(CultureInfo.InvariantCulture, """
        Usage: anima train voice-emotion [--data DIR]... [--out PATH] [--folds N] [--inner-folds N] [--adapt-after N,...]
                                         [--ensemble N] [--hidden N] [--seed N] [--epochs N] [--label-smoothing X]
                                         [--speeds X,...|--no-augment] [--no-replay] [--no-eval]
          --data        a folder with labels.tsv (repeatable; default: ../shared/data/ravdess-16k and korean-emotional-speech-16k)
          --out         where to write the model (default: src/Anima.Voice/Emotion/Model/voice-emotion.json, embedded at build)
          --folds       outer speaker folds for the evaluation of each set (default 4; 0 or --no-eval skips it)
          --inner-folds speaker folds inside each outer fold's training speakers that choose the adaptation threshold
                        (default {4}; 0: no choice, the first --adapt-after is used)
          --adapt-after the candidate thresholds: utterances of a speaker heard before the speaker-relative ensemble
                        takes over (default {5})
          --ensemble    perceptrons per ensemble (default {0})   --hidden  hidden units (default {1})
          --seed        base seed (default 20261123)   --epochs (default {2}; {3} with --no-augment)
          --label-smoothing  target share spread over the other labels (default {6})
          --speeds      speeds of the training copies (default {7}; training folds only)   --no-augment: recordings only
          --no-replay   train the speaker-relative ensemble on all of each voice's clips instead of replayed histories
        The final model's threshold is chosen the same way, by --inner-folds-fold cross-validation over the first set's
        speakers. The evaluation prints three figures per set: new speaker (global), adapted online (each clip judged
        with the speaker's earlier clips only, as the product adapts) and speaker-relative over all of the speaker's clips.
        """, Defaults.EnsembleSize, Defaults.Hidden, AugmentedEpochs, Defaults.Epochs, DefaultInnerFolds,
        string.Join(",", DefaultThresholds), Defaults.LabelSmoothing.ToString(CultureInfo.InvariantCulture),
        string.Join(",", VoiceEmotionDataset.DefaultSpeedFactors.Select(factor => factor.ToString(CultureInfo.InvariantCulture))));

    /// <summary>
    /// Epochs with the speed-changed copies: the data is 1 + copies times larger, so 120 / (1 + 6) passes give about
    /// as many steps as 120 passes over the recordings alone.
    /// </summary>
    private const int AugmentedEpochs = 17;

    private const int DefaultInnerFolds = 3;

    private static readonly int[] DefaultThresholds = [1, 4, 12];

    private static readonly VoiceEmotionTrainingOptions Defaults = new();

    public async Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        var dataOption = arguments.Get("--data");
        var output = arguments.Get("--out");
        var folds = arguments.GetInt32("--folds", 4, 0, 24);
        var innerFolds = arguments.GetInt32("--inner-folds", DefaultInnerFolds, 0, 24);
        IReadOnlyList<int> thresholds = ParseList(arguments.Get("--adapt-after"), "--adapt-after", text => int.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture)) ?? DefaultThresholds;
        if (thresholds.Any(threshold => threshold is < 0 or > 1000))
        {
            throw new CliUsageException("--adapt-after takes utterance counts from 0 to 1000.");
        }

        var speedFactors = arguments.Has("--no-augment")
            ? null
            : ParseList(arguments.Get("--speeds"), "--speeds", text => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture)) ?? VoiceEmotionDataset.DefaultSpeedFactors;
        if (speedFactors is not null && speedFactors.Any(factor => factor is < 0.5 or > 2 || factor == 1))
        {
            throw new CliUsageException("--speeds takes factors from 0.5 to 2, other than 1.");
        }

        var smoothing = arguments.Get("--label-smoothing") is { } smoothingText
            ? float.TryParse(smoothingText, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && parsed is >= 0 and <= 0.5f ? parsed : throw new CliUsageException("--label-smoothing must be from 0 to 0.5.")
            : Defaults.LabelSmoothing;
        var options = new VoiceEmotionTrainingOptions(
            EnsembleSize: arguments.GetInt32("--ensemble", Defaults.EnsembleSize, 1, 50),
            Seed: arguments.GetInt32("--seed", Defaults.Seed),
            Hidden: arguments.GetInt32("--hidden", Defaults.Hidden, 2, 4096),
            Epochs: arguments.GetInt32("--epochs", speedFactors is null ? Defaults.Epochs : AugmentedEpochs, 1, 10_000),
            LabelSmoothing: smoothing,
            ReplayHistories: !arguments.Has("--no-replay"),
            MinimumSpeakerUtterances: thresholds[0]);
        if (arguments.Has("--no-eval"))
        {
            folds = 0;
        }

        arguments.ThrowIfUnused();
        if (innerFolds == 1)
        {
            throw new CliUsageException("--inner-folds must be 0 (no choice) or at least 2.");
        }

        if (innerFolds == 0)
        {
            thresholds = [thresholds[0]];
        }

        var directories = dataOption is not null
            ? dataOption.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : VoicePaths.TrainingSets.Select(set => Path.Combine(VoicePaths.SharedData(), set)).ToArray();
        output ??= VoicePaths.RepositoryRoot() is { } root
            ? Path.Combine(root, VoicePaths.ModelRelativePath)
            : throw new CliUsageException("Cannot find the repository (Anima.slnx); pass --out PATH.");

        var sets = directories.Select(directory => (Directory: directory, Examples: VoicePaths.LoadSet(directory, context, cancellationToken, speedFactors))).ToList();
        var all = sets.SelectMany(set => set.Examples).ToList();
        var recorded = all.Count(example => example.Augmentation is null);
        await context.Out.WriteLineAsync($"{recorded} clips (+{all.Count - recorded} speed-changed training copies), {all.Select(example => example.Speaker).Distinct().Count()} speakers, {ProsodyFeatureExtractor.FeatureNames.Count} features");
        var thresholdText = thresholds.Count == 1 ? $"adapting after {thresholds[0]} utterances" : $"adaptation threshold chosen among {string.Join(", ", thresholds)} by {innerFolds}-fold inner cross-validation";

        if (folds >= 2)
        {
            foreach (var (directory, examples) in sets)
            {
                var speakers = examples.Select(example => example.Speaker).Distinct().Count();
                var setFolds = Math.Min(folds, speakers);
                var others = all.Except(examples).ToList();
                var stopwatch = Stopwatch.StartNew();
                VoiceEmotionCrossValidationResult result;
                using (var progress = new ConsoleProgressBar(context, $"{setFolds}-fold {Path.GetFileName(directory)}"))
                {
                    result = VoiceEmotionCrossValidation.Run(examples, others, setFolds, [options], thresholds, innerFolds, progress, cancellationToken);
                }

                await context.Out.WriteLineAsync($"== {Path.GetFileName(directory)}: {setFolds}-fold leave-speakers-out ({speakers} speakers; other sets added to training; {thresholdText}), {stopwatch.Elapsed.TotalSeconds:0} s");
                await context.Out.WriteLineAsync($"chosen per fold: adapt after {string.Join(", ", result.Chosen.Select(chosen => chosen.MinimumSpeakerUtterances))} utterances");
                foreach (var (title, evaluation) in new[] { ("new speaker (global)", result.Global), ("adapted online", result.Online), ("speaker-relative, all clips (transductive)", result.SpeakerRelative) })
                {
                    await context.Out.WriteLineAsync($"-- {title}: accuracy {VoicePaths.Percent(evaluation.Accuracy)}, macro-F1 {VoicePaths.Percent(evaluation.MacroF1)}");
                    await context.Out.WriteLineAsync(evaluation.Format());
                }
            }
        }

        if (thresholds.Count > 1)
        {
            // The final model's threshold: cross-validation over the first set's speakers (RAVDESS by default), the others always in training.
            var first = sets[0].Examples;
            var firstSpeakers = first.Select(example => example.Speaker).Distinct().Count();
            IReadOnlyList<VoiceEmotionCandidateScore> scores;
            using (var progress = new ConsoleProgressBar(context, "choosing the threshold"))
            {
                scores = VoiceEmotionCrossValidation.Select(first, all.Except(first).ToList(), Math.Min(innerFolds, firstSpeakers), [options], thresholds, progress, cancellationToken);
            }

            foreach (var score in scores)
            {
                await context.Out.WriteLineAsync($"adapt after {score.Options.MinimumSpeakerUtterances,3}: global {VoicePaths.Percent(score.Global)}, online {VoicePaths.Percent(score.Online)}");
            }

            options = scores.MaxBy(score => score.Score)!.Options;
        }

        var info = new VoiceEmotionTrainingInfo(
            sets.Select(set => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(set.Directory)))).ToArray(),
            all.Select(example => example.Speaker).Distinct().Order(StringComparer.Ordinal).ToArray(),
            recorded,
            "CC BY-NC-SA 4.0 (inherited from RAVDESS and the Korean emotional speech sample; non-commercial research use)",
            $"ensemble {options.EnsembleSize} x MLP({ProsodyFeatureExtractor.FeatureNames.Count}-{options.Hidden}-labels), epochs {options.Epochs}, seed {options.Seed}, "
            + $"label smoothing {options.LabelSmoothing.ToString("0.##", CultureInfo.InvariantCulture)}, speaker-relative ensemble {(options.ReplayHistories ? "trained on replayed histories" : "trained on whole voices")}, "
            + $"adapts after {options.MinimumSpeakerUtterances} utterances, "
            + (speedFactors is null ? "no augmentation" : $"plus speed-changed copies ({string.Join(", ", speedFactors.Select(factor => factor.ToString("0.##", CultureInfo.InvariantCulture)))}x)"));
        VoiceEmotionModel model;
        using (var progress = new ConsoleProgressBar(context, "training final model"))
        {
            model = VoiceEmotionTrainer.Train(all, options, info, progress, cancellationToken);
        }

        model.Save(output);
        await context.Out.WriteLineAsync($"model written to {output} ({new FileInfo(output).Length / 1024} KiB, adapts after {model.MinimumSpeakerUtterances} utterances); rebuild Anima.Voice to embed it.");
        return 0;
    }

    private static T[]? ParseList<T>(string? text, string option, Func<string, T> parse)
    {
        if (text is null)
        {
            return null;
        }

        try
        {
            var values = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(parse).ToArray();
            return values.Length > 0 ? values : throw new CliUsageException($"{option} needs at least one value.");
        }
        catch (FormatException)
        {
            throw new CliUsageException($"{option} takes a comma-separated list of numbers; got '{text}'.");
        }
    }
}

/// <summary>Evaluates the voice-emotion model on a labelled folder; the last line is exactly "accuracy: X".</summary>
public sealed class EvalVoiceEmotionCommand : ICliCommand
{
    public string Name => "eval voice-emotion";

    public string Summary => "Evaluate the voice-emotion model on a folder with labels.tsv (accuracy, macro-F1, confusion matrix).";

    public string Usage => """
        Usage: anima eval voice-emotion --data DIR [--model PATH] [--mode online|global|speaker] [--seed N]
          --data   a folder with labels.tsv ('path' and 'emotion' columns, optional 'speaker' or 'actor') and its WAV files
          --model  a model file (default: the model embedded in Anima.Voice)
          --mode   online: as the product adapts to a user — each speaker's clips in a seeded random order, each judged
                   with the statistics of the speaker's earlier clips only (the new-speaker model until the model's
                   adaptation threshold, then the speaker-relative one);
                   global: raw features, as for a never-heard speaker;
                   speaker: relative to all of each speaker's clips in DIR (transductive: later clips help earlier ones).
                   Default: online when DIR names speakers, else global. All three are printed; the last line,
                   'accuracy: X', is the chosen mode's.
          --seed   the order of the clips in online mode (default 20261123)
        Only the emotions present in DIR compete (a four-emotion set is scored as a four-way choice).
        """;

    public async Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        var data = arguments.Require("--data");
        var modelPath = arguments.Get("--model");
        var mode = arguments.Get("--mode");
        var seed = arguments.GetInt32("--seed", new VoiceEmotionTrainingOptions().Seed);
        arguments.ThrowIfUnused();
        if (mode is not (null or "speaker" or "global" or "online"))
        {
            throw new CliUsageException($"--mode must be 'online', 'global' or 'speaker'; got '{mode}'.");
        }

        VoiceEmotionModel model;
        try
        {
            model = modelPath is null ? VoiceEmotionModel.LoadDefault() : VoiceEmotionModel.Load(modelPath);
        }
        catch (Exception exception) when (exception is FileNotFoundException or InvalidDataException or InvalidOperationException)
        {
            throw new CliUsageException(exception.Message);
        }

        var examples = VoicePaths.LoadSet(data, context, cancellationToken);
        var hasSpeakers = examples.Any(example => !example.Speaker.EndsWith(":unknown", StringComparison.Ordinal));
        mode ??= hasSpeakers ? "online" : "global";
        var setName = examples[0].Speaker.Split(':')[0];
        var seen = examples.Count(example => model.Info.Speakers.Contains(example.Speaker));
        if (seen > 0)
        {
            await context.Out.WriteLineAsync($"warning: {seen} of {examples.Count} clips are from speakers this model was trained on ({setName}); those figures are not speaker-independent. See docs/benchmarks/voice.md for the leave-speakers-out figures.");
        }

        VoiceEmotionEvaluation global, relative, online;
        try
        {
            global = VoiceEmotionEvaluation.Evaluate(model, examples, speakerRelative: false);
            online = VoiceEmotionEvaluation.EvaluateOnline(model, examples, seed);
            relative = VoiceEmotionEvaluation.Evaluate(model, examples, speakerRelative: true);
        }
        catch (ArgumentException exception)
        {
            throw new CliUsageException(exception.Message);
        }

        var oneSpeaker = hasSpeakers ? string.Empty : " (no speaker column: all clips treated as one speaker)";
        await context.Out.WriteLineAsync($"global (new speaker):                      accuracy {VoicePaths.Percent(global.Accuracy)}, macro-F1 {VoicePaths.Percent(global.MacroF1)}");
        await context.Out.WriteLineAsync($"online (adapts to each speaker, seed {seed}): accuracy {VoicePaths.Percent(online.Accuracy)}, macro-F1 {VoicePaths.Percent(online.MacroF1)}{oneSpeaker}");
        await context.Out.WriteLineAsync($"speaker (all of the speaker's clips):      accuracy {VoicePaths.Percent(relative.Accuracy)}, macro-F1 {VoicePaths.Percent(relative.MacroF1)}{oneSpeaker}");
        await context.Out.WriteLineAsync($"mode: {mode}");
        await context.Out.WriteLineAsync((mode switch { "speaker" => relative, "online" => online, _ => global }).Format());
        return 0;
    }
}

/// <summary>Speaks text to a WAV file with the embedded espeak-ng voice.</summary>
public sealed class VoiceSayCommand : ICliCommand
{
    public string Name => "voice say";

    public string Summary => "Synthesize text to a 16 kHz WAV with espeak-ng (optionally with a feeling).";

    public string Usage => """
        Usage: anima voice say --text TEXT --out OUT.wav [--language en|ko] [--voice NAME] [--valence V] [--arousal A]
          --voice    an espeak-ng voice such as en-us+f3 (default: en-us / ko)
          --valence  −1..1 and --arousal −1..1 shape rate, pitch and loudness (default 0, 0)
        """;

    public async Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        var text = arguments.Require("--text");
        var output = arguments.Require("--out");
        var language = arguments.Get("--language") ?? "en";
        var voice = arguments.Get("--voice");
        var valence = arguments.GetDouble("--valence", 0);
        var arousal = arguments.GetDouble("--arousal", 0);
        arguments.ThrowIfUnused();
        if (valence is < -1 or > 1 || arousal is < -1 or > 1)
        {
            throw new CliUsageException("--valence and --arousal must be from -1 to 1.");
        }

        var tts = new EspeakTextToSpeech(voice is null ? null : new Dictionary<string, string> { [language] = voice });
        try
        {
            var clip = await tts.SynthesizeToClipAsync(text, language, SpeechStyle.FromFeeling(valence, arousal), cancellationToken);
            WaveFile.Write(output, clip);
            await context.Out.WriteLineAsync($"{output}: {clip.Duration.TotalSeconds:0.00} s");
            return 0;
        }
        catch (SpeechSynthesisException exception)
        {
            await context.Error.WriteLineAsync(exception.Message);
            return 1;
        }
    }
}

/// <summary>Runs turn detection, transcription and voice emotion over a WAV file, as the voice loop would hear it.</summary>
public sealed class VoiceListenCommand : ICliCommand
{
    public string Name => "voice listen";

    public string Summary => "Detect turns in a WAV, transcribe each (pocketsphinx) and hear its feeling.";

    public string Usage => """
        Usage: anima voice listen --in IN.wav [--vad PATH] [--no-transcribe]
          --vad  the Silero VAD model (default: ../shared/data/silero-vad/silero_vad.onnx; the energy detector if absent)
        """;

    public async Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        var input = arguments.Require("--in");
        var vadPath = arguments.Get("--vad");
        var transcribe = !arguments.Has("--no-transcribe");
        arguments.ThrowIfUnused();
        AudioClip audio;
        try
        {
            audio = WaveFile.ReadForPipeline(input);
        }
        catch (Exception exception) when (exception is AudioFormatException or FileNotFoundException)
        {
            throw new CliUsageException(exception.Message);
        }

        var levels = AudioQuality.Measure(audio.Samples);
        if (levels.IsSilent)
        {
            await context.Out.WriteLineAsync($"The recording is silent ({levels.RmsDecibels:0} dBFS); nothing to hear.");
            return 0;
        }

        if (levels.IsClipped)
        {
            await context.Out.WriteLineAsync($"warning: {levels.ClippedFraction:P1} of the samples are clipped; recognition will suffer.");
        }

        var choice = await VoiceActivityDetectorFactory.CreateAsync(new VoiceActivityOptions { ModelPath = vadPath ?? TrySileroPath(), ModelUrl = null }, null, cancellationToken);
        if (choice.FallbackReason is not null)
        {
            await context.Out.WriteLineAsync($"note: using the energy detector because {choice.FallbackReason}.");
        }

        using var detector = new VoiceTurnDetector(choice.Detector);
        using var recognizer = transcribe && PocketSphinxSpeechToText.IsAvailable(out _) ? new PocketSphinxSpeechToText() : null;
        var emotion = new VoiceEmotionRecognizer(VoiceEmotionModel.LoadDefault());
        var speaker = emotion.CreateSpeakerStatistics();
        var events = detector.Process(audio.Samples).Concat(detector.Complete());
        foreach (var item in events)
        {
            switch (item)
            {
                case EndOfTurn end:
                    var transcript = recognizer is null ? null : await recognizer.TranscribeAsync(end.Utterance, "en", cancellationToken);
                    var heard = emotion.Recognize(end.Utterance, speaker);
                    await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"{end.SpeechStartedAt.TotalSeconds,7:0.00}–{end.At.TotalSeconds:0.00} s  turn ({end.Reason}{(end.WasForced ? ", forced" : string.Empty)}): \"{transcript?.Text ?? "(not transcribed)"}\""));
                    if (heard is not null)
                    {
                        await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                            $"          voice: {heard.Label} ({heard.Confidence:0.00}), valence {heard.Valence:+0.00;-0.00}, arousal {heard.Arousal:+0.00;-0.00}; pitch {heard.Prosody.MeanPitchHz:0} Hz, range {heard.Prosody.PitchRangeSemitones:0.0} st, rate {heard.Prosody.SpeakingRate:0.0} syl/s, pauses {heard.Prosody.PauseRatio:P0}"));
                    }

                    break;
                case SpeechDiscarded discarded:
                    await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{discarded.At.TotalSeconds,7:0.00} s  ignored a {discarded.Duration.TotalMilliseconds:0} ms burst (cough/click)"));
                    break;
            }
        }

        return 0;
    }

    private static string? TrySileroPath()
    {
        try
        {
            return VoicePaths.SileroModel();
        }
        catch (CliUsageException)
        {
            return null;
        }
    }
}

/// <summary>Measures the voice components: VAD per frame, TTS first chunk, STT real-time factor, voice emotion.</summary>
public sealed class BenchVoiceCommand : ICliCommand
{
    private static readonly (string Text, string Language)[] Sentences =
    [
        ("I went for a walk by the river this morning.", "en"),
        ("That sounds like a really good idea, let's do it.", "en"),
        ("Do you remember what we talked about yesterday?", "en"),
        ("오늘 하루는 어땠어요?", "ko"),
        ("그 이야기를 들으니 정말 기뻐요.", "ko"),
    ];

    public string Name => "bench voice";

    public string Summary => "Time the voice components (VAD, TTS, STT, voice emotion) on this machine.";

    public string Usage => """
        Usage: anima bench voice [--repeat N] [--emotion-data DIR [--limit N]]
          Needs ../shared/data/silero-vad and the Debian packages espeak-ng, libespeak-ng1, pocketsphinx-en-us.
          --repeat        how many times each sentence is synthesized and transcribed (default 3)
          --emotion-data  time only the voice-emotion recognizer, stage by stage, on the first --limit clips
                          (default 120) of a folder with labels.tsv (e.g. ../shared/data/ravdess-16k)
        """;

    public async Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        var repeat = arguments.GetInt32("--repeat", 3, 1, 100);
        var emotionData = arguments.Get("--emotion-data");
        var limit = arguments.GetInt32("--limit", 120, 1, 100_000);
        arguments.ThrowIfUnused();
        var results = new List<Anima.Voice.Benchmarks.Measurement>();
        if (emotionData is not null)
        {
            List<AudioClip> clips;
            try
            {
                clips = VoiceEmotionDataset.ReadLabels(emotionData).Take(limit).Select(entry => WaveFile.ReadForPipeline(entry.Path)).ToList();
            }
            catch (Exception exception) when (exception is InvalidDataException or AudioFormatException or FileNotFoundException)
            {
                throw new CliUsageException(exception.Message);
            }

            var emotion = new VoiceEmotionRecognizer(VoiceEmotionModel.LoadDefault());
            Anima.Voice.Benchmarks.VoiceBenchmark.VoiceEmotionStages(emotion, clips.Take(5).ToArray()); // warm up
            results.AddRange(Anima.Voice.Benchmarks.VoiceBenchmark.VoiceEmotionStages(emotion, clips));
            await WriteAsync(context, results);
            return 0;
        }

        var vadTest = Path.Combine(VoicePaths.SharedData(), "silero-vad", "test.wav");
        var audio = WaveFile.ReadForPipeline(vadTest);
        using (var silero = new SileroVoiceActivityDetector(VoicePaths.SileroModel()))
        {
            results.Add(Anima.Voice.Benchmarks.VoiceBenchmark.VoiceActivity(silero, audio));
        }

        using (var energy = new EnergyVoiceActivityDetector())
        {
            results.Add(Anima.Voice.Benchmarks.VoiceBenchmark.VoiceActivity(energy, audio));
        }

        if (!EspeakTextToSpeech.IsAvailable(out var reason))
        {
            await context.Error.WriteLineAsync($"espeak-ng is not available ({reason}); TTS, STT and emotion timings skipped.");
        }
        else
        {
            var tts = new EspeakTextToSpeech(new Dictionary<string, string> { ["en"] = "en-us+m3" });
            var work = Enumerable.Repeat(Sentences, repeat).SelectMany(sentence => sentence).ToArray();
            await tts.SynthesizeToClipAsync("warm up", "en", SpeechStyle.Neutral, cancellationToken);
            var (first, factor) = await Anima.Voice.Benchmarks.VoiceBenchmark.TextToSpeechAsync(tts, work, cancellationToken);
            results.Add(first);
            results.Add(factor);
            var utterances = new List<AudioClip>();
            foreach (var (text, language) in Sentences.Where(sentence => sentence.Language == "en"))
            {
                utterances.Add(await tts.SynthesizeToClipAsync(text, language, SpeechStyle.Neutral, cancellationToken));
            }

            if (PocketSphinxSpeechToText.IsAvailable(out _))
            {
                using var stt = new PocketSphinxSpeechToText();
                var (latency, realTime) = await Anima.Voice.Benchmarks.VoiceBenchmark.SpeechToTextAsync(stt, Enumerable.Repeat(utterances, repeat).SelectMany(clip => clip).ToArray(), cancellationToken);
                results.Add(latency);
                results.Add(realTime);
            }

            var recognizer = new VoiceEmotionRecognizer(VoiceEmotionModel.LoadDefault());
            results.Add(Anima.Voice.Benchmarks.VoiceBenchmark.VoiceEmotion(recognizer, Enumerable.Repeat(utterances, repeat).SelectMany(clip => clip).ToArray()));
        }

        await WriteAsync(context, results);
        return 0;
    }

    private static async Task WriteAsync(CliContext context, IEnumerable<Anima.Voice.Benchmarks.Measurement> results)
    {
        foreach (var result in results)
        {
            await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{result.Name,-55} median {result.Median,8:0.000} {result.Unit}  (min {result.Minimum:0.000}, max {result.Maximum:0.000}, n={result.Samples})"));
        }
    }
}
