using System.Globalization;
using System.Text.Json;
using Orleans;
using Orleans.Runtime;
using Orleans.Storage;

namespace Anima.Storage;

/// <summary>
/// Orleans grain state in the embedded SQLite database, as JSON with an integer ETag for optimistic
/// concurrency: a write from a stale activation (two activations after a crash, say) fails instead of
/// silently overwriting newer state.
/// </summary>
public sealed class SqliteGrainStorage(SqliteDatabase database) : IGrainStorage
{
    private static readonly JsonSerializerOptions SerializerOptions = new(JsonSerializerDefaults.General);

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        await using var connection = await database.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT etag, data FROM grain_state WHERE grain_id = $grain AND state_name = $state;";
        command.Parameters.AddWithValue("$grain", grainId.ToString());
        command.Parameters.AddWithValue("$state", stateName);
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
            return;
        }

        grainState.ETag = reader.GetInt64(0).ToString(CultureInfo.InvariantCulture);
        grainState.State = JsonSerializer.Deserialize<T>(reader.GetString(1), SerializerOptions) ?? Activator.CreateInstance<T>();
        grainState.RecordExists = true;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var data = JsonSerializer.Serialize(grainState.State, SerializerOptions);
        await using var connection = await database.OpenForWriteAsync();
        await using var command = connection.CreateCommand();
        if (grainState.ETag is null)
        {
            command.CommandText = "INSERT INTO grain_state (grain_id, state_name, etag, data) VALUES ($grain, $state, 1, $data) ON CONFLICT DO NOTHING;";
        }
        else
        {
            command.CommandText = "UPDATE grain_state SET etag = etag + 1, data = $data WHERE grain_id = $grain AND state_name = $state AND etag = $etag;";
            command.Parameters.AddWithValue("$etag", long.Parse(grainState.ETag, CultureInfo.InvariantCulture));
        }

        command.Parameters.AddWithValue("$grain", grainId.ToString());
        command.Parameters.AddWithValue("$state", stateName);
        command.Parameters.AddWithValue("$data", data);
        if (await command.ExecuteNonQueryAsync() != 1)
        {
            throw new InconsistentStateException($"The stored state of {grainId} ({stateName}) changed since it was read.", grainState.ETag ?? "none", "unknown");
        }

        grainState.ETag = grainState.ETag is null ? "1" : (long.Parse(grainState.ETag, CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        await using var connection = await database.OpenForWriteAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM grain_state WHERE grain_id = $grain AND state_name = $state;";
        command.Parameters.AddWithValue("$grain", grainId.ToString());
        command.Parameters.AddWithValue("$state", stateName);
        await command.ExecuteNonQueryAsync();
        grainState.ETag = null;
        grainState.RecordExists = false;
        grainState.State = Activator.CreateInstance<T>();
    }
}
