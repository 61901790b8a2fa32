using System.Globalization;
using Anima.Llm.Benchmarking;
using Anima.Llm.Chat;
using Anima.Llm.Conversion;
using Anima.Llm.Gguf;
using Anima.Llm.Inference;
using Anima.Llm.Models;
using Microsoft.Extensions.AI;

namespace Anima.Cli.Commands;

/// <summary>Turns the engine's expected failures (bad files, unsupported models) into one clear line and exit code 1.</summary>
internal static class LlmErrors
{
    public static async Task<int> RunAsync(CliContext context, string command, Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (Exception exception) when (exception is GgufFormatException or NotSupportedException or FileNotFoundException or InvalidDataException
            or ModelChecksumException or HttpRequestException or ContextOverflowException or UnauthorizedAccessException or DirectoryNotFoundException)
        {
            await context.Error.WriteLineAsync($"anima {command}: {exception.Message}");
            return 1;
        }
    }
}

/// <summary><c>anima bench llm</c>: prefill and decode tokens/s of the in-process engine on a GGUF file.</summary>
public sealed class BenchLlmCommand : ICliCommand
{
    public string Name => "bench llm";

    public string Summary => "Measure prefill and decode tokens/s of the local engine on a GGUF model.";

    public string Usage => """
        Usage: anima bench llm --model FILE [--threads N] [--prompt 512] [--decode 128] [--repetitions 2] [--profile]
          --model        a GGUF file (make a random one of real shape with 'anima model random')
          --threads      threads for the matrix products (default: all cores)
          --prompt       prompt tokens processed at once for the prefill figure (like llama-bench pp512)
          --decode       tokens generated one by one for the decode figure (like llama-bench tg128)
          --repetitions  timed runs of each after a warm-up
          --profile      also print the seconds spent in each phase of the forward pass
        The last two lines are 'prefill tok/s: X' and 'decode tok/s: Y'.
        """;

    public Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        var path = arguments.Require("--model");
        var threads = arguments.GetInt32("--threads", Environment.ProcessorCount, 1, 1024);
        var prompt = arguments.GetInt32("--prompt", 512, 1, 32768);
        var decode = arguments.GetInt32("--decode", 128, 1, 32768);
        var repetitions = arguments.GetInt32("--repetitions", 2, 1, 100);
        var profile = arguments.Has("--profile");
        arguments.ThrowIfUnused();
        return LlmErrors.RunAsync(context, Name, async () =>
        {
            using var model = TransformerModel.Load(path);
            var config = model.Config;
            await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"model: {Path.GetFileName(path)} ({config.Architecture}, {config.LayerCount} layers, dim {config.EmbeddingLength}, vocab {config.VocabularySize}), threads: {threads}, AVX2 kernels: {Anima.Llm.Kernels.QuantizedDot.IsAccelerated}"));
            LlmBenchmarkResult result;
            ForwardProfile.Enabled = profile;
            using (var progress = new ConsoleProgressBar(context, "bench"))
            {
                result = await Task.Run(() => LlmBenchmark.Run(model, threads, prompt, decode, repetitions, progress, cancellationToken), cancellationToken);
            }

            await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"weights read per decoded token: {result.WeightBytes / 1e6:0.0} MB; decode reads {result.DecodeBytesPerSecond / 1e9:0.00} GB/s; logits finite: {result.LogitsFinite}"));
            await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"per second of processor time (all threads, spinning included): prefill {result.PrefillTokensPerCpuSecond:0.00} tok, decode {result.DecodeTokensPerCpuSecond:0.00} tok"));
            foreach (var (label, phases) in new[] { ("prefill", result.PrefillProfile), ("decode", result.DecodeProfile) })
            {
                if (phases is not null)
                {
                    await context.Out.WriteLineAsync($"{label} seconds by phase: " + string.Join(", ", phases.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key} {p.Value:0.000}"))));
                }
            }

            await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"prefill tok/s: {result.PrefillTokensPerSecond:0.00}"));
            await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"decode tok/s: {result.DecodeTokensPerSecond:0.00}"));
            return 0;
        });
    }
}

/// <summary><c>anima bench kernels</c>: bytes per second of each decode kernel, in cache and from memory, on one thread.</summary>
public sealed class BenchKernelsCommand : ICliCommand
{
    public string Name => "bench kernels";

    public string Summary => "Measure the local engine's decode kernels alone (GB/s per weight type, in cache and from memory).";

    public string Usage => """
        Usage: anima bench kernels [--types Q8_0,Q5_0,Q4_K,Q6_K] [--columns 1536] [--memory-mb 256] [--seconds 1]
          --types      weight types to measure (default: every type with a decode kernel on this CPU)
          --columns    values per row (a multiple of 256 for Q4_K/Q6_K, of 32 for Q8_0/Q5_0)
          --memory-mb  size of the matrix read "from memory" (the "in cache" one is 256 KiB)
          --seconds    time per measurement
        One thread, four rows per call as the engine decodes; each kernel is first checked against the plain reference.
        """;

