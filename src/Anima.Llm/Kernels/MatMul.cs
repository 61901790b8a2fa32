using Anima.Llm.Gguf;

namespace Anima.Llm.Kernels;

/// <summary>A weight matrix [Rows, Columns] in any supported type, pointing into a mapped GGUF file.</summary>
public sealed unsafe class WeightMatrix
{
    public WeightMatrix(GgufTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!GgmlTypeInfo.IsSupported(tensor.Type))
        {
            throw new NotSupportedException($"Tensor '{tensor.Name}' has type {tensor.Type}, which this engine does not support (supported: F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K).");
        }

        if (QuantizedDot.UsesQuantizedActivations(tensor.Type) && tensor.Columns % 32 != 0)
        {
            throw new NotSupportedException($"Tensor '{tensor.Name}' has rows of {tensor.Columns} values; quantized rows must be a multiple of 32.");
        }

        Name = tensor.Name;
        Type = tensor.Type;
        Data = tensor.Data;
        Columns = tensor.Columns;
        Rows = tensor.Rows;
        RowBytes = GgmlTypeInfo.ByteCount(Type, Columns);
    }

    public string Name { get; }

    public GgmlType Type { get; }

    public byte* Data { get; }

    public int Rows { get; }

    public int Columns { get; }

    public long RowBytes { get; }

    public bool UsesQuantizedActivations => QuantizedDot.UsesQuantizedActivations(Type);

    /// <summary>Dequantizes row <paramref name="row"/> (an embedding lookup).</summary>
    public void DequantizeRow(int row, Span<float> output) =>
        Dequantize.Row(Type, new ReadOnlySpan<byte>(Data + row * RowBytes, (int)RowBytes), output[..Columns]);
}

/// <summary>
/// Matrix products <c>output[t, r] = Σ_c weights[r, c] · input[t, c]</c> for a batch of tokens, split
/// over threads by blocks of weight rows. Each block of rows is multiplied with every token of the
/// batch while it is in cache, so a long prompt streams the weights from memory once per batch.
/// </summary>
public static unsafe class MatMul
{
    private const int RowsPerTask = 16;
    private const int TokensPerTile = 32;

    /// <summary>
    /// <paramref name="input"/> [tokens, Columns] floats (used by F32/F16/BF16 weights);
    /// <paramref name="quantized"/> the same rows quantized (used by the integer types);
    /// <paramref name="output"/> [tokens, outputStride] receives columns 0..Rows-1 of each row.
    /// </summary>
    public static void Multiply(WeightMatrix weights, float* input, QuantizedActivations? quantized, float* output, int tokens, int outputStride, int threads) =>
        Multiply([new MatMulOutput(weights, output, outputStride)], input, quantized, tokens, threads);

    /// <summary>
    /// Several products of the same input (a layer's query/key/value, or gate/up) in one parallel loop:
    /// one hand-off to the worker threads instead of one per matrix, and one pool of row blocks for
    /// them to share, which is what a single decoded token's short loops need.
    /// </summary>
    public static void Multiply(MatMulOutput[] products, float* input, QuantizedActivations? quantized, int tokens, int threads)
    {
        ArgumentNullException.ThrowIfNull(products);
        var firstBlock = new int[products.Length + 1];
        for (var m = 0; m < products.Length; m++)
        {
            var weights = products[m].Weights;
            ArgumentNullException.ThrowIfNull(weights);
            if (weights.Columns != products[0].Weights.Columns)
            {
                throw new ArgumentException($"'{weights.Name}' has {weights.Columns} columns, '{products[0].Weights.Name}' {products[0].Weights.Columns}: one input cannot feed both.");
            }

            if (weights.UsesQuantizedActivations && (quantized is null || quantized.Columns != weights.Columns || quantized.Rows < tokens))
            {
                throw new ArgumentException($"'{weights.Name}' needs {tokens} rows of quantized activations of {weights.Columns} columns.");
            }

            if (weights.UsesQuantizedActivations && QuantizedDot.NeedsSuperBlockScales(weights.Type) && !quantized!.SuperBlockScaled)
            {
                throw new ArgumentException($"'{weights.Name}' ({weights.Type}) needs activations quantized with one scale per 256 values.");
            }

            firstBlock[m + 1] = firstBlock[m] + (weights.Rows + RowsPerTask - 1) / RowsPerTask;
        }

        void Work(int block)
        {
            var m = 0;
            while (block >= firstBlock[m + 1])
            {
                m++;
            }

            var product = products[m];
            var firstRow = (block - firstBlock[m]) * RowsPerTask;
            MultiplyRows(product.Weights, input, quantized, (float*)product.Output, tokens, product.OutputStride, firstRow, Math.Min(product.Weights.Rows, firstRow + RowsPerTask));
        }

        ParallelWork.For(firstBlock[^1], threads, Work);
    }

