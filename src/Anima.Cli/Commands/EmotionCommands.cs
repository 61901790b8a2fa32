using System.Diagnostics;
using System.Globalization;
using Anima.Perception;
using Anima.Perception.Training;

namespace Anima.Cli.Commands;

/// <summary>Locations shared by the emotion commands.</summary>
internal static class EmotionPaths
{
    public const string ModelRelativePath = "src/Anima.Perception/Models/emotion-text.bin";

    /// <summary>The repository root: the first folder above the working directory (or the executable) holding Anima.slnx.</summary>
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

    /// <summary>--data, else $ANIMA_SHARED_DATA, else ../shared/data beside the repository.</summary>
    public static string DataDirectory(CliArguments arguments)
    {
        var explicitPath = arguments.Get("--data") ?? Environment.GetEnvironmentVariable("ANIMA_SHARED_DATA");
        var path = explicitPath ?? (RepositoryRoot() is { } root ? Path.GetFullPath(Path.Combine(root, "..", "shared", "data")) : null);
        if (path is null || !Directory.Exists(path))
        {
            throw new CliUsageException($"Shared data folder '{path ?? "../shared/data"}' not found; pass --data DIR (the folder holding goemotions/, kote/, nsmc/).");
        }

        return path;
    }

    public static string DefaultModelPath() =>
        RepositoryRoot() is { } root
            ? Path.Combine(root, ModelRelativePath)
            : throw new CliUsageException("Cannot find the repository (Anima.slnx) to write the committed model; pass --out PATH.");

    /// <summary>--model PATH, or the model embedded in Anima.Perception.</summary>
    public static EmotionModel LoadModel(CliArguments arguments)
    {
        var path = arguments.Get("--model");
        try
        {
            return path is null ? EmotionModel.Default : EmotionModel.Load(path);
        }
        catch (Exception exception) when (exception is FileNotFoundException or InvalidDataException)
        {
            throw new CliUsageException(exception.Message);
        }
    }

    public static string Format(double value) => value.ToString("0.0000", CultureInfo.InvariantCulture);
}

/// <summary><c>train emotion</c>: trains the text emotion model from the shared data and writes it.</summary>
public sealed class TrainEmotionCommand : ICliCommand
{
    public string Name => "train emotion";

    public string Summary => "Train the English + Korean text emotion model from ../shared/data (deterministic).";

    public string Usage => """
        anima train emotion [--data DIR] [--out PATH] [--seed N] [--epochs N] [--learning-rate X] [--l2 X]
                            [--bits N] [--char-min N] [--char-max N] [--folds N] [--nsmc N] [--max-per-source N]
                            [--word-weight X] [--char-weight X] [--activation sigmoid|softmax] [--class-balance X] [--english-only] [--table-affect] [--threads N]
          --data DIR          shared data folder (default ../shared/data beside the repository)
          --out PATH          where to write the model (default src/Anima.Perception/Models/emotion-text.bin)
          --english-only      train on English GoEmotions only (no Korean data, no NSMC valence head)
          --folds N           cross-validation folds for threshold tuning (default 4)
          --nsmc N            NSMC reviews that also teach the valence head (default 0, see docs; 5000 more are always held out to score valence)
          --table-affect      no valence/arousal heads: derive both from label probabilities and the label table
        """;

