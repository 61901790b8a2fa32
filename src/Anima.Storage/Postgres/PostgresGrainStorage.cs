using System.Globalization;
using System.Text.Json;
using Npgsql;
using Orleans;
using Orleans.Runtime;
using Orleans.Storage;

namespace Anima.Storage.Postgres;

/// <summary>
/// Orleans grain state of a cluster in PostgreSQL, as JSON with an integer ETag: when a node dies and a
/// companion comes back on another node, it reads the state its last write left, and a write from a stale
/// activation fails instead of overwriting newer state.
/// </summary>
public sealed class PostgresGrainStorage(PostgresDatabase database) : IGrainStorage
{
    private static readonly JsonSerializerOptions SerializerOptions = new(JsonSerializerDefaults.General);

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        await using var connection = await database.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT etag, data FROM anima_grain_state WHERE grain_id = $1 AND state_name = $2;", connection);
        command.Parameters.Add(new() { Value = grainId.ToString() });
        command.Parameters.Add(new() { Value = stateName });
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
        await using var connection = await database.OpenAsync();
        await using var command = grainState.ETag is null
            ? new NpgsqlCommand("INSERT INTO anima_grain_state (grain_id, state_name, etag, data) VALUES ($1, $2, 1, $3) ON CONFLICT DO NOTHING;", connection)
            : new NpgsqlCommand("UPDATE anima_grain_state SET etag = etag + 1, data = $3 WHERE grain_id = $1 AND state_name = $2 AND etag = $4;", connection);
        command.Parameters.Add(new() { Value = grainId.ToString() });
        command.Parameters.Add(new() { Value = stateName });
        command.Parameters.Add(new() { Value = data });
        if (grainState.ETag is not null)
        {
            command.Parameters.Add(new() { Value = long.Parse(grainState.ETag, CultureInfo.InvariantCulture) });
        }

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
        await using var connection = await database.OpenAsync();
        await using var command = new NpgsqlCommand("DELETE FROM anima_grain_state WHERE grain_id = $1 AND state_name = $2;", connection);
        command.Parameters.Add(new() { Value = grainId.ToString() });
        command.Parameters.Add(new() { Value = stateName });
        await command.ExecuteNonQueryAsync();
        grainState.ETag = null;
        grainState.RecordExists = false;
        grainState.State = Activator.CreateInstance<T>();
    }
}
