using System.Runtime.Intrinsics;

namespace Anima.Perception.Training;

/// <summary>How a set of heads turns logits into probabilities, and so which loss trains them.</summary>
public enum HeadActivation
{
    /// <summary>An independent logistic output per head (one-vs-rest; multi-label).</summary>
    Sigmoid = 0,

    /// <summary>One softmax over all heads; a multi-label target is spread evenly over its labels.</summary>
    Softmax = 1,
}

/// <summary>Settings of the solver.</summary>
public sealed record SolverOptions
{
    /// <summary>Passes over the data.</summary>
    public int Epochs { get; init; } = 8;

    /// <summary>Adagrad base step size.</summary>
    public float LearningRate { get; init; } = 0.3f;

    /// <summary>L2 penalty added to the gradient of every touched weight.</summary>
    public float L2 { get; init; } = 1e-6f;

    public HeadActivation Activation { get; init; } = HeadActivation.Sigmoid;

    /// <summary>
    /// Class balance exponent α: the loss of label k is weighted (N / (K · n_k))^α, where n_k of N
    /// training rows carry it; 0 weights every label alike, 1 fully balances rare and common labels.
    /// </summary>
    public float ClassBalance { get; init; }

    /// <summary>Independent trainings (cross-validation folds) run at once; results do not depend on it.</summary>
    public int Parallelism { get; init; } = Environment.ProcessorCount;

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Epochs, 1);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(LearningRate);
        ArgumentOutOfRangeException.ThrowIfNegative(L2);
        ArgumentOutOfRangeException.ThrowIfLessThan(Parallelism, 1);
        if (ClassBalance is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ClassBalance), ClassBalance, "Class balance must be within 0..1.");
        }
    }
}

/// <summary>Weights of up to 32 linear heads over hashed features: Weights[bucket · Stride + head] and Bias[head].</summary>
internal sealed record LinearHeads(float[] Weights, float[] Bias, int HeadCount, HeadActivation Activation)
{
    /// <summary>Probabilities of every head for one row.</summary>
    public void Predict(ReadOnlySpan<int> indices, ReadOnlySpan<float> values, Span<float> probabilities)
    {
        Span<float> logits = stackalloc float[SparseKernels.Stride];
        Bias.CopyTo(logits);
        SparseKernels.Accumulate(Weights, indices, values, logits);
        Activate(logits[..HeadCount], probabilities, Activation);
    }

    public static void Activate(ReadOnlySpan<float> logits, Span<float> probabilities, HeadActivation activation)
    {
        if (activation == HeadActivation.Sigmoid)
        {
            for (var head = 0; head < logits.Length; head++)
            {
                probabilities[head] = 1f / (1f + MathF.Exp(-logits[head]));
            }

            return;
        }

        var maximum = float.NegativeInfinity;
        foreach (var logit in logits)
        {
            maximum = Math.Max(maximum, logit);
        }

        var sum = 0f;
        for (var head = 0; head < logits.Length; head++)
        {
            probabilities[head] = MathF.Exp(logits[head] - maximum);
            sum += probabilities[head];
        }

        for (var head = 0; head < logits.Length; head++)
        {
            probabilities[head] /= sum;
        }
    }

    public float[][] Predict(SparseDataset data, IReadOnlyList<int> rows)
    {
        var result = new float[rows.Count][];
        for (var position = 0; position < rows.Count; position++)
        {
            result[position] = new float[HeadCount];
            Predict(data.RowIndices(rows[position]), data.RowValues(rows[position]), result[position]);
        }

        return result;
    }
}

/// <summary>
/// Trains up to 32 linear heads at once over the same rows with per-coordinate Adagrad and L2. The
/// heads of one bucket sit side by side (the inference layout), so a row costs one vectorized pass
/// over its features for the logits and one for the update. Single-threaded and seeded: the result
/// is a pure function of the data, the options and the seed.
/// </summary>
internal static class LinearHeadsTrainer
{
    private const float Epsilon = 1e-6f;
    private const int Stride = SparseKernels.Stride;