    public async Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        var typeNames = arguments.Get("--types");
        var columns = arguments.GetInt32("--columns", 1536, 32, 1 << 20);
        var memoryMegabytes = arguments.GetInt32("--memory-mb", 256, 1, 8192);
        var seconds = arguments.GetDouble("--seconds", 1);
        arguments.ThrowIfUnused();
        if (seconds is <= 0 or > 600)
        {
            throw new CliUsageException($"--seconds must be more than 0 and at most 600; got {seconds.ToString(CultureInfo.InvariantCulture)}.");
        }

        var types = new List<GgmlType>();
        foreach (var name in typeNames?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [.. KernelBenchmark.Types.Select(t => t.ToString())])
        {
            if (!Enum.TryParse<GgmlType>(name, ignoreCase: true, out var type) || !KernelBenchmark.Types.Contains(type))
            {
                throw new CliUsageException($"No decode kernel to measure for '{name}' on this CPU; measurable: {string.Join(", ", KernelBenchmark.Types)}.");
            }

            var multiple = Anima.Llm.Kernels.QuantizedDot.NeedsSuperBlockScales(type) ? 256 : GgmlTypeInfo.BlockValues(type);
            if (columns % multiple != 0)
            {
                throw new CliUsageException($"--columns {columns} is not a multiple of {multiple}, which {type} rows need.");
            }

            types.Add(type);
        }

        var duration = TimeSpan.FromSeconds(seconds);
        await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"decode kernels, one thread, rows of {columns} values, GB per second of processor time (wall-clock in brackets)"));
        foreach (var type in types)
        {
            var inCache = await Task.Run(() => KernelBenchmark.Run(type, columns, 256 << 10, duration, cancellationToken: cancellationToken), cancellationToken);
            var fromMemory = await Task.Run(() => KernelBenchmark.Run(type, columns, (long)memoryMegabytes << 20, duration, cancellationToken: cancellationToken), cancellationToken);
            await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{type}: in cache ({inCache.MatrixBytes / 1024} KiB) {inCache.BytesPerCpuSecond / 1e9:0.00} ({inCache.BytesPerSecond / 1e9:0.00}); from memory ({fromMemory.MatrixBytes / 1e6:0} MB) {fromMemory.BytesPerCpuSecond / 1e9:0.00} ({fromMemory.BytesPerSecond / 1e9:0.00}); largest difference from the reference {Math.Max(inCache.MaxRelativeError, fromMemory.MaxRelativeError):0.0e+0}"));
        }

        return 0;
    }
}

/// <summary><c>anima model random</c>: a GGUF file of a real model's shape with random weights, for benchmarks.</summary>
public sealed class ModelRandomCommand : ICliCommand
{
    public string Name => "model random";

    public string Summary => "Write a random-weight GGUF with the exact shapes of a real model (for benchmarks).";

    public string Usage => """
        Usage: anima model random --shape qwen2.5-0.5b|qwen2.5-1.5b|gemma3-1b --quant q8_0|q4_k_m --out FILE [--seed 1]
        The weights are random, so the model's text is meaningless; its speed is that of the real model.
        """;

    public Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        var shapeName = arguments.Require("--shape");
        var quant = arguments.Require("--quant");
        var output = arguments.Require("--out");
        var seed = arguments.GetInt32("--seed", 1);
        arguments.ThrowIfUnused();
        var shape = ModelShape.FromName(shapeName) ?? throw new CliUsageException($"Unknown shape '{shapeName}'; use qwen2.5-0.5b, qwen2.5-1.5b or gemma3-1b.");
        var scheme = quant.ToLowerInvariant() switch
        {
            "q8_0" => QuantizationScheme.Q8_0,
            "q4_k_m" => QuantizationScheme.Q4_K_M,
            _ => throw new CliUsageException($"Unknown --quant '{quant}'; use q8_0 or q4_k_m."),
        };
        return LlmErrors.RunAsync(context, Name, async () =>
        {
            using (var progress = new ConsoleProgressBar(context, "write"))
            {
                await Task.Run(() => RandomModel.Write(output, shape, scheme, seed, progress), cancellationToken);
            }

            await context.Out.WriteLineAsync($"wrote {output} ({new FileInfo(output).Length / 1e6:0.0} MB)");
            return 0;
        });
    }
}

/// <summary><c>anima model pull</c>: downloads a known-good chat model with resume and checksum.</summary>
public sealed class ModelPullCommand : ICliCommand
{
    public string Name => "model pull";