    public Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        var defaults = new EmotionTrainingOptions { DataDirectory = "." };
        var englishOnly = arguments.Has("--english-only");
        var solver = new SolverOptions
        {
            Epochs = arguments.GetInt32("--epochs", defaults.Solver.Epochs, 1, 100),
            LearningRate = (float)arguments.GetDouble("--learning-rate", defaults.Solver.LearningRate),
            L2 = (float)arguments.GetDouble("--l2", defaults.Solver.L2),
            Parallelism = arguments.GetInt32("--threads", defaults.Solver.Parallelism, 1, 256),
            ClassBalance = (float)arguments.GetDouble("--class-balance", defaults.Solver.ClassBalance),
            Activation = arguments.Get("--activation") switch
            {
                null => defaults.Solver.Activation,
                "sigmoid" => HeadActivation.Sigmoid,
                "softmax" => HeadActivation.Softmax,
                var other => throw new CliUsageException($"--activation must be 'sigmoid' or 'softmax'; got '{other}'."),
            },
        };
        var featurizer = new FeaturizerOptions
        {
            BucketBits = arguments.GetInt32("--bits", FeaturizerOptions.DefaultBucketBits, 10, 24),
            CharacterMinimum = arguments.GetInt32("--char-min", defaults.Featurizer.CharacterMinimum, 1, 8),
            CharacterMaximum = arguments.GetInt32("--char-max", defaults.Featurizer.CharacterMaximum, 1, 8),
            WordWeight = (float)arguments.GetDouble("--word-weight", defaults.Featurizer.WordWeight),
            CharacterWeight = (float)arguments.GetDouble("--char-weight", defaults.Featurizer.CharacterWeight),
        };
        var maximum = arguments.GetInt32("--max-per-source", 0, 0);
        var options = new EmotionTrainingOptions
        {
            DataDirectory = EmotionPaths.DataDirectory(arguments),
            Seed = arguments.GetInt32("--seed", defaults.Seed),
            Featurizer = featurizer,
            Solver = solver,
            ThresholdFolds = arguments.GetInt32("--folds", defaults.ThresholdFolds, 2, 10),
            NsmcSampleSize = englishOnly ? 0 : arguments.GetInt32("--nsmc", defaults.NsmcSampleSize, 0),
            NsmcHoldout = englishOnly ? 0 : defaults.NsmcHoldout,
            LearnAffectHeads = !arguments.Has("--table-affect"),
            IncludeKoreanGoEmotions = !englishOnly,
            IncludeKote = !englishOnly,
            MaximumExamplesPerSource = maximum == 0 ? null : maximum,
        };
        var output = arguments.Get("--out") ?? EmotionPaths.DefaultModelPath();
        arguments.ThrowIfUnused();
        try
        {
            options.Validate();
        }
        catch (ArgumentException exception)
        {
            throw new CliUsageException(exception.Message);
        }

        EmotionTrainingResult result;
        using (var progress = new ConsoleProgressBar(context, "train emotion"))
        {
            result = new EmotionTrainer(options).Train(progress, cancellationToken);
        }

        result.Model.Save(output);
        var size = new FileInfo(output).Length;
        context.Out.WriteLine($"examples: {result.ExampleCount}, time: {result.Elapsed.TotalSeconds:0.0} s");
        context.Out.WriteLine($"out-of-fold macro-F1 (threshold tuning, train only): en {EmotionPaths.Format(result.OutOfFoldMacroF1English)}, ko {EmotionPaths.Format(result.OutOfFoldMacroF1Korean)}");
        if (result.DevEnglish is { } english)
        {
            context.Out.WriteLine($"GoEmotions dev (en): macro-F1 {EmotionPaths.Format(english.MacroF1)}, micro-F1 {EmotionPaths.Format(english.MicroF1)}");
        }

        if (result.DevKorean is { } korean)
        {
            context.Out.WriteLine($"GoEmotions dev (ko, machine-translated): macro-F1 {EmotionPaths.Format(korean.MacroF1)}, micro-F1 {EmotionPaths.Format(korean.MicroF1)}");
        }

        foreach (var (name, affect) in new[] { ("en", result.AffectDevEnglish), ("ko", result.AffectDevKorean) })
        {
            if (affect is not null)
            {
                context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"GoEmotions dev ({name}) affect vs label table: valence r {affect.ValenceCorrelation:0.000}, sign agreement {affect.ValenceSignAgreement:0.000}, arousal r {affect.ArousalCorrelation:0.000}"));
            }
        }

        if (result.NsmcValenceSignAccuracy is { } accuracy)
        {
            context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"NSMC held-out reviews (rating <=4 vs >=7): valence sign accuracy {accuracy:0.000}"));
        }

        context.Out.WriteLine($"model: {output} ({size / 1024.0 / 1024.0:0.00} MiB)");
        return Task.FromResult(0);
    }
}

/// <summary><c>eval emotion</c>: scores the model on a GoEmotions- or KOTE-format file, or cross-validates on KOTE's 44 labels.</summary>
public sealed class EvalEmotionCommand : ICliCommand
{
    public string Name => "eval emotion";

    public string Summary => "Score the text emotion model on a labelled file (GoEmotions or KOTE format); last line 'macro-F1: X'.";

    public string Usage => """
        anima eval emotion --data FILE [--format goemotions|kote] [--model PATH]
        anima eval emotion --kote-cv [--data DIR] [--folds N] [--seed N] [--epochs N] [--learning-rate X] [--l2 X] [--class-balance X]
          --data FILE         'text<TAB>label ids<TAB>id' (GoEmotions) or 'id<TAB>text<TAB>label ids' (KOTE); detected when --format is absent
          --format            force the format; KOTE labels are mapped onto the 28 GoEmotions labels
          --model PATH        a model file (default: the committed model)
          --kote-cv           cross-validated macro-F1 over KOTE's own 44 labels (a model per fold, trained on KOTE only)
        """;

