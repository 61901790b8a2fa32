using System.Numerics.Tensors;

namespace Anima.Voice.Emotion;

/// <summary>
/// A one-hidden-layer perceptron: input [D] → ReLU hidden [H] → softmax output [C]. Weights are row-major:
/// <see cref="HiddenWeights"/> [H×D], <see cref="OutputWeights"/> [C×H].
/// </summary>
internal sealed class Mlp
{
    public Mlp(int inputs, int hidden, int outputs)
    {
        Inputs = inputs;
        Hidden = hidden;
        Outputs = outputs;
        HiddenWeights = new float[hidden * inputs];
        HiddenBias = new float[hidden];
        OutputWeights = new float[outputs * hidden];
        OutputBias = new float[outputs];
    }

    public int Inputs { get; }

    public int Hidden { get; }

    public int Outputs { get; }

    public float[] HiddenWeights { get; init; }

    public float[] HiddenBias { get; init; }

    public float[] OutputWeights { get; init; }

    public float[] OutputBias { get; init; }

    /// <summary>Rounds every weight to float16, the precision the model file stores.</summary>
    public void RoundToHalf()
    {
        foreach (var weights in new[] { HiddenWeights, HiddenBias, OutputWeights, OutputBias })
        {
            for (var index = 0; index < weights.Length; index++)
            {
                weights[index] = (float)(Half)weights[index];
            }
        }
    }

    /// <summary>Class probabilities [C] for input [D]; <paramref name="hidden"/> [H] receives the activations.</summary>
    public void Forward(ReadOnlySpan<float> input, Span<float> hidden, Span<float> probabilities)
    {
        for (var unit = 0; unit < Hidden; unit++)
        {
            var sum = TensorPrimitives.Dot(HiddenWeights.AsSpan(unit * Inputs, Inputs), input) + HiddenBias[unit];
            hidden[unit] = sum > 0 ? sum : 0;
        }

        for (var output = 0; output < Outputs; output++)
        {
            probabilities[output] = TensorPrimitives.Dot(OutputWeights.AsSpan(output * Hidden, Hidden), hidden) + OutputBias[output];
        }

        TensorPrimitives.SoftMax(probabilities[..Outputs], probabilities);
    }

    /// <summary>The same computation with plain loops, to check <see cref="Forward"/>.</summary>
    internal float[] ForwardReference(float[] input)
    {
        var hidden = new double[Hidden];
        for (var unit = 0; unit < Hidden; unit++)
        {
            double sum = HiddenBias[unit];
            for (var index = 0; index < Inputs; index++)
            {
                sum += (double)HiddenWeights[unit * Inputs + index] * input[index];
            }

            hidden[unit] = Math.Max(0, sum);
        }

        var logits = new double[Outputs];
        for (var output = 0; output < Outputs; output++)
        {
            double sum = OutputBias[output];
            for (var unit = 0; unit < Hidden; unit++)
            {
                sum += OutputWeights[output * Hidden + unit] * hidden[unit];
            }

            logits[output] = sum;
        }

        var maximum = logits.Max();
        var exponentials = logits.Select(logit => Math.Exp(logit - maximum)).ToArray();
        var total = exponentials.Sum();
        return exponentials.Select(value => (float)(value / total)).ToArray();
    }
}

/// <summary>Training settings for <see cref="MlpTrainer"/>; <see cref="VoiceEmotionTrainingOptions"/> sets them (its defaults were chosen by 4-fold leave-speakers-out validation on RAVDESS).</summary>
/// <param name="LabelSmoothing">Share of the target spread evenly over the example's candidate classes (0: one-hot).</param>
internal sealed record MlpTrainingOptions(int Hidden = 64, int Epochs = 120, int BatchSize = 32, float LearningRate = 0.002f, float WeightDecay = 0.001f, float Dropout = 0.3f, float InputNoise = 0.3f, float LabelSmoothing = 0);

/// <summary>Trains an <see cref="Mlp"/> with Adam on class-weighted softmax cross-entropy, input noise and dropout; deterministic for a seed.</summary>
internal static class MlpTrainer
{
    /// <param name="allowed">Per example, which classes its softmax ranges over (null: all); the others get no gradient.</param>
    public static Mlp Train(float[][] inputs, int[] targets, int classes, MlpTrainingOptions options, int seed, bool[][]? allowed = null, CancellationToken cancellationToken = default) =>
        Train(_ => inputs, inputs[0].Length, targets, classes, options, seed, allowed, cancellationToken);

