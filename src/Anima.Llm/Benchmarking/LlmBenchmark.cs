using System.Diagnostics;
using Anima.Llm.Inference;

namespace Anima.Llm.Benchmarking;

/// <summary>Throughput of one model on one thread count, measured like llama-bench's pp/tg tests.</summary>
public sealed record LlmBenchmarkResult(string Model, int Threads, int PromptTokens, int DecodeTokens, double PrefillTokensPerSecond, double DecodeTokensPerSecond, long WeightBytes, bool LogitsFinite)
{
    /// <summary>Bytes of weights read per second while decoding (every weight is read once per token).</summary>
    public double DecodeBytesPerSecond => DecodeTokensPerSecond * WeightBytes;

    /// <summary>
    /// Prompt tokens per second of processor time (all threads of the process, spinning included): on a
    /// machine shared with other work this tracks the code's own cost far better than wall-clock time.
    /// </summary>
    public double PrefillTokensPerCpuSecond { get; init; }

    /// <summary>Decoded tokens per second of processor time (see <see cref="PrefillTokensPerCpuSecond"/>).</summary>
    public double DecodeTokensPerCpuSecond { get; init; }

    /// <summary>Seconds per phase over the timed prefills, when <see cref="ForwardProfile.Enabled"/>.</summary>
    public IReadOnlyDictionary<ForwardPhase, double>? PrefillProfile { get; init; }

    /// <summary>Seconds per phase over the timed decodes, when <see cref="ForwardProfile.Enabled"/>.</summary>
    public IReadOnlyDictionary<ForwardPhase, double>? DecodeProfile { get; init; }
}

/// <summary>
/// Prefill: a fresh context processes <c>promptTokens</c> random tokens in one call (logits for the
/// last only), like llama-bench's pp512. Decode: a fresh context generates <c>decodeTokens</c> tokens
/// one at a time with logits, like tg128. Each is repeated and averaged after a warm-up.
/// </summary>
public static class LlmBenchmark
{
    public static LlmBenchmarkResult Run(TransformerModel model, int threads, int promptTokens = 512, int decodeTokens = 128, int repetitions = 2, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(promptTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(decodeTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(repetitions, 1);
        model.Threads = threads;
        var random = new Random(42);
        var vocabulary = model.Config.VocabularySize;
        var prompt = Enumerable.Range(0, promptTokens).Select(_ => random.Next(vocabulary)).ToArray();
        var contextLength = Math.Max(promptTokens, decodeTokens) + 1;
        var steps = 1 + 2 * repetitions;
        var done = 0;

        // Warm-up: page the weights in and JIT the kernels.
        var warm = model.CreateSession(contextLength);
        model.Forward(warm, prompt.AsSpan(0, Math.Min(promptTokens, 16)), cancellationToken: cancellationToken);
        progress?.Report(++done / (double)steps);

        var finite = true;
        double prefillSeconds = 0;
        double decodeSeconds = 0;
        double prefillCpuSeconds = 0;
        double decodeCpuSeconds = 0;
        using var process = Process.GetCurrentProcess();
        double CpuSeconds()
        {
            process.Refresh();
            return process.TotalProcessorTime.TotalSeconds;
        }

        var prefillProfile = new Dictionary<ForwardPhase, double>();
        var decodeProfile = new Dictionary<ForwardPhase, double>();
        for (var repetition = 0; repetition < repetitions; repetition++)
        {
            var session = model.CreateSession(contextLength);
            ForwardProfile.Reset();
            var cpu = CpuSeconds();
            var stopwatch = Stopwatch.StartNew();
            model.Forward(session, prompt, cancellationToken: cancellationToken);
            prefillSeconds += stopwatch.Elapsed.TotalSeconds;
            prefillCpuSeconds += CpuSeconds() - cpu;
            Accumulate(prefillProfile);
            finite &= Array.TrueForAll(session.Logits, float.IsFinite);
            progress?.Report(++done / (double)steps);

            session = model.CreateSession(contextLength);
            var token = prompt[0];
            ForwardProfile.Reset();
            cpu = CpuSeconds();
            stopwatch.Restart();
            for (var i = 0; i < decodeTokens; i++)
            {
                model.Forward(session, [token], cancellationToken: cancellationToken);
                token = Sampling.ArgMax(session.Logits);
            }

            decodeSeconds += stopwatch.Elapsed.TotalSeconds;
            decodeCpuSeconds += CpuSeconds() - cpu;
            Accumulate(decodeProfile);
            progress?.Report(++done / (double)steps);
        }

        var weightBytes = model.File.Tensors.Where(t => t.Name != "token_embd.weight" || model.File.TryGetTensor("output.weight") is null).Sum(t => t.ByteCount);
        return new LlmBenchmarkResult(
            model.File.TryGetString("general.name") ?? Path.GetFileName(model.File.Path),
            threads,
            promptTokens,
            decodeTokens,
            promptTokens * repetitions / prefillSeconds,
            decodeTokens * repetitions / decodeSeconds,
            weightBytes,
            finite)
        {
            PrefillTokensPerCpuSecond = promptTokens * repetitions / prefillCpuSeconds,
            DecodeTokensPerCpuSecond = decodeTokens * repetitions / decodeCpuSeconds,
            PrefillProfile = ForwardProfile.Enabled ? prefillProfile : null,
            DecodeProfile = ForwardProfile.Enabled ? decodeProfile : null,
        };

        static void Accumulate(Dictionary<ForwardPhase, double> total)
        {
            foreach (var (phase, seconds) in ForwardProfile.Seconds())
            {
                total[phase] = total.GetValueOrDefault(phase) + seconds;
            }
        }
    }
}
