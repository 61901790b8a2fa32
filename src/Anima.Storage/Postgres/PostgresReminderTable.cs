using System.Globalization;
using Npgsql;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;

namespace Anima.Storage.Postgres;

/// <summary>
/// Orleans reminders of a cluster in PostgreSQL: durable timers (a companion's idle memory consolidation)
/// that survive the node that set them. Each node reads the reminders of its share of the grain-hash ring.
/// </summary>
public sealed class PostgresReminderTable(PostgresDatabase database, Microsoft.Extensions.Options.IOptions<ClusterOptions> clusterOptions) : IReminderTable
{
    private const string Columns = "grain_id, name, start_at, period_ms, etag";
    private readonly string _serviceId = clusterOptions.Value.ServiceId;

    public Task Init() => database.InitializeAsync();

    public async Task<ReminderTableData> ReadRows(GrainId grainId)
    {
        await using var connection = await database.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT {Columns} FROM anima_reminders WHERE service_id = $1 AND grain_id = $2;", connection);
        command.Parameters.Add(new() { Value = _serviceId });
        command.Parameters.Add(new() { Value = grainId.ToString() });
        return new ReminderTableData(await ReadAsync(command));
    }

    public async Task<ReminderTableData> ReadRows(uint begin, uint end)
    {
        // The ring range (begin, end]; when begin >= end it wraps around zero.
        await using var connection = await database.OpenAsync();
        await using var command = new NpgsqlCommand(
            begin < end
                ? $"SELECT {Columns} FROM anima_reminders WHERE service_id = $1 AND grain_hash > $2 AND grain_hash <= $3;"
                : $"SELECT {Columns} FROM anima_reminders WHERE service_id = $1 AND (grain_hash > $2 OR grain_hash <= $3);",
            connection);
        command.Parameters.Add(new() { Value = _serviceId });
        command.Parameters.Add(new() { Value = (long)begin });
        command.Parameters.Add(new() { Value = (long)end });
        return new ReminderTableData(await ReadAsync(command));
    }

    public async Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName)
    {
        await using var connection = await database.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT {Columns} FROM anima_reminders WHERE service_id = $1 AND grain_id = $2 AND name = $3;", connection);
        command.Parameters.Add(new() { Value = _serviceId });
        command.Parameters.Add(new() { Value = grainId.ToString() });
        command.Parameters.Add(new() { Value = reminderName });
        var rows = await ReadAsync(command);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<string?> UpsertRow(ReminderEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await using var connection = await database.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO anima_reminders (service_id, grain_id, name, grain_hash, start_at, period_ms, etag) VALUES ($1, $2, $3, $4, $5, $6, 1)
            ON CONFLICT (service_id, grain_id, name) DO UPDATE SET start_at = excluded.start_at, period_ms = excluded.period_ms, etag = anima_reminders.etag + 1
            RETURNING etag;
            """,
            connection);
        command.Parameters.Add(new() { Value = _serviceId });
        command.Parameters.Add(new() { Value = entry.GrainId.ToString() });
        command.Parameters.Add(new() { Value = entry.ReminderName });
        command.Parameters.Add(new() { Value = (long)entry.GrainId.GetUniformHashCode() });
        command.Parameters.Add(new() { Value = DateTime.SpecifyKind(entry.StartAt, DateTimeKind.Utc) });
        command.Parameters.Add(new() { Value = (long)entry.Period.TotalMilliseconds });
        var etag = (long)(await command.ExecuteScalarAsync())!;
        return etag.ToString(CultureInfo.InvariantCulture);
    }

    public async Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag)
    {
        await using var connection = await database.OpenAsync();
        await using var command = new NpgsqlCommand("DELETE FROM anima_reminders WHERE service_id = $1 AND grain_id = $2 AND name = $3 AND etag = $4;", connection);
        command.Parameters.Add(new() { Value = _serviceId });
        command.Parameters.Add(new() { Value = grainId.ToString() });
        command.Parameters.Add(new() { Value = reminderName });
        command.Parameters.Add(new() { Value = long.TryParse(eTag, CultureInfo.InvariantCulture, out var etag) ? etag : -1L });
        return await command.ExecuteNonQueryAsync() == 1;
    }

    public async Task TestOnlyClearTable()
    {
        await using var connection = await database.OpenAsync();
        await using var command = new NpgsqlCommand("DELETE FROM anima_reminders WHERE service_id = $1;", connection);
        command.Parameters.Add(new() { Value = _serviceId });
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<List<ReminderEntry>> ReadAsync(NpgsqlCommand command)
    {
        var entries = new List<ReminderEntry>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            entries.Add(new ReminderEntry
            {
                GrainId = GrainId.Parse(reader.GetString(0)),
                ReminderName = reader.GetString(1),
                StartAt = reader.GetDateTime(2),
                Period = TimeSpan.FromMilliseconds(reader.GetInt64(3)),
                ETag = reader.GetInt64(4).ToString(CultureInfo.InvariantCulture),
            });
        }

        return entries;
    }
}
