using System.Globalization;
using Npgsql;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Serialization;

namespace Anima.Storage.Postgres;

/// <summary>
/// Orleans cluster membership in PostgreSQL: which nodes are alive, suspected or dead. Every change to a
/// node's row also moves the table version, both checked by ETag in one transaction, which is what the
/// membership protocol needs to agree on who is in the cluster. Rows hold the entry as Orleans serializes
/// it; the I-am-alive time has its own column so the heartbeat is a single small update.
/// </summary>
public sealed class PostgresMembershipTable(PostgresDatabase database, Serializer<MembershipEntry> serializer, Microsoft.Extensions.Options.IOptions<ClusterOptions> clusterOptions) : IMembershipTable
{
    private readonly string _clusterId = clusterOptions.Value.ClusterId;

    public async Task InitializeMembershipTable(bool tryInitTableVersion)
    {
        await database.InitializeAsync();
        if (tryInitTableVersion)
        {
            await using var connection = await database.OpenAsync();
            await using var command = new NpgsqlCommand("INSERT INTO anima_membership_version (cluster_id, version, etag) VALUES ($1, 0, 0) ON CONFLICT DO NOTHING;", connection);
            command.Parameters.Add(new() { Value = _clusterId });
            await command.ExecuteNonQueryAsync();
        }
    }

    public async Task DeleteMembershipTableEntries(string clusterId)
    {
        await using var connection = await database.OpenAsync();
        await using var command = new NpgsqlCommand("DELETE FROM anima_membership_version WHERE cluster_id = $1;", connection);
        command.Parameters.Add(new() { Value = clusterId });
        await command.ExecuteNonQueryAsync();
    }

    public async Task CleanupDefunctSiloEntries(DateTimeOffset beforeDate)
    {
        await using var connection = await database.OpenAsync();
        await using var command = new NpgsqlCommand("DELETE FROM anima_membership WHERE cluster_id = $1 AND status = $2 AND i_am_alive < $3;", connection);
        command.Parameters.Add(new() { Value = _clusterId });
        command.Parameters.Add(new() { Value = (int)SiloStatus.Dead });
        command.Parameters.Add(new() { Value = beforeDate.UtcDateTime });
        await command.ExecuteNonQueryAsync();
    }

    public Task<MembershipTableData> ReadRow(SiloAddress key) => ReadAsync(key);

    public Task<MembershipTableData> ReadAll() => ReadAsync(null);

    public async Task<bool> InsertRow(MembershipEntry entry, TableVersion tableVersion)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(tableVersion);
        return await ChangeAsync(
            tableVersion,
            """
            INSERT INTO anima_membership (cluster_id, silo, status, entry, etag, i_am_alive) VALUES ($1, $2, $3, $4, 1, $5)
            ON CONFLICT DO NOTHING;
            """,
            entry,
            etag: null);
    }

    public async Task<bool> UpdateRow(MembershipEntry entry, string etag, TableVersion tableVersion)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(tableVersion);
        return await ChangeAsync(
            tableVersion,
            "UPDATE anima_membership SET status = $3, entry = $4, etag = etag + 1, i_am_alive = $5 WHERE cluster_id = $1 AND silo = $2 AND etag = $6;",
            entry,
            long.Parse(etag, CultureInfo.InvariantCulture));
    }

    public async Task UpdateIAmAlive(MembershipEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await using var connection = await database.OpenAsync();
        await using var command = new NpgsqlCommand("UPDATE anima_membership SET i_am_alive = $3 WHERE cluster_id = $1 AND silo = $2;", connection);
        command.Parameters.Add(new() { Value = _clusterId });
        command.Parameters.Add(new() { Value = entry.SiloAddress.ToParsableString() });
        command.Parameters.Add(new() { Value = DateTime.SpecifyKind(entry.IAmAliveTime, DateTimeKind.Utc) });
        await command.ExecuteNonQueryAsync();
    }

    private async Task<bool> ChangeAsync(TableVersion tableVersion, string rowSql, MembershipEntry entry, long? etag)
    {
        await using var connection = await database.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var version = new NpgsqlCommand("UPDATE anima_membership_version SET version = $2, etag = etag + 1 WHERE cluster_id = $1 AND etag = $3;", connection, transaction))
        {
            version.Parameters.Add(new() { Value = _clusterId });
            version.Parameters.Add(new() { Value = tableVersion.Version });
            version.Parameters.Add(new() { Value = long.Parse(tableVersion.VersionEtag, CultureInfo.InvariantCulture) });
            if (await version.ExecuteNonQueryAsync() != 1)
            {
                await transaction.RollbackAsync();
                return false;
            }
        }

        await using var row = new NpgsqlCommand(rowSql, connection, transaction);
        row.Parameters.Add(new() { Value = _clusterId });
        row.Parameters.Add(new() { Value = entry.SiloAddress.ToParsableString() });
        row.Parameters.Add(new() { Value = (int)entry.Status });
        row.Parameters.Add(new() { Value = serializer.SerializeToArray(entry) });
        row.Parameters.Add(new() { Value = DateTime.SpecifyKind(entry.IAmAliveTime, DateTimeKind.Utc) });
        if (etag is { } expected)
        {
            row.Parameters.Add(new() { Value = expected });
        }

        if (await row.ExecuteNonQueryAsync() != 1)
        {
            await transaction.RollbackAsync();
            return false;
        }

        await transaction.CommitAsync();
        return true;
    }

    private async Task<MembershipTableData> ReadAsync(SiloAddress? silo)
    {
        await using var connection = await database.OpenAsync();

        // One statement: the version and the rows are read from the same snapshot.
        await using var command = new NpgsqlCommand(
            """
            SELECT v.version, v.etag, m.entry, m.etag, m.i_am_alive
            FROM anima_membership_version v
            LEFT JOIN anima_membership m ON m.cluster_id = v.cluster_id AND ($2::text IS NULL OR m.silo = $2)
            WHERE v.cluster_id = $1;
            """,
            connection);
        command.Parameters.Add(new() { Value = _clusterId });
        command.Parameters.Add(new() { Value = (object?)silo?.ToParsableString() ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        var members = new List<Tuple<MembershipEntry, string>>();
        TableVersion? version = null;
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                version ??= new TableVersion(reader.GetInt32(0), reader.GetInt64(1).ToString(CultureInfo.InvariantCulture));
                if (reader.IsDBNull(2))
                {
                    continue;
                }

                var entry = serializer.Deserialize(reader.GetFieldValue<byte[]>(2)) ?? throw new InvalidDataException("A membership row could not be read.");
                entry.IAmAliveTime = reader.GetDateTime(4);
                members.Add(Tuple.Create(entry, reader.GetInt64(3).ToString(CultureInfo.InvariantCulture)));
            }
        }

        version ??= new TableVersion(0, "0");
        return new MembershipTableData(members, version);
    }
}
