using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text;

namespace Anima.Llm.Gguf;

/// <summary>The value types of GGUF metadata.</summary>
public enum GgufValueType : uint
{
    UInt8 = 0,
    Int8 = 1,
    UInt16 = 2,
    Int16 = 3,
    UInt32 = 4,
    Int32 = 5,
    Float32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    UInt64 = 10,
    Int64 = 11,
    Float64 = 12,
}

/// <summary>A GGUF file that is corrupt, truncated or of an unsupported version.</summary>
public sealed class GgufFormatException(string message) : FormatException(message);

/// <summary>One tensor of a GGUF file: its name, shape (ne[0] is the row length), type and data.</summary>
public sealed unsafe class GgufTensor
{
    internal GgufTensor(string name, long[] dimensions, GgmlType type, long offset, long byteCount, byte* data)
    {
        Name = name;
        Dimensions = dimensions;
        Type = type;
        Offset = offset;
        ByteCount = byteCount;
        Data = data;
    }

    public string Name { get; }

    /// <summary>ggml order: <c>Dimensions[0]</c> is the innermost (row) length.</summary>
    public IReadOnlyList<long> Dimensions { get; }

    public GgmlType Type { get; }

    /// <summary>Offset of the data from the start of the data section.</summary>
    public long Offset { get; }

    public long ByteCount { get; }

    /// <summary>Pointer into the memory-mapped file; valid while the <see cref="GgufFile"/> is open.</summary>
    public byte* Data { get; }

    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (var dimension in Dimensions)
            {
                count *= dimension;
            }

            return count;
        }
    }

    /// <summary>Row length (ne[0]).</summary>
    public int Columns => checked((int)Dimensions[0]);

    /// <summary>Number of rows (product of ne[1..]).</summary>
    public int Rows => checked((int)(ElementCount / Dimensions[0]));

    /// <summary>The tensor data as floats (dequantized); for small tensors such as norms and biases.</summary>
    public float[] ToFloatArray()
    {
        var result = new float[checked((int)ElementCount)];
        Kernels.Dequantize.Row(Type, new ReadOnlySpan<byte>(Data, checked((int)ByteCount)), result);
        return result;
    }

    public override string ToString() => $"{Name} {Type} [{string.Join(", ", Dimensions)}]";
}

/// <summary>
/// A memory-mapped GGUF (version 2 or 3) file: metadata, tensor infos and tensor data. Every length
/// and offset read from the file is checked against the file's size before use, so a truncated or
/// corrupt file gives a <see cref="GgufFormatException"/> and never an unbounded allocation.
/// </summary>
public sealed unsafe class GgufFile : IDisposable
{
    public const uint Magic = 0x46554747; // "GGUF" little-endian
    public const int DefaultAlignment = 32;
    private const int MaximumDimensions = 4;

    private readonly MemoryMappedFile _mappedFile;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _pointer;
    private readonly Dictionary<string, GgufTensor> _tensors;
    private bool _disposed;