    public Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        if (arguments.Has("--kote-cv"))
        {
            return Task.FromResult(RunKoteCrossValidation(arguments, context, cancellationToken));
        }

        var path = arguments.Require("--data");
        var formatName = arguments.Get("--format");
        var model = EmotionPaths.LoadModel(arguments);
        arguments.ThrowIfUnused();
        EmotionDataFormat format;
        IReadOnlyList<EmotionExample> examples;
        try
        {
            (format, examples) = EmotionDataset.ReadFile(path, formatName is null ? null : EmotionDataset.ParseFormat(formatName));
        }
        catch (Exception exception) when (exception is EmotionDataFormatException or FileNotFoundException)
        {
            throw new CliUsageException(exception.Message);
        }

        var report = EmotionTrainer.Evaluate(model, examples, format);
        context.Out.WriteLine($"{examples.Count} examples, format {format}{(format == EmotionDataFormat.Kote ? " (labels mapped onto GoEmotions)" : string.Empty)}");
        WriteReport(context.Out, report);
        return Task.FromResult(0);
    }

    private static int RunKoteCrossValidation(CliArguments arguments, CliContext context, CancellationToken cancellationToken)
    {
        var folds = arguments.GetInt32("--folds", 5, 2, 10);
        var seed = arguments.GetInt32("--seed", 20261123);
        var dataDirectory = EmotionPaths.DataDirectory(arguments);
        var defaults = KoteCrossValidation.DefaultSolver;
        var solver = defaults with
        {
            Epochs = arguments.GetInt32("--epochs", defaults.Epochs, 1, 100),
            LearningRate = (float)arguments.GetDouble("--learning-rate", defaults.LearningRate),
            L2 = (float)arguments.GetDouble("--l2", defaults.L2),
            ClassBalance = (float)arguments.GetDouble("--class-balance", defaults.ClassBalance),
        };
        arguments.ThrowIfUnused();
        var path = Path.Combine(dataDirectory, "kote", "val.tsv");
        if (!File.Exists(path))
        {
            throw new CliUsageException($"KOTE file '{path}' not found.");
        }

        var examples = EmotionDataset.ReadFile(path, EmotionDataFormat.Kote).Examples;
        KoteCrossValidationResult result;
        using (var progress = new ConsoleProgressBar(context, "kote cross-validation"))
        {
            result = KoteCrossValidation.Run(examples, folds, seed, new FeaturizerOptions(), solver, progress, cancellationToken);
        }

        context.Out.WriteLine($"KOTE {folds}-fold cross-validation over {examples.Count} examples, 44 labels; fold macro-F1: " +
            string.Join(", ", result.FoldMacroF1.Select(EmotionPaths.Format)));
        WriteReport(context.Out, result.Pooled);
        return 0;
    }

    internal static void WriteReport(TextWriter output, MultiLabelReport report)
    {
        output.WriteLine($"{"label",-22} {"support",8} {"predicted",9} {"precision",9} {"recall",7} {"F1",7}");
        foreach (var score in report.Labels)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{score.Label,-22} {score.Support,8} {score.Predicted,9} {score.Precision,9:0.000} {score.Recall,7:0.000} {score.F1,7:0.000}"));
        }

        output.WriteLine($"micro-F1: {EmotionPaths.Format(report.MicroF1)}");
        output.WriteLine($"macro-F1: {EmotionPaths.Format(report.MacroF1)}");
    }
}

/// <summary><c>bench emotion</c>: load time, per-message latency on one thread, model size.</summary>
public sealed class BenchEmotionCommand : ICliCommand
{
    public string Name => "bench emotion";

    public string Summary => "Measure the text emotion model: load time, per-message latency p50/p99 on one thread, size.";

    public string Usage => """
        anima bench emotion [--data FILE] [--model PATH] [--repeat N]
          --data FILE   messages to time, GoEmotions format (default ../shared/data/goemotions/dev.tsv)
          --repeat N    passes over the messages (default 3; the first pass also warms up)
        """;

    public Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        var modelPath = arguments.Get("--model");
        var dataPath = arguments.Get("--data") ?? Path.Combine(EmotionPaths.DataDirectory(new CliArguments([])), "goemotions", "dev.tsv");
        var repeat = arguments.GetInt32("--repeat", 3, 1, 100);
        arguments.ThrowIfUnused();

