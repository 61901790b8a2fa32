using System.Text;

namespace Anima.Llm.Gguf;

/// <summary>
/// Writes GGUF version 3 files: metadata, tensor infos and aligned tensor data. Tensor data can be
/// given as bytes or produced by a callback while writing, so that a file of gigabytes (a random-weight
/// benchmark model) never has to sit in memory.
/// </summary>
public sealed class GgufWriter
{
    private readonly List<KeyValuePair<string, object>> _metadata = [];
    private readonly List<PendingTensor> _tensors = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public int Alignment { get; init; } = GgufFile.DefaultAlignment;

    /// <summary>
    /// Adds a metadata entry. Supported values: string, bool, byte, sbyte, ushort, short, uint, int,
    /// ulong, long, float, double, and one-dimensional arrays of those.
    /// </summary>
    public GgufWriter AddMetadata(string key, object value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        _ = TypeOf(value);
        _metadata.RemoveAll(entry => entry.Key == key);
        _metadata.Add(new(key, value));
        return this;
    }

    /// <summary>Adds a tensor whose raw (already quantized) bytes are <paramref name="data"/>.</summary>
    public GgufWriter AddTensor(string name, IReadOnlyList<long> dimensions, GgmlType type, ReadOnlyMemory<byte> data)
    {
        var byteCount = CheckTensor(name, dimensions, type);
        if (data.Length != byteCount)
        {
            throw new ArgumentException($"Tensor '{name}' of type {type} and shape [{string.Join(", ", dimensions)}] needs {byteCount} bytes; got {data.Length}.", nameof(data));
        }

        _tensors.Add(new PendingTensor(name, dimensions.ToArray(), type, byteCount, stream => stream.Write(data.Span)));
        return this;
    }

