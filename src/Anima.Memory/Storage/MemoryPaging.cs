using System.Data.Common;

namespace Anima.Memory.Storage;

/// <summary>The page-reading half of a listing, shared by the SQLite and PostgreSQL stores.</summary>
internal static class MemoryPaging
{
    /// <summary>
    /// Runs the listing <paramref name="command"/> (its SQL and filter parameters already set), then, when the
    /// query asks for a total, <paramref name="countSql"/> on the same command so the filter's parameters are bound once.
    /// </summary>
    public static async Task<MemoryPage> ReadAsync<TReader>(DbCommand command, string countSql, MemoryListQuery query, Func<TReader, Memory> read, CancellationToken cancellationToken)
        where TReader : DbDataReader
    {
        var items = new List<Memory>();
        await using (var reader = (TReader)await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                items.Add(read(reader));
            }
        }

        long? total = null;
        if (query.IncludeTotal)
        {
            command.CommandText = countSql;
            total = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        }

        return new MemoryPage(items, total, query.Offset);
    }
}