        var loadWatch = Stopwatch.StartNew();
        EmotionModel model;
        long size;
        try
        {
            if (modelPath is null)
            {
                using var stream = typeof(EmotionModel).Assembly.GetManifestResourceStream(EmotionModel.EmbeddedResourceName)
                    ?? throw new CliUsageException("No committed model is embedded; run 'anima train emotion' or pass --model.");
                size = stream.Length;
                model = EmotionModel.Load(stream);
            }
            else
            {
                size = new FileInfo(modelPath).Length;
                model = EmotionModel.Load(modelPath);
            }
        }
        catch (Exception exception) when (exception is FileNotFoundException or InvalidDataException)
        {
            throw new CliUsageException(exception.Message);
        }

        var loadTime = loadWatch.Elapsed;
        IReadOnlyList<EmotionExample> examples;
        try
        {
            examples = EmotionDataset.ReadFile(dataPath).Examples;
        }
        catch (Exception exception) when (exception is EmotionDataFormatException or FileNotFoundException)
        {
            throw new CliUsageException(exception.Message);
        }

        // Time the first call on its own: it includes JIT and buffer allocation.
        var firstWatch = Stopwatch.StartNew();
        model.Perceive(examples[0].Text);
        var firstCall = firstWatch.Elapsed;

        var timings = new double[examples.Count * repeat];
        var count = 0;
        using (var progress = new ConsoleProgressBar(context, "bench emotion"))
        {
            for (var pass = 0; pass < repeat; pass++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                foreach (var example in examples)
                {
                    var start = Stopwatch.GetTimestamp();
                    model.Perceive(example.Text);
                    timings[count++] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                }

                progress.Report((pass + 1.0) / repeat);
            }
        }

        Array.Sort(timings);
        var longText = string.Concat(Enumerable.Repeat("I can't believe how wonderful and strange today was. ", 300));
        var longWatch = Stopwatch.StartNew();
        model.Perceive(longText);
        var longTime = longWatch.Elapsed;

        context.Out.WriteLine($"model size: {size / 1024.0 / 1024.0:0.00} MiB ({size} bytes)");
        context.Out.WriteLine($"load time: {loadTime.TotalMilliseconds:0.0} ms (first call after load: {firstCall.TotalMilliseconds:0.00} ms)");
        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"latency over {count} messages on one thread: mean {timings.Average():0.0000} ms, p50 {Percentile(timings, 0.50):0.0000} ms, p99 {Percentile(timings, 0.99):0.0000} ms, max {timings[^1]:0.000} ms"));
        context.Out.WriteLine($"a {longText.Length}-character message: {longTime.TotalMilliseconds:0.000} ms");
        return Task.FromResult(0);
    }

    private static double Percentile(double[] sorted, double fraction) =>
        sorted[Math.Clamp((int)Math.Ceiling(fraction * sorted.Length) - 1, 0, sorted.Length - 1)];
}

/// <summary><c>perceive emotion</c>: prints the reading of one message (or of each line of standard input).</summary>
public sealed class PerceiveEmotionCommand : ICliCommand
{
    public string Name => "perceive emotion";

    public string Summary => "Print the emotion reading (labels, top probabilities, valence, arousal, language) of a message.";

    public string Usage => """
        anima perceive emotion [--model PATH] TEXT...
        anima perceive emotion [--model PATH] < messages.txt    (one message per line)
        """;

    public async Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        var model = EmotionPaths.LoadModel(arguments);
        arguments.ThrowIfUnused();
        if (arguments.Positional.Count > 0)
        {
            Write(context.Out, model.Perceive(string.Join(' ', arguments.Positional)));
            return 0;
        }

        while (await context.In.ReadLineAsync(cancellationToken) is { } line)
        {
            Write(context.Out, model.Perceive(line));
        }

        return 0;
    }

    private static void Write(TextWriter output, EmotionReading reading)
    {
        var top = reading.Probabilities
            .Select((probability, label) => (Probability: probability, Label: EmotionTaxonomy.Labels[label]))
            .OrderByDescending(pair => pair.Probability)
            .Take(3)
            .Select(pair => string.Create(CultureInfo.InvariantCulture, $"{pair.Label} {pair.Probability:0.00}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"language {reading.Language}; labels [{string.Join(", ", reading.Labels)}]; top {string.Join(", ", top)}; valence {reading.Valence:+0.00;-0.00}; arousal {reading.Arousal:0.00}"));
    }
}
