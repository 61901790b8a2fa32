using System.Text.Json.Serialization;

namespace Anima.Memory;

/// <summary>Source-generated JSON for what the library writes and reads (no reflection at run time).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = false)]
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(Memory))]
[JsonSerializable(typeof(MemoryExportDocument))]
internal sealed partial class MemoryJsonContext : JsonSerializerContext;