    private GgufFile(string path, MemoryMappedFile mappedFile, MemoryMappedViewAccessor view, byte* pointer, long length)
    {
        Path = path;
        _mappedFile = mappedFile;
        _view = view;
        _pointer = pointer;
        Length = length;
        var reader = new Reader(pointer, length);
        var magic = reader.UInt32();
        if (magic != Magic)
        {
            throw new GgufFormatException($"'{path}' is not a GGUF file (magic 0x{magic:X8}, expected 0x{Magic:X8}).");
        }

        Version = reader.UInt32();
        if (Version is < 2 or > 3)
        {
            throw new GgufFormatException($"'{path}' is GGUF version {Version}; versions 2 and 3 are supported.");
        }

        var tensorCount = reader.UInt64();
        var metadataCount = reader.UInt64();
        // Each metadata entry takes at least 12 bytes and each tensor info at least 24: a count larger than the file could hold is corrupt.
        if (metadataCount > (ulong)length / 12 || tensorCount > (ulong)length / 24)
        {
            throw new GgufFormatException($"'{path}' claims {metadataCount} metadata entries and {tensorCount} tensors, more than its {length} bytes can hold.");
        }

        var metadata = new Dictionary<string, object>(StringComparer.Ordinal);
        for (ulong index = 0; index < metadataCount; index++)
        {
            var key = reader.String();
            var type = (GgufValueType)reader.UInt32();
            metadata[key] = reader.Value(type, key);
        }

        Metadata = metadata;
        Alignment = metadata.TryGetValue("general.alignment", out var alignmentValue) ? (int)Convert.ToInt64(alignmentValue, System.Globalization.CultureInfo.InvariantCulture) : DefaultAlignment;
        if (Alignment <= 0 || (Alignment & (Alignment - 1)) != 0)
        {
            throw new GgufFormatException($"'{path}' has general.alignment {Alignment}; it must be a power of two.");
        }

        var infos = new List<(string Name, long[] Dimensions, GgmlType Type, ulong Offset)>();
        for (ulong index = 0; index < tensorCount; index++)
        {
            var name = reader.String();
            var dimensionCount = reader.UInt32();
            if (dimensionCount is 0 or > MaximumDimensions)
            {
                throw new GgufFormatException($"Tensor '{name}' in '{path}' has {dimensionCount} dimensions; 1 to {MaximumDimensions} are allowed.");
            }

            var dimensions = new long[dimensionCount];
            for (var d = 0; d < dimensionCount; d++)
            {
                var value = reader.UInt64();
                if (value is 0 or > int.MaxValue)
                {
                    throw new GgufFormatException($"Tensor '{name}' in '{path}' has dimension {d} of {value}.");
                }

                dimensions[d] = (long)value;
            }

            var tensorType = (GgmlType)reader.UInt32();
            var offset = reader.UInt64();
            infos.Add((name, dimensions, tensorType, offset));
        }

        DataOffset = Align(reader.Position, Alignment);
        _tensors = new Dictionary<string, GgufTensor>(infos.Count, StringComparer.Ordinal);
        foreach (var (name, dimensions, tensorType, offset) in infos)
        {
            if (GgmlTypeInfo.BlockValues(tensorType) == 0)
            {
                throw new GgufFormatException($"Tensor '{name}' in '{path}' has unknown type {(int)tensorType}.");
            }

            long elements = 1;
            foreach (var dimension in dimensions)
            {
                elements = checked(elements * dimension);
            }

            long byteCount;
            try
            {
                byteCount = dimensions[0] % GgmlTypeInfo.BlockValues(tensorType) != 0
                    ? throw new GgufFormatException($"Tensor '{name}' in '{path}': row length {dimensions[0]} is not a multiple of the {GgmlTypeInfo.BlockValues(tensorType)}-value blocks of {tensorType}.")
                    : GgmlTypeInfo.ByteCount(tensorType, elements);
            }
            catch (OverflowException)
            {
                throw new GgufFormatException($"Tensor '{name}' in '{path}' is impossibly large.");
            }

            if (offset % (ulong)Alignment != 0)
            {
                throw new GgufFormatException($"Tensor '{name}' in '{path}' has offset {offset}, not aligned to {Alignment}.");
            }

            if (offset > (ulong)length || DataOffset + (long)offset + byteCount > length)
            {
                throw new GgufFormatException($"Tensor '{name}' in '{path}' ends past the end of the file ({length} bytes): the file is truncated or corrupt.");
            }

            if (!_tensors.TryAdd(name, new GgufTensor(name, dimensions, tensorType, (long)offset, byteCount, pointer + DataOffset + (long)offset)))
            {
                throw new GgufFormatException($"Tensor '{name}' appears twice in '{path}'.");
            }
        }

        Tensors = infos.Select(info => _tensors[info.Name]).ToArray();
    }

    public string Path { get; }

    public long Length { get; }

    public uint Version { get; }

    public int Alignment { get; }

    /// <summary>Offset of the tensor data section from the start of the file.</summary>
    public long DataOffset { get; }

    /// <summary>Metadata values: string, bool, the integer and float types as stored, or arrays of them.</summary>
    public IReadOnlyDictionary<string, object> Metadata { get; }

