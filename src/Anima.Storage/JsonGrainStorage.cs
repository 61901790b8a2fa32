using System.Globalization;
using System.Text.Json;
using Orleans;
using Orleans.Runtime;
using Orleans.Storage;

namespace Anima.Storage;

/// <summary>
/// Orleans grain state as JSON with an integer ETag for optimistic concurrency: a write from a stale
/// activation (two activations after a crash, say) fails instead of silently overwriting newer state.
/// The database behind it (SQLite embedded, PostgreSQL in a cluster) only stores and compares rows.
/// </summary>
public abstract class JsonGrainStorage : IGrainStorage
{
    private static readonly JsonSerializerOptions SerializerOptions = new(JsonSerializerDefaults.General);

    /// <summary>The stored row, or null when there is none.</summary>
    protected abstract Task<(long ETag, string Data)?> ReadRowAsync(string grainId, string stateName);

    /// <summary>Inserts the row with ETag 1; false when a row already exists.</summary>
    protected abstract Task<bool> InsertRowAsync(string grainId, string stateName, string data);

    /// <summary>Replaces the row and increments its ETag, only when its ETag is still <paramref name="etag"/>.</summary>
    protected abstract Task<bool> UpdateRowAsync(string grainId, string stateName, string data, long etag);

    protected abstract Task DeleteRowAsync(string grainId, string stateName);

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        if (await ReadRowAsync(grainId.ToString(), stateName) is not { } row)
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
            return;
        }

        grainState.ETag = row.ETag.ToString(CultureInfo.InvariantCulture);
        grainState.State = JsonSerializer.Deserialize<T>(row.Data, SerializerOptions) ?? Activator.CreateInstance<T>();
        grainState.RecordExists = true;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var data = JsonSerializer.Serialize(grainState.State, SerializerOptions);
        var written = grainState.ETag is null
            ? await InsertRowAsync(grainId.ToString(), stateName, data)
            : await UpdateRowAsync(grainId.ToString(), stateName, data, long.Parse(grainState.ETag, CultureInfo.InvariantCulture));
        if (!written)
        {
            throw new InconsistentStateException($"The stored state of {grainId} ({stateName}) changed since it was read.", grainState.ETag ?? "none", "unknown");
        }

        grainState.ETag = grainState.ETag is null ? "1" : (long.Parse(grainState.ETag, CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        await DeleteRowAsync(grainId.ToString(), stateName);
        grainState.ETag = null;
        grainState.RecordExists = false;
        grainState.State = Activator.CreateInstance<T>();
    }
}
