using Anima.Llm.Gguf;
using Anima.Llm.Kernels;

namespace Anima.Llm.Tests;

public sealed class GgufFileTests
{
    private static string WriteSample(TemporaryDirectory directory, int alignment = 32)
    {
        var path = directory.File("sample.gguf");
        var writer = new GgufWriter { Alignment = alignment };
        writer.AddMetadata("general.architecture", "llama")
            .AddMetadata("test.u32", 7u)
            .AddMetadata("test.i64", -5L)
            .AddMetadata("test.f32", 1.5f)
            .AddMetadata("test.bool", true)
            .AddMetadata("test.korean", "안녕하세요")
            .AddMetadata("test.strings", new[] { "a", "▁b", "안" })
            .AddMetadata("test.floats", new[] { 1f, 2f })
            .AddMetadata("test.ints", new[] { 1, -2, 3 });
        writer.AddTensor("vector", [3], [1f, 2f, 3f]);
        writer.AddTensor("matrix", [64, 2], GgmlType.Q8_0, RandomWeights.Create(GgmlType.Q8_0, 128, new Random(1)));
        writer.Write(path);
        return path;
    }

    [Fact]
    public void Open_WrittenFile_RoundTripsMetadataAndTensors()
    {
        using var directory = new TemporaryDirectory();
        var path = WriteSample(directory);
        using var file = GgufFile.Open(path);

        Assert.Equal(3u, file.Version);
        Assert.Equal("llama", file.GetString("general.architecture"));
        Assert.Equal(7L, file.GetInteger("test.u32"));
        Assert.Equal(-5L, file.GetInteger("test.i64"));
        Assert.Equal(1.5, file.TryGetFloat("test.f32"));
        Assert.True(file.TryGetBool("test.bool"));
        Assert.Equal("안녕하세요", file.GetString("test.korean"));
        Assert.Equal(["a", "▁b", "안"], file.TryGetArray<string>("test.strings")!);
        Assert.Equal([1f, 2f], file.TryGetArray<float>("test.floats")!);
        Assert.Equal([1, -2, 3], file.TryGetArray<int>("test.ints")!);
        Assert.Equal(["vector", "matrix"], file.Tensors.Select(t => t.Name));
        Assert.Equal([1f, 2f, 3f], file.GetTensor("vector").ToFloatArray());
        var matrix = file.GetTensor("matrix");
        Assert.Equal(GgmlType.Q8_0, matrix.Type);
        Assert.Equal(64, matrix.Columns);
        Assert.Equal(2, matrix.Rows);
        Assert.Equal(0, matrix.Offset % 32);
        Assert.Equal(0, file.DataOffset % 32);
    }

    [Fact]
    public void Open_CustomAlignment_AlignsDataAndTensors()
    {
        using var directory = new TemporaryDirectory();
        using var file = GgufFile.Open(WriteSample(directory, alignment: 64));

        Assert.Equal(64, file.Alignment);
        Assert.Equal(0, file.DataOffset % 64);
        Assert.All(file.Tensors, tensor => Assert.Equal(0, tensor.Offset % 64));
    }

    [Fact]
    public void Open_TruncatedFile_ThrowsFormatException()
    {
        using var directory = new TemporaryDirectory();
        var path = WriteSample(directory);
        var bytes = File.ReadAllBytes(path);
        foreach (var length in new[] { 30, 100, bytes.Length - 40 })
        {
            var truncated = directory.File($"truncated{length}.gguf");
            File.WriteAllBytes(truncated, bytes[..length]);
            var exception = Assert.Throws<GgufFormatException>(() => GgufFile.Open(truncated));
            Assert.Contains("truncated", exception.Message, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void Open_WrongMagic_ThrowsFormatException()
    {
        using var directory = new TemporaryDirectory();
        var path = directory.File("bad.gguf");
        File.WriteAllBytes(path, new byte[64]);
        Assert.Throws<GgufFormatException>(() => GgufFile.Open(path));
    }

    [Fact]
    public void Open_HugeStringLength_ThrowsWithoutAllocating()
    {
        using var directory = new TemporaryDirectory();
        var path = WriteSample(directory);
        var bytes = File.ReadAllBytes(path);
        // The first key's length field follows magic, version and the two counts.
        BitConverter.GetBytes(ulong.MaxValue / 2).CopyTo(bytes, 24);
        File.WriteAllBytes(path, bytes);
        Assert.Throws<GgufFormatException>(() => GgufFile.Open(path));
    }

    [Fact]
    public void Open_HugeTensorCount_ThrowsFormatException()
    {
        using var directory = new TemporaryDirectory();
        var path = WriteSample(directory);
        var bytes = File.ReadAllBytes(path);
        BitConverter.GetBytes(1UL << 40).CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        Assert.Throws<GgufFormatException>(() => GgufFile.Open(path));
    }

    [Fact]
    public void Open_MissingFile_ThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => GgufFile.Open("/nonexistent/model.gguf"));
    }

    [Fact]
    public void AddTensor_WrongByteCount_Throws()
    {
        var writer = new GgufWriter();
        Assert.Throws<ArgumentException>(() => writer.AddTensor("t", [32], GgmlType.Q8_0, new byte[10]));
    }
}
