using System.Data.Common;
using System.Text.Json;
using Anima.Abstractions;

namespace Anima.Storage;

/// <summary>
/// Reads conversation turns from the columns <see cref="Columns"/> (in that order), for the SQLite and the
/// PostgreSQL stores alike: one mapping from rows to <see cref="ConversationTurn"/>.
/// </summary>
internal static class TurnRows
{
    public const string Columns = "id, role, text, created_at, status, emotion";

    public static async Task<List<ConversationTurn>> ReadAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var turns = new List<ConversationTurn>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            turns.Add(new ConversationTurn(
                reader.GetInt64(0),
                (TurnRole)Convert.ToInt32(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture),
                reader.GetString(2),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                (TurnStatus)Convert.ToInt32(reader.GetValue(4), System.Globalization.CultureInfo.InvariantCulture),
                reader.IsDBNull(5) ? null : JsonSerializer.Deserialize<PerceivedEmotion>(reader.GetString(5))));
        }

        return turns;
    }

    /// <summary>
    /// A page of history from a query that returns up to <paramref name="limit"/> + 1 turns newest first: the
    /// extra row only says that there is more; the page is returned oldest first.
    /// </summary>
    public static async Task<ConversationPage> ReadPageAsync(DbCommand command, int limit, CancellationToken cancellationToken)
    {
        var turns = await ReadAsync(command, cancellationToken);
        var hasMore = turns.Count > limit;
        if (hasMore)
        {
            turns.RemoveAt(turns.Count - 1);
        }

        turns.Reverse();
        return new ConversationPage(turns, hasMore);
    }
}