    /// <summary>Tensors in file order.</summary>
    public IReadOnlyList<GgufTensor> Tensors { get; }

    /// <summary>Opens and validates <paramref name="path"/>; the tensor data stays memory-mapped until disposal.</summary>
    public static GgufFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"GGUF file '{path}' does not exist.", path);
        }

        if (info.Length < 24)
        {
            throw new GgufFormatException($"'{path}' is {info.Length} bytes long, too short to be a GGUF file.");
        }

        var mappedFile = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        MemoryMappedViewAccessor? view = null;
        try
        {
            view = mappedFile.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            pointer += view.PointerOffset;
            try
            {
                return new GgufFile(path, mappedFile, view, pointer, info.Length);
            }
            catch
            {
                view.SafeMemoryMappedViewHandle.ReleasePointer();
                throw;
            }
        }
        catch
        {
            view?.Dispose();
            mappedFile.Dispose();
            throw;
        }
    }

    public GgufTensor GetTensor(string name) => TryGetTensor(name)
        ?? throw new GgufFormatException($"'{Path}' has no tensor '{name}'.");

    public GgufTensor? TryGetTensor(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _tensors.GetValueOrDefault(name);
    }

    public bool HasMetadata(string key) => Metadata.ContainsKey(key);

    public string GetString(string key) => TryGetString(key) ?? throw new GgufFormatException($"'{Path}' has no string metadata '{key}'.");

    public string? TryGetString(string key) => Metadata.TryGetValue(key, out var value) ? value as string ?? throw new GgufFormatException($"Metadata '{key}' in '{Path}' is {value.GetType().Name}, not a string.") : null;

    public long GetInteger(string key) => TryGetInteger(key) ?? throw new GgufFormatException($"'{Path}' has no integer metadata '{key}'.");

    public long? TryGetInteger(string key) => Metadata.TryGetValue(key, out var value)
        ? value switch
        {
            byte or sbyte or ushort or short or uint or int or long => Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture),
            ulong unsigned when unsigned <= long.MaxValue => (long)unsigned,
            bool flag => flag ? 1 : 0,
            _ => throw new GgufFormatException($"Metadata '{key}' in '{Path}' is {value.GetType().Name}, not an integer."),
        }
        : null;

    public double? TryGetFloat(string key) => Metadata.TryGetValue(key, out var value)
        ? value switch
        {
            float single => single,
            double dbl => dbl,
            byte or sbyte or ushort or short or uint or int or long or ulong => Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture),
            _ => throw new GgufFormatException($"Metadata '{key}' in '{Path}' is {value.GetType().Name}, not a number."),
        }
        : null;

    public bool? TryGetBool(string key) => Metadata.TryGetValue(key, out var value)
        ? value as bool? ?? throw new GgufFormatException($"Metadata '{key}' in '{Path}' is {value.GetType().Name}, not a bool.")
        : null;

    public T[]? TryGetArray<T>(string key) => Metadata.TryGetValue(key, out var value)
        ? value as T[] ?? throw new GgufFormatException($"Metadata '{key}' in '{Path}' is {value.GetType().Name}, not {typeof(T).Name}[].")
        : null;

    internal static long Align(long value, int alignment) => (value + alignment - 1) / alignment * alignment;

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _mappedFile.Dispose();
    }

    /// <summary>A bounds-checked cursor over the mapped header.</summary>
    private ref struct Reader(byte* start, long length)
    {
        private long _position;

        public readonly long Position => _position;

        private byte* Take(long count, string what)
        {
            if (count < 0 || _position + count > length)
            {
                throw new GgufFormatException($"GGUF header is truncated or corrupt: {what} of {count} bytes at offset {_position} runs past the end of the file ({length} bytes).");
            }

            var pointer = start + _position;
            _position += count;
            return pointer;
        }

        public uint UInt32() => *(uint*)Take(4, "a 32-bit value");

        public ulong UInt64() => *(ulong*)Take(8, "a 64-bit value");

        public string String()
        {
            var byteLength = UInt64();
            if (byteLength > (ulong)(length - _position))
            {
                throw new GgufFormatException($"GGUF header is truncated or corrupt: a string of {byteLength} bytes at offset {_position} runs past the end of the file ({length} bytes).");
            }

            var bytes = Take((long)byteLength, "a string");
            return Encoding.UTF8.GetString(bytes, (int)byteLength);
        }

        public object Value(GgufValueType type, string key) => type switch
        {
            GgufValueType.UInt8 => *Take(1, key),
            GgufValueType.Int8 => *(sbyte*)Take(1, key),
            GgufValueType.UInt16 => *(ushort*)Take(2, key),
            GgufValueType.Int16 => *(short*)Take(2, key),
            GgufValueType.UInt32 => *(uint*)Take(4, key),
            GgufValueType.Int32 => *(int*)Take(4, key),
            GgufValueType.Float32 => *(float*)Take(4, key),
            GgufValueType.Bool => *Take(1, key) != 0,
            GgufValueType.String => String(),
            GgufValueType.UInt64 => *(ulong*)Take(8, key),
            GgufValueType.Int64 => *(long*)Take(8, key),
            GgufValueType.Float64 => *(double*)Take(8, key),
            GgufValueType.Array => Array(key),
            _ => throw new GgufFormatException($"Metadata '{key}' has unknown value type {(uint)type}."),
        };

        private object Array(string key)
        {
            var elementType = (GgufValueType)UInt32();
            var count = UInt64();
            var minimumSize = elementType switch
            {
                GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
                GgufValueType.UInt16 or GgufValueType.Int16 => 2,
                GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
                GgufValueType.String or GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
                GgufValueType.Array => 12,
                _ => throw new GgufFormatException($"Metadata array '{key}' has unknown element type {(uint)elementType}."),
            };
            if (count > (ulong)((length - _position) / minimumSize))
            {
                throw new GgufFormatException($"GGUF header is truncated or corrupt: array '{key}' of {count} elements runs past the end of the file.");
            }

            var n = (int)count;
            switch (elementType)
            {
                case GgufValueType.String:
                    var strings = new string[n];
                    for (var i = 0; i < n; i++)
                    {
                        strings[i] = String();
                    }

                    return strings;
                case GgufValueType.Array:
                    var arrays = new object[n];
                    for (var i = 0; i < n; i++)
                    {
                        arrays[i] = Array(key);
                    }

                    return arrays;
                case GgufValueType.Bool:
                    var flags = new bool[n];
                    for (var i = 0; i < n; i++)
                    {
                        flags[i] = *Take(1, key) != 0;
                    }

                    return flags;
                default:
                    return Copy(elementType, n, minimumSize, key);
            }
        }

        private object Copy(GgufValueType elementType, int count, int size, string key)
        {
            var source = new ReadOnlySpan<byte>(Take((long)count * size, key), count * size);
            return elementType switch
            {
                GgufValueType.UInt8 => source.ToArray(),
                GgufValueType.Int8 => MemoryMarshal.Cast<byte, sbyte>(source).ToArray(),
                GgufValueType.UInt16 => MemoryMarshal.Cast<byte, ushort>(source).ToArray(),
                GgufValueType.Int16 => MemoryMarshal.Cast<byte, short>(source).ToArray(),
                GgufValueType.UInt32 => MemoryMarshal.Cast<byte, uint>(source).ToArray(),
                GgufValueType.Int32 => MemoryMarshal.Cast<byte, int>(source).ToArray(),
                GgufValueType.Float32 => MemoryMarshal.Cast<byte, float>(source).ToArray(),
                GgufValueType.UInt64 => MemoryMarshal.Cast<byte, ulong>(source).ToArray(),
                GgufValueType.Int64 => MemoryMarshal.Cast<byte, long>(source).ToArray(),
                GgufValueType.Float64 => MemoryMarshal.Cast<byte, double>(source).ToArray(),
                _ => throw new GgufFormatException($"Metadata array '{key}' has unsupported element type {elementType}."),
            };
        }
    }
}
