using System.Diagnostics;
using Anima.Llm.Gguf;
using Anima.Llm.Kernels;

namespace Anima.Llm.Benchmarking;

/// <summary>
/// The speed of one single-token (decode) kernel: bytes of one weight type read per second of processor time by
/// <see cref="QuantizedDot.Dot4Rows"/>, four rows per call as the engine calls it, on one thread.
/// </summary>
/// <param name="Type">The weight type.</param>
/// <param name="Columns">Values per row.</param>
/// <param name="MatrixBytes">Bytes of the matrix read over and over: small stays in cache, large comes from memory.</param>
/// <param name="BytesPerCpuSecond">Weight bytes read per second of the process's processor time.</param>
/// <param name="BytesPerSecond">Weight bytes read per second of wall-clock time.</param>
/// <param name="MaxRelativeError">The largest difference from <see cref="QuantizedDot.Reference"/> on the first rows, relative to the larger of 1 and the reference.</param>
public sealed record KernelBenchmarkResult(GgmlType Type, int Columns, long MatrixBytes, double BytesPerCpuSecond, double BytesPerSecond, double MaxRelativeError);

/// <summary>
/// Measures the decode kernels apart from the model (<c>anima bench kernels</c>): one matrix of random, well-formed
/// blocks against one row of quantized activations, its rows in order, again and again for a set time. In cache,
/// the figure is the kernel's arithmetic; from memory, it also shows how well one core streams the weights (the
/// prefetch distances in <see cref="QuantizedDot"/> were chosen with it).
/// </summary>
public static unsafe class KernelBenchmark
{
    /// <summary>The weight types that have a four-row decode kernel on this CPU.</summary>
    public static IReadOnlyList<GgmlType> Types { get; } =
        [.. new[] { GgmlType.Q8_0, GgmlType.Q5_0, GgmlType.Q4_K, GgmlType.Q6_K }.Where(QuantizedDot.HasDot4Rows)];

    public static KernelBenchmarkResult Run(GgmlType type, int columns, long matrixBytes, TimeSpan duration, int seed = 1, CancellationToken cancellationToken = default)
    {
        if (!QuantizedDot.HasDot4Rows(type))
        {
            throw new NotSupportedException($"This CPU has no four-row decode kernel for {type}.");
        }

        var blockValues = GgmlTypeInfo.BlockValues(type);
        if (columns <= 0 || columns % blockValues != 0 || (QuantizedDot.NeedsSuperBlockScales(type) && columns % 256 != 0))
        {
            throw new ArgumentOutOfRangeException(nameof(columns), columns, $"{type} rows need a positive multiple of {(QuantizedDot.NeedsSuperBlockScales(type) ? 256 : blockValues)} values.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);
        var rowBytes = GgmlTypeInfo.ByteCount(type, columns);
        var rows = (int)Math.Clamp(matrixBytes / rowBytes / 4 * 4, 4, int.MaxValue / 2 / 4 * 4);
        var random = new Random(seed);
        var weights = GC.AllocateUninitializedArray<byte>(checked((int)(rows * rowBytes)), pinned: true);
        RandomWeights.Fill(type, weights, random);
        var activations = new QuantizedActivations(1, columns);
        var input = new float[columns];
        for (var i = 0; i < columns; i++)
        {
            input[i] = (float)(random.NextDouble() * 2 - 1);
        }

        activations.Quantize(input, 1, QuantizedDot.NeedsSuperBlockScales(type));
        var output = GC.AllocateArray<float>(rows, pinned: true);
        fixed (byte* data = weights)
        fixed (float* results = output)
        {
            // Correct before fast: the first rows against the plain reference.
            var error = 0.0;
            var checkedRows = Math.Min(rows, 16);
            for (var row = 0; row < checkedRows; row += 4)
            {
                QuantizedDot.Dot4Rows(type, data + row * rowBytes, rowBytes, activations, 0, columns, results + row);
            }

            for (var row = 0; row < checkedRows; row++)
            {
                var reference = QuantizedDot.Reference(type, data + row * rowBytes, activations.ValuesOf(0), activations.ScalesOf(0), columns);
                error = Math.Max(error, Math.Abs(results[row] - reference) / Math.Max(1, Math.Abs(reference)));
            }

            // One untimed pass (page faults, tiering), then whole passes until the time is up.
            Pass(type, data, rowBytes, rows, activations, columns, results);
            using var process = Process.GetCurrentProcess();
            var cpuStart = process.TotalProcessorTime;
            var started = Stopwatch.GetTimestamp();
            long passes = 0;
            while (passes == 0 || Stopwatch.GetElapsedTime(started) < duration)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Pass(type, data, rowBytes, rows, activations, columns, results);
                passes++;
            }

            var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
            process.Refresh();
            var cpu = (process.TotalProcessorTime - cpuStart).TotalSeconds;
            var bytes = (double)passes * rows * rowBytes;
            return new KernelBenchmarkResult(type, columns, rows * rowBytes, bytes / Math.Max(cpu, 1e-6), bytes / wall, error);
        }
    }

    private static void Pass(GgmlType type, byte* data, long rowBytes, int rows, QuantizedActivations activations, int columns, float* results)
    {
        for (var row = 0; row < rows; row += 4)
        {
            QuantizedDot.Dot4Rows(type, data + row * rowBytes, rowBytes, activations, 0, columns, results + row);
        }
    }
}