    public string Summary => "Download a known-good local chat model (resumable, checksummed) and select it.";

    public string Usage => $"""
        Usage: anima model pull [NAME] [--url URL --file NAME.gguf] [--sha256 HEX | --no-checksum] [--no-use]
          NAME           one of: {string.Join(", ", ModelCatalog.Models.Select(m => m.Name))} (default {ModelCatalog.DefaultModelName})
          --url          download any GGUF URL instead (with --file for its name)
          --sha256       the expected SHA-256 (overrides the catalog's)
          --no-checksum  download even when no SHA-256 can be had (the file is then only checked by opening it)
          --no-use       do not select the model afterwards
        Files go to {LocalModelStore.ModelsDirectory()}. An interrupted download resumes where it stopped.
        With no SHA-256 pinned in the catalog or given, the publisher's is read from Hugging Face (the file
        listing's lfs.oid, else the X-Linked-Etag of the file) before downloading, and the file is checked
        against it; if none can be read the pull stops before downloading, unless --no-checksum.
        """;

    public Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        var url = arguments.Get("--url");
        var file = arguments.Get("--file");
        var sha = arguments.Get("--sha256");
        var noUse = arguments.Has("--no-use");
        var noChecksum = arguments.Has("--no-checksum");
        arguments.ThrowIfUnused();
        if (sha is not null && !PublisherChecksum.IsSha256(sha))
        {
            throw new CliUsageException($"--sha256 must be 64 hexadecimal digits; got '{sha}'.");
        }

        if (sha is not null && noChecksum)
        {
            throw new CliUsageException("--sha256 and --no-checksum contradict each other.");
        }

        CatalogModel entry;
        if (url is not null)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new CliUsageException($"--url must be an http(s) URL; got '{url}'.");
            }

            entry = new CatalogModel(file ?? Path.GetFileName(uri.LocalPath), "custom", uri, file ?? Path.GetFileName(uri.LocalPath), null, sha);
        }
        else
        {
            var name = arguments.Positional.Count > 0 ? arguments.Positional[0] : ModelCatalog.DefaultModelName;
            entry = ModelCatalog.Find(name) ?? throw new CliUsageException($"Unknown model '{name}'; known: {string.Join(", ", ModelCatalog.Models.Select(m => m.Name))}.");
            entry = sha is null ? entry : entry with { Sha256 = sha };
        }

        if (!entry.FileName.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
        {
            throw new CliUsageException($"The file name '{entry.FileName}' must end in .gguf (use --file).");
        }

        return LlmErrors.RunAsync(context, Name, async () =>
        {
            var destination = Path.Combine(LocalModelStore.ModelsDirectory(), entry.FileName);
            using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            http.DefaultRequestHeaders.UserAgent.ParseAdd("anima-model-pull/1.0");
            // Checksum lookups must see the first answer (Hugging Face's redirect carries X-Linked-Etag).
            using var metadata = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };
            metadata.DefaultRequestHeaders.UserAgent.ParseAdd("anima-model-pull/1.0");
            PullResult result;
            using (var progress = new ConsoleProgressBar(context, "pull"))
            {
                result = await new ModelDownloader(http).PullAsync(entry.Url, destination, entry.SizeBytes, entry.Sha256, new PublisherChecksum(metadata), noChecksum, progress, cancellationToken);
            }

            await context.Out.WriteLineAsync($"downloaded {destination}");
            await context.Out.WriteLineAsync(result.Origin switch
            {
                ChecksumOrigin.Given => $"sha256: {result.Sha256} (verified)",
                ChecksumOrigin.Publisher => $"sha256: {result.Sha256} (verified against the publisher's: {result.Source})",
                _ => $"sha256: {result.Sha256} (NOT verified: --no-checksum; compare it with the publisher's file page)",
            });
            if (!noUse)
            {
                var info = LocalModelStore.Use(destination, TimeProvider.System);
                await context.Out.WriteLineAsync($"selected {info.Name} ({info.Architecture}, {info.Template} template) as the local mind");
            }

            return 0;
        });
    }
}

/// <summary><c>anima model use</c>: validates a local GGUF and selects it as the local mind.</summary>
public sealed class ModelUseCommand : ICliCommand
{
    public string Name => "model use";

    public string Summary => "Select a local GGUF file as the companion's mind (validated first).";

    public string Usage => $"""
        Usage: anima model use PATH
        The choice is stored in {LocalModelStore.SettingsPath()}.
        """;

    public Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        arguments.ThrowIfUnused();
        if (arguments.Positional.Count != 1)
        {
            throw new CliUsageException("Give exactly one GGUF file path.");
        }