    /// <summary>Rows firstRow..lastRow-1 of one product for every token.</summary>
    private static void MultiplyRows(WeightMatrix weights, float* input, QuantizedActivations? quantized, float* output, int tokens, int outputStride, int firstRow, int lastRow)
    {
        var useQuantized = weights.UsesQuantizedActivations;
        var columns = weights.Columns;
        var type = weights.Type;
        var data = weights.Data;
        var rowBytes = weights.RowBytes;
        var useFour = useQuantized && tokens >= 4 && QuantizedDot.HasDot4(type);
        var useTwoRows = useQuantized && tokens >= 4 && QuantizedDot.HasDot2x4(type);
        var useFourRows = useQuantized && QuantizedDot.HasDot4Rows(type);
        var four = stackalloc float[8];

        // Q8_0 and Q5_0 rows are unpacked once for the whole prompt into plain signed bytes and float scales, and
        // multiplied two blocks per 512-bit register (AVX-512): 45% faster than unpacking Q5_0 again for every four
        // tokens, ~5-10% for Q8_0 (measured in cache).
        sbyte* unpacked = null;
        float* unpackedScales = null;
        var blocksPerRow = columns / 32;
        if (useTwoRows && type is GgmlType.Q8_0 or GgmlType.Q5_0 && tokens >= 8 && QuantizedDot.HasDot2x4Int8)
        {
            var buffer = UnpackBuffer.For(lastRow - firstRow, columns);
            unpacked = buffer.Values;
            unpackedScales = buffer.Scales;
            for (var r = firstRow; r < lastRow; r++)
            {
                var target = unpacked + (r - firstRow) * columns;
                var targetScales = unpackedScales + (r - firstRow) * blocksPerRow;
                if (type == GgmlType.Q8_0)
                {
                    QuantizedDot.UnpackQ8_0(data + r * rowBytes, columns, target, targetScales);
                }
                else
                {
                    QuantizedDot.UnpackQ5_0Signed(data + r * rowBytes, columns, target, targetScales);
                }
            }
        }

        for (var tile = 0; tile < tokens; tile += TokensPerTile)
        {
            var tileEnd = Math.Min(tokens, tile + TokensPerTile);
            // Tokens in groups of four go through the prompt kernels; the rest (all of them when decoding) through
            // the single-token kernels below, the same ones whatever the batch, so that a token gives the same
            // result whether it is decoded alone or ends a prompt (a replayed cache matches bit for bit).
            var groupEnd = useFour || useTwoRows ? tile + (tileEnd - tile) / 4 * 4 : tile;
            var row = firstRow;
            if (useTwoRows)
            {
                // Pairs of rows, four tokens at a time.
                for (; row + 2 <= lastRow; row += 2)
                {
                    var rowData = data + row * rowBytes;
                    for (var token = tile; token < groupEnd; token += 4)
                    {
                        if (unpacked is not null)
                        {
                            var local = row - firstRow;
                            QuantizedDot.Dot2x4Int8(unpacked + local * columns, unpacked + (local + 1) * columns, unpackedScales + local * blocksPerRow, unpackedScales + (local + 1) * blocksPerRow, quantized!, token, columns, four);
                        }
                        else
                        {
                            QuantizedDot.Dot2x4(type, rowData, rowData + rowBytes, quantized!, token, columns, four);
                        }

                        for (var t = 0; t < 4; t++)
                        {
                            output[(token + t) * outputStride + row] = four[t];
                            output[(token + t) * outputStride + row + 1] = four[4 + t];
                        }
                    }
                }
            }

            for (; row < lastRow; row++)
            {
                var rowData = data + row * rowBytes;
                for (var token = tile; token < groupEnd; token += 4)
                {
                    QuantizedDot.Dot4(type, rowData, quantized!, token, columns, four);
                    output[token * outputStride + row] = four[0];
                    output[(token + 1) * outputStride + row] = four[1];
                    output[(token + 2) * outputStride + row] = four[2];
                    output[(token + 3) * outputStride + row] = four[3];
                }
            }

            // The remaining tokens one at a time: four rows per call where there is a kernel for it, else row by row.
            for (var token = groupEnd; token < tileEnd; token++)
            {
                row = firstRow;
                if (useFourRows)
                {
                    for (; row + 4 <= lastRow; row += 4)
                    {
                        QuantizedDot.Dot4Rows(type, data + row * rowBytes, rowBytes, quantized!, token, columns, output + token * outputStride + row);
                    }
                }

                for (; row < lastRow; row++)
                {
                    var rowData = data + row * rowBytes;
                    output[token * outputStride + row] = useQuantized
                        ? QuantizedDot.Dot(type, rowData, quantized!.ValuesOf(token), quantized.ScalesOf(token), quantized.SumsOf(token), columns)
                        : QuantizedDot.DotFloat(type, rowData, input + token * columns, columns);
                }
            }
        }
    }
}

