using Npgsql;

namespace Anima.Storage.Postgres;

/// <summary>
/// Orleans grain state of a cluster in PostgreSQL (table <c>anima_grain_state</c>): when a node dies and a
/// companion comes back on another node, it reads the state its last write left.
/// </summary>
public sealed class PostgresGrainStorage(PostgresDatabase database) : JsonGrainStorage
{
    protected override async Task<(long ETag, string Data)?> ReadRowAsync(string grainId, string stateName)
    {
        await using var connection = await database.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT etag, data FROM anima_grain_state WHERE grain_id = $1 AND state_name = $2;", connection);
        command.Parameters.Add(new() { Value = grainId });
        command.Parameters.Add(new() { Value = stateName });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? (reader.GetInt64(0), reader.GetString(1)) : null;
    }

    protected override Task<bool> InsertRowAsync(string grainId, string stateName, string data) =>
        WriteAsync("INSERT INTO anima_grain_state (grain_id, state_name, etag, data) VALUES ($1, $2, 1, $3) ON CONFLICT DO NOTHING;", grainId, stateName, data);

    protected override Task<bool> UpdateRowAsync(string grainId, string stateName, string data, long etag) =>
        WriteAsync("UPDATE anima_grain_state SET etag = etag + 1, data = $3 WHERE grain_id = $1 AND state_name = $2 AND etag = $4;", grainId, stateName, data, etag);

    protected override Task DeleteRowAsync(string grainId, string stateName) =>
        WriteAsync("DELETE FROM anima_grain_state WHERE grain_id = $1 AND state_name = $2;", grainId, stateName);

    private async Task<bool> WriteAsync(string sql, string grainId, string stateName, params object[] values)
    {
        await using var connection = await database.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new() { Value = grainId });
        command.Parameters.Add(new() { Value = stateName });
        foreach (var value in values)
        {
            command.Parameters.Add(new() { Value = value });
        }

        return await command.ExecuteNonQueryAsync() == 1;
    }
}