        return LlmErrors.RunAsync(context, Name, async () =>
        {
            var info = LocalModelStore.Use(arguments.Positional[0], TimeProvider.System);
            await context.Out.WriteLineAsync($"selected {info.Path}");
            await context.Out.WriteLineAsync($"  {info.Name}: {info.Architecture}, {info.Layers} layers, dim {info.EmbeddingLength}, vocab {info.VocabularySize}, context {info.ContextLength}, {info.Template} template, {info.SizeBytes / 1e6:0.0} MB");
            return 0;
        });
    }
}

/// <summary><c>anima model list</c>: the catalog, the downloaded models and the selection.</summary>
public sealed class ModelListCommand : ICliCommand
{
    public string Name => "model list";

    public string Summary => "List downloadable models, downloaded ones, and the selected one.";

    public string Usage => "Usage: anima model list";

    public async Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        arguments.ThrowIfUnused();
        var selected = LocalModelStore.Load().ModelPath;
        await context.Out.WriteLineAsync("catalog (anima model pull NAME):");
        foreach (var model in ModelCatalog.Models)
        {
            await context.Out.WriteLineAsync($"  {model.Name,-24} {model.Description}");
        }

        var directory = LocalModelStore.ModelsDirectory();
        await context.Out.WriteLineAsync($"downloaded ({directory}):");
        if (Directory.Exists(directory))
        {
            foreach (var file in Directory.EnumerateFiles(directory, "*.gguf").Order(StringComparer.Ordinal))
            {
                var marker = string.Equals(Path.GetFullPath(file), selected, StringComparison.Ordinal) ? "*" : " ";
                await context.Out.WriteLineAsync($" {marker} {Path.GetFileName(file)} ({new FileInfo(file).Length / 1e6:0.0} MB)");
            }
        }

        await context.Out.WriteLineAsync(selected is null ? "selected: none" : $"selected: {selected}{(File.Exists(selected) ? string.Empty : " (missing!)")}");
        return 0;
    }
}

/// <summary><c>anima model try</c>: one reply from a local GGUF, streamed (a quick check of a model).</summary>
public sealed class ModelTryCommand : ICliCommand
{
    public string Name => "model try";

    public string Summary => "Stream one reply from a local GGUF model (default: the selected one).";

    public string Usage => """
        Usage: anima model try --prompt TEXT [--model FILE] [--max-tokens 128] [--temperature 0.7] [--seed N] [--threads N]
        """;

    public Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        var prompt = arguments.Require("--prompt");
        var path = arguments.Get("--model") ?? LocalModelStore.ResolveModelPath()
            ?? throw new CliUsageException("No --model given and no model selected ('anima model use PATH').");
        var maxTokens = arguments.GetInt32("--max-tokens", 128, 1, 32768);
        var temperature = arguments.GetDouble("--temperature", 0.7);
        var seed = arguments.Get("--seed");
        var threads = arguments.GetInt32("--threads", Environment.ProcessorCount, 1, 1024);
        arguments.ThrowIfUnused();
        return LlmErrors.RunAsync(context, Name, async () =>
        {
            using var client = LocalChatClient.Open(path, new LocalChatClientOptions { Threads = threads });
            var options = new ChatOptions
            {
                MaxOutputTokens = maxTokens,
                Temperature = (float)temperature,
                Seed = seed is null ? null : long.Parse(seed, CultureInfo.InvariantCulture),
            };
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            UsageDetails? usage = null;
            await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, prompt)], options, cancellationToken))
            {
                await context.Out.WriteAsync(update.Text);
                usage ??= update.Contents.OfType<UsageContent>().FirstOrDefault()?.Details;
            }

            await context.Out.WriteLineAsync();
            await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"[{usage?.InputTokenCount} prompt tokens, {usage?.OutputTokenCount} generated, {stopwatch.Elapsed.TotalSeconds:0.0} s]"));
            return 0;
        });
    }
}

/// <summary><c>anima convert llama2c</c>: a llama2.c checkpoint and tokenizer to GGUF.</summary>
public sealed class ConvertLlama2cCommand : ICliCommand
{
    public string Name => "convert llama2c";

    public string Summary => "Convert a llama2.c checkpoint and tokenizer.bin to a GGUF model.";

    public string Usage => "Usage: anima convert llama2c --checkpoint model.bin --tokenizer tokenizer.bin --out model.gguf";

    public Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        var checkpoint = arguments.Require("--checkpoint");
        var tokenizer = arguments.Require("--tokenizer");
        var output = arguments.Require("--out");
        arguments.ThrowIfUnused();
        return LlmErrors.RunAsync(context, Name, async () =>
        {
            Llama2cConverter.Convert(checkpoint, tokenizer, output);
            await context.Out.WriteLineAsync($"wrote {output}");
            return 0;
        });
    }
}