    /// <param name="targets">[rows.Length · headCount] target of each head for each row, in 0..1.</param>
    public static LinearHeads Train(SparseDataset data, int bucketCount, int[] rows, float[] targets, int headCount, SolverOptions options, int seed,
        Action<double>? progress, CancellationToken cancellationToken)
    {
        options.Validate();
        if (headCount is < 1 or > Stride || targets.Length != rows.Length * headCount)
        {
            throw new ArgumentException($"Expected 1..{Stride} heads and {rows.Length}×{headCount} targets.");
        }

        var weights = new float[bucketCount * Stride];
        var squares = new float[bucketCount * Stride];
        var bias = new float[Stride];
        var biasSquares = new float[Stride];
        var order = new int[rows.Length];
        for (var index = 0; index < order.Length; index++)
        {
            order[index] = index;
        }

        var classWeights = ClassWeights(targets, rows.Length, headCount, options.ClassBalance);
        var random = new Random(seed);
        var logits = new float[Stride];
        var probabilities = new float[Stride];
        var gradient = new float[Stride];
        var rate = Vector256.Create(options.LearningRate);
        var l2 = Vector256.Create(options.L2);
        var epsilon = Vector256.Create(Epsilon);
        var step = 0;
        var totalSteps = (long)options.Epochs * rows.Length;
        for (var epoch = 0; epoch < options.Epochs; epoch++)
        {
            random.Shuffle(order);
            for (var position = 0; position < order.Length; position++)
            {
                if ((position & 4095) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    progress?.Invoke((double)step / totalSteps);
                }

                step++;
                var example = order[position];
                var indices = data.RowIndices(rows[example]);
                var values = data.RowValues(rows[example]);
                bias.CopyTo(logits, 0);
                SparseKernels.Accumulate(weights, indices, values, logits);
                LinearHeads.Activate(logits.AsSpan(0, headCount), probabilities, options.Activation);
                var rowTargets = targets.AsSpan(example * headCount, headCount);
                if (options.Activation == HeadActivation.Softmax)
                {
                    // Weighted cross-entropy L = −Σ_k w_k t_k log p_k with t the targets normalized to sum 1:
                    // ∂L/∂z_j = (Σ_k w_k t_k) p_j − w_j t_j.
                    var total = 0f;
                    foreach (var target in rowTargets)
                    {
                        total += target;
                    }

                    var weighted = 0f;
                    for (var head = 0; head < headCount; head++)
                    {
                        weighted += total > 0 ? classWeights[head] * rowTargets[head] / total : 0f;
                    }

                    for (var head = 0; head < headCount; head++)
                    {
                        gradient[head] = (weighted * probabilities[head]) - (total > 0 ? classWeights[head] * rowTargets[head] / total : 0f);
                    }
                }
                else
                {
                    // Positive examples of label k weigh w_k; negatives weigh 1.
                    for (var head = 0; head < headCount; head++)
                    {
                        var target = rowTargets[head];
                        gradient[head] = (target * classWeights[head] * (probabilities[head] - 1f)) + ((1f - target) * probabilities[head]);
                    }
                }

                for (var head = 0; head < headCount; head++)
                {
                    biasSquares[head] += gradient[head] * gradient[head];
                    bias[head] -= options.LearningRate * gradient[head] / MathF.Sqrt(biasSquares[head] + Epsilon);
                }

                var g0 = Vector256.Create(gradient.AsSpan(0, 8));
                var g1 = Vector256.Create(gradient.AsSpan(8, 8));
                var g2 = Vector256.Create(gradient.AsSpan(16, 8));
                var g3 = Vector256.Create(gradient.AsSpan(24, 8));
                for (var feature = 0; feature < indices.Length; feature++)
                {
                    var offset = indices[feature] * Stride;
                    var value = Vector256.Create(values[feature]);
                    Update(weights.AsSpan(offset, 8), squares.AsSpan(offset, 8), g0 * value, rate, l2, epsilon);
                    Update(weights.AsSpan(offset + 8, 8), squares.AsSpan(offset + 8, 8), g1 * value, rate, l2, epsilon);
                    Update(weights.AsSpan(offset + 16, 8), squares.AsSpan(offset + 16, 8), g2 * value, rate, l2, epsilon);
                    Update(weights.AsSpan(offset + 24, 8), squares.AsSpan(offset + 24, 8), g3 * value, rate, l2, epsilon);
                }
            }
        }

        progress?.Invoke(1);
        return new LinearHeads(weights, bias, headCount, options.Activation);
    }

    private static float[] ClassWeights(float[] targets, int rowCount, int headCount, float balance)
    {
        var weights = new float[headCount];
        Array.Fill(weights, 1f);
        if (balance == 0)
        {
            return weights;
        }

        var counts = new double[headCount];
        for (var row = 0; row < rowCount; row++)
        {
            for (var head = 0; head < headCount; head++)
            {
                counts[head] += targets[(row * headCount) + head];
            }
        }

        for (var head = 0; head < headCount; head++)
        {
            weights[head] = counts[head] > 0 ? (float)Math.Pow(rowCount / (headCount * counts[head]), balance) : 1f;
        }

        return weights;
    }

    private static void Update(Span<float> weights, Span<float> squares, Vector256<float> gradient, Vector256<float> rate, Vector256<float> l2, Vector256<float> epsilon)
    {
        var current = Vector256.Create((ReadOnlySpan<float>)weights);
        var step = gradient + (l2 * current);
        var accumulated = Vector256.Create((ReadOnlySpan<float>)squares) + (step * step);
        accumulated.CopyTo(squares);
        (current - (rate * step / Vector256.Sqrt(accumulated + epsilon))).CopyTo(weights);
    }
}