    /// <param name="inputsOfEpoch">
    /// The inputs [N][D] for an epoch (0-based), called once per epoch: lets every epoch see freshly drawn inputs
    /// (e.g. features normalized by a newly sampled history of the speaker), in the order of <paramref name="targets"/>.
    /// </param>
    public static Mlp Train(Func<int, float[][]> inputsOfEpoch, int dimension, int[] targets, int classes, MlpTrainingOptions options, int seed, bool[][]? allowed = null, CancellationToken cancellationToken = default)
    {
        var random = new Random(seed);
        var network = new Mlp(dimension, options.Hidden, classes);
        Initialize(network.HiddenWeights, dimension, random);
        Initialize(network.OutputWeights, options.Hidden, random);
        float[][] parameters = [network.HiddenWeights, network.HiddenBias, network.OutputWeights, network.OutputBias];
        var gradients = parameters.Select(parameter => new float[parameter.Length]).ToArray();
        var firstMoments = parameters.Select(parameter => new float[parameter.Length]).ToArray();
        var secondMoments = parameters.Select(parameter => new float[parameter.Length]).ToArray();

        // Balanced class weights so a class with half the clips (RAVDESS neutral) is not neglected.
        var counts = new int[classes];
        foreach (var target in targets)
        {
            counts[target]++;
        }

        var classWeights = counts.Select(count => count == 0 ? 0f : (float)targets.Length / (classes * count)).ToArray();
        var order = Enumerable.Range(0, targets.Length).ToArray();
        var candidateCounts = allowed?.Select(candidates => candidates.Count(candidate => candidate)).ToArray();
        var hidden = new float[options.Hidden];
        var mask = new float[options.Hidden];
        var probabilities = new float[classes];
        var noisy = new float[dimension];
        var hiddenGradient = new float[options.Hidden];
        var step = 0;
        const float Beta1 = 0.9f, Beta2 = 0.999f, Epsilon = 1e-8f;
        for (var epoch = 0; epoch < options.Epochs; epoch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var inputs = inputsOfEpoch(epoch);
            random.Shuffle(order);
            for (var start = 0; start < order.Length; start += options.BatchSize)
            {
                foreach (var gradient in gradients)
                {
                    Array.Clear(gradient);
                }

                var end = Math.Min(order.Length, start + options.BatchSize);
                for (var position = start; position < end; position++)
                {
                    var example = order[position];
                    var input = inputs[example];
                    for (var index = 0; index < dimension; index++)
                    {
                        noisy[index] = input[index] + options.InputNoise * (float)NextGaussian(random);
                    }

                    for (var unit = 0; unit < options.Hidden; unit++)
                    {
                        mask[unit] = random.NextSingle() < options.Dropout ? 0 : 1 / (1 - options.Dropout);
                    }

                    // Forward with dropout on the hidden layer.
                    for (var unit = 0; unit < options.Hidden; unit++)
                    {
                        var sum = TensorPrimitives.Dot(network.HiddenWeights.AsSpan(unit * dimension, dimension), noisy) + network.HiddenBias[unit];
                        hidden[unit] = sum > 0 ? sum * mask[unit] : 0;
                    }

                    for (var output = 0; output < classes; output++)
                    {
                        probabilities[output] = TensorPrimitives.Dot(network.OutputWeights.AsSpan(output * options.Hidden, options.Hidden), hidden) + network.OutputBias[output];
                    }

                    if (allowed is not null)
                    {
                        // Softmax over the example's candidate classes only.
                        var candidates = allowed[example];
                        var maximum = float.NegativeInfinity;
                        for (var output = 0; output < classes; output++)
                        {
                            maximum = candidates[output] ? Math.Max(maximum, probabilities[output]) : maximum;
                        }

                        var total = 0f;
                        for (var output = 0; output < classes; output++)
                        {
                            probabilities[output] = candidates[output] ? MathF.Exp(probabilities[output] - maximum) : 0;
                            total += probabilities[output];
                        }

                        TensorPrimitives.Divide(probabilities, total, probabilities);
                    }
                    else
                    {
                        TensorPrimitives.SoftMax(probabilities, probabilities);
                    }

                    // Backward: dLoss/dlogit = weight·(p − target), target one-hot smoothed over the candidate classes.
                    var weight = classWeights[targets[example]];
                    var candidateCount = candidateCounts is null ? classes : candidateCounts[example];
                    var spread = options.LabelSmoothing / candidateCount;
                    Array.Clear(hiddenGradient);
                    for (var output = 0; output < classes; output++)
                    {
                        var target = allowed is not null && !allowed[example][output] ? 0 : (output == targets[example] ? 1 - options.LabelSmoothing : 0) + spread;
                        var delta = weight * (probabilities[output] - target); // 0 for excluded classes
                        gradients[3][output] += delta;
                        TensorPrimitives.MultiplyAdd(hidden, delta, gradients[2].AsSpan(output * options.Hidden, options.Hidden), gradients[2].AsSpan(output * options.Hidden, options.Hidden));
                        TensorPrimitives.MultiplyAdd(network.OutputWeights.AsSpan(output * options.Hidden, options.Hidden), delta, hiddenGradient, hiddenGradient);
                    }

                    for (var unit = 0; unit < options.Hidden; unit++)
                    {
                        if (hidden[unit] <= 0)
                        {
                            continue;
                        }

                        var delta = hiddenGradient[unit] * mask[unit];
                        gradients[1][unit] += delta;
                        TensorPrimitives.MultiplyAdd(noisy, delta, gradients[0].AsSpan(unit * dimension, dimension), gradients[0].AsSpan(unit * dimension, dimension));
                    }
                }

                var batch = end - start;
                step++;
                var correction1 = 1 - MathF.Pow(Beta1, step);
                var correction2 = 1 - MathF.Pow(Beta2, step);
                for (var group = 0; group < parameters.Length; group++)
                {
                    var parameter = parameters[group];
                    var decay = group is 0 or 2 ? options.WeightDecay : 0;
                    for (var index = 0; index < parameter.Length; index++)
                    {
                        var gradient = gradients[group][index] / batch;
                        firstMoments[group][index] = Beta1 * firstMoments[group][index] + (1 - Beta1) * gradient;
                        secondMoments[group][index] = Beta2 * secondMoments[group][index] + (1 - Beta2) * gradient * gradient;
                        var update = firstMoments[group][index] / correction1 / (MathF.Sqrt(secondMoments[group][index] / correction2) + Epsilon);
                        parameter[index] -= options.LearningRate * (update + decay * parameter[index]);
                    }
                }
            }
        }

        return network;
    }

    private static void Initialize(float[] weights, int fanIn, Random random)
    {
        var scale = MathF.Sqrt(2f / fanIn);
        for (var index = 0; index < weights.Length; index++)
        {
            weights[index] = scale * (float)NextGaussian(random);
        }
    }

    private static double NextGaussian(Random random)
    {
        var u1 = 1 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
