using System.Diagnostics;

namespace Anima.Llm.Inference;

/// <summary>The parts of a forward pass that <see cref="ForwardProfile"/> times.</summary>
public enum ForwardPhase
{
    NormAndQuantize,
    QueryKeyValue,
    Rope,
    Attention,
    AttentionOutput,
    GateUp,
    SwiGluAndQuantize,
    Down,
    Logits,
}

/// <summary>
/// Wall-clock time per phase of <see cref="TransformerModel"/>'s forward passes, for finding where the
/// time goes (<c>anima bench llm --profile</c>). Off by default: then each mark is one branch.
/// Not thread-safe by design: forward passes on a model are serialized.
/// </summary>
public static class ForwardProfile
{
    private static readonly long[] Ticks = new long[Enum.GetValues<ForwardPhase>().Length];

    public static bool Enabled { get; set; }

    public static long Start() => Enabled ? Stopwatch.GetTimestamp() : 0;

    public static void Record(ForwardPhase phase, ref long mark)
    {
        if (!Enabled)
        {
            return;
        }

        var now = Stopwatch.GetTimestamp();
        Ticks[(int)phase] += now - mark;
        mark = now;
    }

    public static void Reset() => Array.Clear(Ticks);

    /// <summary>Seconds spent in each phase since the last <see cref="Reset"/>.</summary>
    public static IReadOnlyDictionary<ForwardPhase, double> Seconds() =>
        Enum.GetValues<ForwardPhase>().ToDictionary(phase => phase, phase => Ticks[(int)phase] / (double)Stopwatch.Frequency);
}
