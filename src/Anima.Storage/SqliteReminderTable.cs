using System.Globalization;
using Microsoft.Data.Sqlite;
using Orleans;
using Orleans.Runtime;

namespace Anima.Storage;

/// <summary>
/// Orleans reminders in the embedded database: durable timers (a companion's idle memory consolidation)
/// that outlive the process, so a conversation left idle when Anima stopped is still consolidated after
/// it starts again. The single node owns the whole grain-hash ring; ranges are honoured all the same.
/// </summary>
public sealed class SqliteReminderTable(SqliteDatabase database) : IReminderTable
{
    private const string Columns = "grain_id, name, start_at, period_ms, etag";

    public Task Init() => Task.CompletedTask;

    public async Task<ReminderTableData> ReadRows(GrainId grainId) =>
        new(await ReadAsync($"SELECT {Columns} FROM reminders WHERE grain_id = $grain;", ("$grain", grainId.ToString())));

    public async Task<ReminderTableData> ReadRows(uint begin, uint end) =>
        // The ring range (begin, end]; when begin >= end it wraps around zero.
        new(await ReadAsync(
            begin < end
                ? $"SELECT {Columns} FROM reminders WHERE grain_hash > $begin AND grain_hash <= $end;"
                : $"SELECT {Columns} FROM reminders WHERE grain_hash > $begin OR grain_hash <= $end;",
            ("$begin", (long)begin),
            ("$end", (long)end)));

    public async Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName)
    {
        var rows = await ReadAsync($"SELECT {Columns} FROM reminders WHERE grain_id = $grain AND name = $name;", ("$grain", grainId.ToString()), ("$name", reminderName));
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<string?> UpsertRow(ReminderEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var etag = await database.WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO reminders (grain_id, name, grain_hash, start_at, period_ms, etag) VALUES ($grain, $name, $hash, $start, $period, 1)
                ON CONFLICT (grain_id, name) DO UPDATE SET start_at = excluded.start_at, period_ms = excluded.period_ms, etag = reminders.etag + 1
                RETURNING etag;
                """;
            command.Parameters.AddWithValue("$grain", entry.GrainId.ToString());
            command.Parameters.AddWithValue("$name", entry.ReminderName);
            command.Parameters.AddWithValue("$hash", (long)entry.GrainId.GetUniformHashCode());
            command.Parameters.AddWithValue("$start", new DateTimeOffset(DateTime.SpecifyKind(entry.StartAt, DateTimeKind.Utc)).ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$period", (long)entry.Period.TotalMilliseconds);
            return (long)command.ExecuteScalar()!;
        });
        return etag.ToString(CultureInfo.InvariantCulture);
    }

    public Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag) =>
        database.WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM reminders WHERE grain_id = $grain AND name = $name AND etag = $etag;";
            command.Parameters.AddWithValue("$grain", grainId.ToString());
            command.Parameters.AddWithValue("$name", reminderName);
            command.Parameters.AddWithValue("$etag", long.TryParse(eTag, CultureInfo.InvariantCulture, out var etag) ? etag : -1L);
            return command.ExecuteNonQuery() == 1;
        });

    public Task TestOnlyClearTable() =>
        database.WriteAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM reminders;";
            return command.ExecuteNonQuery();
        });

    private async Task<List<ReminderEntry>> ReadAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = await database.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        var entries = new List<ReminderEntry>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            entries.Add(new ReminderEntry
            {
                GrainId = GrainId.Parse(reader.GetString(0)),
                ReminderName = reader.GetString(1),
                StartAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)).UtcDateTime,
                Period = TimeSpan.FromMilliseconds(reader.GetInt64(3)),
                ETag = reader.GetInt64(4).ToString(CultureInfo.InvariantCulture),
            });
        }

        return entries;
    }
}
