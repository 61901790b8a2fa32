using System.Text.Json;
using Anima.Memory.Storage;

namespace Anima.Memory;

/// <summary>The JSON document of one user's memories: what "export all" writes and an import reads.</summary>
public sealed record MemoryExportDocument
{
    public const string FormatName = "anima.memories";
    public const int CurrentVersion = 1;

    public string Format { get; init; } = FormatName;

    public int Version { get; init; } = CurrentVersion;

    public required string UserId { get; init; }

    public required DateTimeOffset ExportedAt { get; init; }

    public required IReadOnlyList<Memory> Memories { get; init; }
}

/// <summary>Export and import of all of a user's memories as one JSON file (the user owns what is known about them).</summary>
public static class MemoryExport
{
    /// <summary>Writes every memory of <paramref name="userId"/> (retired and expired included) to <paramref name="destination"/>.</summary>
    public static async Task<int> WriteAsync(IMemoryStore store, string userId, Stream destination, TimeProvider timeProvider, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(timeProvider);
        MemoryValidation.ValidateUserId(userId);
        // The writer fills a buffer that is copied out asynchronously: JsonSerializer flushes a stream-backed
        // writer synchronously, which servers (Kestrel) forbid on response bodies.
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(128 * 1024);
        await using var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true });
        writer.WriteStartObject();
        writer.WriteString("format", MemoryExportDocument.FormatName);
        writer.WriteNumber("version", MemoryExportDocument.CurrentVersion);
        writer.WriteString("userId", userId);
        writer.WriteString("exportedAt", timeProvider.GetUtcNow());
        writer.WriteStartArray("memories");
        var count = 0;
        await foreach (var memory in store.ReadAllAsync(userId, cancellationToken))
        {
            JsonSerializer.Serialize(writer, memory, MemoryJsonContext.Default.Memory);
            count++;
            writer.Flush();
            if (buffer.WrittenCount > 64 * 1024)
            {
                await destination.WriteAsync(buffer.WrittenMemory, cancellationToken);
                buffer.ResetWrittenCount();
            }
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.Flush();
        await destination.WriteAsync(buffer.WrittenMemory, cancellationToken);
        await destination.FlushAsync(cancellationToken);
        return count;
    }

    /// <summary>Reads an export; every memory is validated and re-owned by <paramref name="userId"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not an export of this format, or a memory in it is invalid.</exception>
    public static async Task<IReadOnlyList<Memory>> ReadAsync(Stream source, string userId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        MemoryValidation.ValidateUserId(userId);
        MemoryExportDocument? document;
        try
        {
            document = await JsonSerializer.DeserializeAsync(source, MemoryJsonContext.Default.MemoryExportDocument, cancellationToken);
        }
        catch (JsonException exception)
        {
            throw new InvalidDataException($"Not a valid memory export: {exception.Message}", exception);
        }

        if (document is null || document.Format != MemoryExportDocument.FormatName)
        {
            throw new InvalidDataException($"Not a memory export (expected format '{MemoryExportDocument.FormatName}').");
        }

        if (document.Version > MemoryExportDocument.CurrentVersion)
        {
            throw new InvalidDataException($"The export is version {document.Version}; this Anima reads up to version {MemoryExportDocument.CurrentVersion}.");
        }

        var memories = new List<Memory>(document.Memories?.Count ?? 0);
        foreach (var (memory, index) in (document.Memories ?? []).Select((memory, index) => (memory, index)))
        {
            try
            {
                memories.Add(MemoryValidation.Normalize(userId, memory with { UserId = userId }));
            }
            catch (ArgumentException exception)
            {
                throw new InvalidDataException($"Memory {index} of the export is invalid: {exception.Message}", exception);
            }
        }

        return memories;
    }
}
