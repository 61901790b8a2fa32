using Anima.Llm.Benchmarking;
using Anima.Llm.Conversion;
using Anima.Testing;

namespace Anima.Llm.Tests;

/// <summary>Small models written once per test run: stories260K converted to GGUF, and tiny random models of each architecture.</summary>
internal static class ModelFixtures
{
    private static readonly Lazy<string> Directory = new(() =>
    {
        var path = Path.Combine(Path.GetTempPath(), "anima-llm-fixtures-" + Environment.ProcessId);
        System.IO.Directory.CreateDirectory(path);
        return path;
    });

    private static readonly Lock Gate = new();

    public static string Stories260K()
    {
        var folder = SharedData.RequireDirectory("llama2c-stories260K");
        lock (Gate)
        {
            var path = Path.Combine(Directory.Value, "stories260K.gguf");
            if (!File.Exists(path))
            {
                Llama2cConverter.Convert(Path.Combine(folder, "stories260K.bin"), Path.Combine(folder, "tok512.bin"), path + ".tmp");
                File.Move(path + ".tmp", path);
            }

            return path;
        }
    }

    /// <summary>
    /// A tiny gemma3: seven layers (five sliding, the sixth global, the seventh sliding again), a
    /// 5-token window, heads wider than embedding/heads (64 × 4 over 256 wide, as in the real 1B's 256 × 4
    /// over 1152), linear RoPE scaling on the global layer.
    /// </summary>
    public static ModelShape Gemma3Shape { get; } = new("gemma3", 256, 7, 4, 2, 512, 1024, TiedEmbeddings: true, RopeBase: 1_000_000f, HeadDimension: 96, SlidingWindow: 5, RopeScalingFactor: 4f);

    public static string Tiny(string architecture, QuantizationScheme scheme)
    {
        lock (Gate)
        {
            var path = Path.Combine(Directory.Value, $"tiny-{architecture}-{scheme}.gguf");
            if (!File.Exists(path))
            {
                var shape = architecture == "gemma3"
                    ? Gemma3Shape
                    : new ModelShape(architecture, 256, 2, 4, 2, 512, 1024, TiedEmbeddings: architecture != "llama", RopeBase: 10000f, HeadDimension: architecture == "qwen3" ? 128 : null);
                RandomModel.Write(path + ".tmp", shape, scheme, seed: 5);
                File.Move(path + ".tmp", path);
            }

            return path;
        }
    }
}
