namespace Anima.Storage;

/// <summary>Orleans grain state in the embedded SQLite database (table <c>grain_state</c>).</summary>
public sealed class SqliteGrainStorage(SqliteDatabase database) : JsonGrainStorage
{
    protected override async Task<(long ETag, string Data)?> ReadRowAsync(string grainId, string stateName)
    {
        await using var connection = await database.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT etag, data FROM grain_state WHERE grain_id = $grain AND state_name = $state;";
        command.Parameters.AddWithValue("$grain", grainId);
        command.Parameters.AddWithValue("$state", stateName);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? (reader.GetInt64(0), reader.GetString(1)) : null;
    }

    protected override Task<bool> InsertRowAsync(string grainId, string stateName, string data) =>
        WriteAsync("INSERT INTO grain_state (grain_id, state_name, etag, data) VALUES ($grain, $state, 1, $data) ON CONFLICT DO NOTHING;", grainId, stateName, data, null);

    protected override Task<bool> UpdateRowAsync(string grainId, string stateName, string data, long etag) =>
        WriteAsync("UPDATE grain_state SET etag = etag + 1, data = $data WHERE grain_id = $grain AND state_name = $state AND etag = $etag;", grainId, stateName, data, etag);

    protected override Task DeleteRowAsync(string grainId, string stateName) =>
        WriteAsync("DELETE FROM grain_state WHERE grain_id = $grain AND state_name = $state;", grainId, stateName, null, null);

    private Task<bool> WriteAsync(string sql, string grainId, string stateName, string? data, long? etag) =>
        database.WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.Parameters.AddWithValue("$grain", grainId);
            command.Parameters.AddWithValue("$state", stateName);
            if (data is not null)
            {
                command.Parameters.AddWithValue("$data", data);
            }

            if (etag is { } expected)
            {
                command.Parameters.AddWithValue("$etag", expected);
            }

            return command.ExecuteNonQuery() == 1;
        });
}