/// <summary>A thread's scratch for rows unpacked by <see cref="QuantizedDot.UnpackQ8_0"/> / <see cref="QuantizedDot.UnpackQ5_0Signed"/> (pinned, grown on demand, freed with the thread).</summary>
internal sealed unsafe class UnpackBuffer
{
    [ThreadStatic]
    private static UnpackBuffer? t_current;

    private readonly sbyte[] _values;
    private readonly float[] _scales;

    private UnpackBuffer(int bytes)
    {
        _values = GC.AllocateArray<sbyte>(bytes, pinned: true);
        _scales = GC.AllocateArray<float>(bytes / 32, pinned: true);
        Capacity = bytes;
    }

    public int Capacity { get; }

    public sbyte* Values => (sbyte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref _values[0]);

    public float* Scales => (float*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref _scales[0]);

    public static UnpackBuffer For(int rows, int columns)
    {
        var bytes = rows * columns;
        if (t_current is null || t_current.Capacity < bytes)
        {
            t_current = new UnpackBuffer(bytes);
        }

        return t_current;
    }
}

/// <summary>One product of <see cref="MatMul.Multiply(MatMulOutput[], float*, QuantizedActivations?, int, int)"/>: its weights and where its [tokens, OutputStride] result goes.</summary>
public readonly record struct MatMulOutput(WeightMatrix Weights, nint Output, int OutputStride)
{
    public unsafe MatMulOutput(WeightMatrix weights, float* output, int outputStride)
        : this(weights, (nint)output, outputStride)
    {
    }
}

/// <summary>Runs an indexed loop on up to N threads; a single thread runs inline with no scheduling cost.</summary>
public static class ParallelWork
{
    private static readonly Lock PoolsGate = new();
    private static readonly Dictionary<int, WorkerPool> Pools = [];

    public static void For(int count, int threads, Action<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (threads <= 1 || count <= 1)
        {
            for (var i = 0; i < count; i++)
            {
                body(i);
            }

            return;
        }

        // Contiguous ranges, four per thread, taken by whichever thread is free: on a busy machine a
        // thread that is descheduled for a while does not hold the others up.
        var parts = Math.Min(threads * 4, count);
        Pool(Math.Min(threads, count)).For(parts, part =>
        {
            var start = (int)((long)count * part / parts);
            var end = (int)((long)count * (part + 1) / parts);
            for (var i = start; i < end; i++)
            {
                body(i);
            }
        });
    }

    private static WorkerPool Pool(int threads)
    {
        lock (PoolsGate)
        {
            if (!Pools.TryGetValue(threads, out var pool))
            {
                pool = new WorkerPool(threads - 1);
                Pools[threads] = pool;
            }

            return pool;
        }
    }
}

/// <summary>
/// Dedicated worker threads for the many short parallel loops of a forward pass (hundreds per token):
/// waking thread-pool threads for each would cost more than the work. Workers spin briefly between
/// loops and then sleep, so an idle model costs no CPU. The caller runs parts too.
/// </summary>
public sealed class WorkerPool
{
    private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 1000; // 1 ms
    private readonly Lock _callerGate = new();
    private readonly object _wake = new();
    private Job? _job;
    private int _generation;

    public WorkerPool(int workers)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(workers);
        for (var i = 0; i < workers; i++)
        {
            new Thread(Work) { IsBackground = true, Name = $"anima-llm-worker-{i}" }.Start();
        }
    }

    /// <summary>Runs <paramref name="body"/>(0..count-1) on the workers and the calling thread; returns when all are done.</summary>
    public void For(int count, Action<int> body)
    {
        lock (_callerGate)
        {
            var job = new Job(body, count);
            Volatile.Write(ref _job, job);
            Interlocked.Increment(ref _generation);
            lock (_wake)
            {
                Monitor.PulseAll(_wake);
            }

            job.Run();
            var spin = new SpinWait();
            while (Volatile.Read(ref job.Pending) > 0)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }

            if (job.Failure is { } failure)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
            }
        }
    }

    private void Work()
    {
        var seen = 0;
        while (true)
        {
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            var spin = new SpinWait();
            while (Volatile.Read(ref _generation) == seen)
            {
                if (System.Diagnostics.Stopwatch.GetTimestamp() - start > SpinTicks)
                {
                    lock (_wake)
                    {
                        while (Volatile.Read(ref _generation) == seen)
                        {
                            Monitor.Wait(_wake);
                        }
                    }

                    break;
                }

                spin.SpinOnce(sleep1Threshold: -1);
            }

            seen = Volatile.Read(ref _generation);
            Volatile.Read(ref _job)?.Run();
        }
    }

    private sealed class Job(Action<int> body, int count)
    {
        private readonly int _count = count;
        public int Next;
        public int Pending = count;
        public Exception? Failure;

        public void Run()
        {
            int index;
            while ((index = Interlocked.Increment(ref Next) - 1) < _count)
            {
                try
                {
                    body(index);
                }
                catch (Exception exception)
                {
                    Failure ??= exception;
                }
                finally
                {
                    Interlocked.Decrement(ref Pending);
                }
            }
        }
    }
}