    /// <summary>Adds an F32 tensor.</summary>
    public GgufWriter AddTensor(string name, IReadOnlyList<long> dimensions, ReadOnlySpan<float> values) =>
        AddTensor(name, dimensions, GgmlType.F32, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).ToArray());

    /// <summary>Adds a tensor whose bytes <paramref name="writeData"/> writes (exactly the tensor's byte count) when the file is written.</summary>
    public GgufWriter AddTensor(string name, IReadOnlyList<long> dimensions, GgmlType type, Action<Stream> writeData)
    {
        ArgumentNullException.ThrowIfNull(writeData);
        var byteCount = CheckTensor(name, dimensions, type);
        _tensors.Add(new PendingTensor(name, dimensions.ToArray(), type, byteCount, writeData));
        return this;
    }

    private long CheckTensor(string name, IReadOnlyList<long> dimensions, GgmlType type)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(dimensions);
        if (dimensions.Count is 0 or > 4 || dimensions.Any(d => d <= 0))
        {
            throw new ArgumentException($"Tensor '{name}' needs 1 to 4 positive dimensions.", nameof(dimensions));
        }

        if (!_names.Add(name))
        {
            throw new ArgumentException($"Tensor '{name}' was already added.", nameof(name));
        }

        if (dimensions[0] % GgmlTypeInfo.BlockValues(type) != 0)
        {
            throw new ArgumentException($"Tensor '{name}': row length {dimensions[0]} is not a multiple of the {GgmlTypeInfo.BlockValues(type)}-value blocks of {type}.", nameof(dimensions));
        }

        return GgmlTypeInfo.ByteCount(type, dimensions.Aggregate(1L, (product, d) => product * d));
    }

    public void Write(string path, IProgress<double>? progress = null)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        WriteTo(stream, progress);
    }

    public void WriteTo(Stream stream, IProgress<double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(GgufFile.Magic);
        writer.Write(3u);
        writer.Write((ulong)_tensors.Count);
        var metadata = _metadata.ToList();
        if (Alignment != GgufFile.DefaultAlignment && metadata.All(entry => entry.Key != "general.alignment"))
        {
            metadata.Add(new("general.alignment", (uint)Alignment));
        }

        writer.Write((ulong)metadata.Count);
        foreach (var (key, value) in metadata)
        {
            WriteString(writer, key);
            var type = TypeOf(value);
            writer.Write((uint)type);
            WriteValue(writer, type, value);
        }

        long offset = 0;
        var offsets = new long[_tensors.Count];
        for (var i = 0; i < _tensors.Count; i++)
        {
            var tensor = _tensors[i];
            WriteString(writer, tensor.Name);
            writer.Write((uint)tensor.Dimensions.Length);
            foreach (var dimension in tensor.Dimensions)
            {
                writer.Write((ulong)dimension);
            }

            writer.Write((uint)tensor.Type);
            offsets[i] = offset;
            writer.Write((ulong)offset);
            offset = GgufFile.Align(offset + tensor.ByteCount, Alignment);
        }

        writer.Flush();
        var position = stream.Position;
        Pad(stream, GgufFile.Align(position, Alignment) - position);
        var total = Math.Max(1, offset);
        for (var i = 0; i < _tensors.Count; i++)
        {
            var tensor = _tensors[i];
            var start = stream.Position;
            tensor.WriteData(stream);
            var written = stream.Position - start;
            if (written != tensor.ByteCount)
            {
                throw new InvalidOperationException($"Tensor '{tensor.Name}' wrote {written} bytes; it needs {tensor.ByteCount}.");
            }

            Pad(stream, GgufFile.Align(tensor.ByteCount, Alignment) - tensor.ByteCount);
            progress?.Report((double)(offsets[i] + tensor.ByteCount) / total);
        }

        progress?.Report(1);
    }

    private static void Pad(Stream stream, long count)
    {
        Span<byte> zeros = stackalloc byte[64];
        zeros.Clear();
        stream.Write(zeros[..(int)count]);
    }

    private static void WriteString(BinaryWriter writer, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        writer.Write((ulong)bytes.Length);
        writer.Write(bytes);
    }

    private static GgufValueType TypeOf(object value) => value switch
    {
        byte => GgufValueType.UInt8,
        sbyte => GgufValueType.Int8,
        ushort => GgufValueType.UInt16,
        short => GgufValueType.Int16,
        uint => GgufValueType.UInt32,
        int => GgufValueType.Int32,
        float => GgufValueType.Float32,
        bool => GgufValueType.Bool,
        string => GgufValueType.String,
        ulong => GgufValueType.UInt64,
        long => GgufValueType.Int64,
        double => GgufValueType.Float64,
        Array array when array.GetType().GetElementType() is { } element && (element == typeof(string) || element.IsPrimitive) => GgufValueType.Array,
        _ => throw new ArgumentException($"GGUF metadata cannot hold a value of type {value.GetType().Name}."),
    };

    private static GgufValueType ElementTypeOf(Type element) =>
        element == typeof(string) ? GgufValueType.String : TypeOf(Activator.CreateInstance(element)!);

    private static void WriteValue(BinaryWriter writer, GgufValueType type, object value)
    {
        switch (value)
        {
            case byte v: writer.Write(v); break;
            case sbyte v: writer.Write(v); break;
            case ushort v: writer.Write(v); break;
            case short v: writer.Write(v); break;
            case uint v: writer.Write(v); break;
            case int v: writer.Write(v); break;
            case float v: writer.Write(v); break;
            case bool v: writer.Write((byte)(v ? 1 : 0)); break;
            case string v: WriteString(writer, v); break;
            case ulong v: writer.Write(v); break;
            case long v: writer.Write(v); break;
            case double v: writer.Write(v); break;
            case Array array:
                var elementType = ElementTypeOf(array.GetType().GetElementType()!);
                writer.Write((uint)elementType);
                writer.Write((ulong)array.Length);
                foreach (var element in array)
                {
                    WriteValue(writer, elementType, element!);
                }

                break;
            default:
                throw new ArgumentException($"GGUF metadata cannot hold {type}.");
        }
    }

    private sealed record PendingTensor(string Name, long[] Dimensions, GgmlType Type, long ByteCount, Action<Stream> WriteData);
}
