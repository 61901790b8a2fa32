using Anima.Abstractions;
using Anima.Memory;
using Anima.Memory.Storage;
using Anima.Server.Accounts;
using Microsoft.AspNetCore.Http.HttpResults;
using MemoryRecord = Anima.Memory.Memory;

namespace Anima.Server.Memory;

/// <summary>
/// "What Anima knows about me": browse, search, correct, delete and export every memory. Every call is
/// scoped to the signed-in user; deleting really deletes (the search index too).
/// </summary>
public static class MemoryApi
{
    public static RouteGroupBuilder MapMemoryApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/memories").WithTags("Memories").RequireAuthorization();
        group.MapGet("/", ListAsync);
        group.MapPut("/{id:guid}", CorrectAsync);
        group.MapDelete("/{id:guid}", async Task<Results<NoContent, NotFound>> (Guid id, HttpContext context, IMemoryStore store, IGrainFactory grains, CancellationToken cancellationToken) =>
            await Remembered(context, grains, cancellationToken) && await store.DeleteAsync(context.User.UserId(), id, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound());
        group.MapDelete("/", async (HttpContext context, IMemoryStore store, IGrainFactory grains, CancellationToken cancellationToken) =>
            TypedResults.Ok(new { deleted = await Remembered(context, grains, cancellationToken) ? await store.DeleteAllAsync(context.User.UserId(), cancellationToken) : 0 }));
        group.MapGet("/export", ExportAsync);
        return group;
    }

    /// <summary>
    /// Waits until the companion's last turn is in long-term memory (it is written just after the reply ends), so that
    /// what the user sees or deletes includes what they just said. Always true; a bool to chain in expressions.
    /// </summary>
    private static async Task<bool> Remembered(HttpContext context, IGrainFactory grains, CancellationToken cancellationToken)
    {
        await grains.GetGrain<ICompanionGrain>(context.User.UserId()).WhenRememberedAsync(cancellationToken);
        return true;
    }

    private static async Task<Results<Ok<MemoryListResponse>, ProblemHttpResult>> ListAsync(
        HttpContext context, IMemoryStore store, IGrainFactory grains, string? q, string? kind, int? offset, int? limit, CancellationToken cancellationToken)
    {
        var userId = context.User.UserId();
        await Remembered(context, grains, cancellationToken);
        if (limit is < 1 or > 200 || offset is < 0)
        {
            return AccountsApi.Problem(StatusCodes.Status400BadRequest, "Invalid paging", "limit must be from 1 to 200 and offset not negative.", "invalid-paging");
        }

        IReadOnlyList<MemoryKind> kinds;
        if (kind is null)
        {
            // By default the page shows what was learned; the conversation itself is one click away.
            kinds = Enum.GetValues<MemoryKind>().Where(value => value != MemoryKind.Episodic).ToArray();
        }
        else if (Enum.TryParse<MemoryKind>(kind, ignoreCase: true, out var parsed))
        {
            kinds = [parsed];
        }
        else
        {
            return AccountsApi.Problem(StatusCodes.Status400BadRequest, "Unknown kind", $"Unknown memory kind '{kind}'. Use one of: {string.Join(", ", Enum.GetNames<MemoryKind>()).ToLowerInvariant()}.", "invalid-kind");
        }

        if (!string.IsNullOrWhiteSpace(q))
        {
            var hits = await store.SearchAsync(userId, new MemorySearchQuery { Text = q, Limit = limit ?? 50, Kinds = kind is null ? null : kinds }, cancellationToken);
            return TypedResults.Ok(new MemoryListResponse(hits.Select(hit => MemoryView.From(hit.Memory)).ToList(), hits.Count));
        }

        var page = await store.ListAsync(userId, new MemoryListQuery { Kinds = kinds, Offset = offset ?? 0, Limit = limit ?? 50 }, cancellationToken);
        return TypedResults.Ok(new MemoryListResponse(page.Items.Select(MemoryView.From).ToList(), page.Total ?? page.Items.Count));
    }

    private static async Task<Results<Ok<MemoryView>, NotFound, ProblemHttpResult>> CorrectAsync(
        Guid id, CorrectionRequest request, HttpContext context, IMemoryStore store, IGrainFactory grains, CancellationToken cancellationToken)
    {
        await Remembered(context, grains, cancellationToken);
        if (request.Text is { } text && (string.IsNullOrWhiteSpace(text) || text.Length > MemoryRecord.MaxTextLength))
        {
            return AccountsApi.Problem(StatusCodes.Status400BadRequest, "Invalid text", $"A memory's text must have 1 to {MemoryRecord.MaxTextLength} characters.", "invalid-memory");
        }

        if (request.Importance is < 0 or > 1)
        {
            return AccountsApi.Problem(StatusCodes.Status400BadRequest, "Invalid importance", "Importance is from 0 to 1.", "invalid-memory");
        }

        var updated = await store.UpdateAsync(context.User.UserId(), id, new MemoryCorrection
        {
            Text = request.Text?.Trim(),
            Importance = request.Importance,
            EventDate = request.EventDate,
            ClearEventDate = request.ClearEventDate,
            IsRetired = request.IsRetired,
        }, cancellationToken);
        return updated is null ? TypedResults.NotFound() : TypedResults.Ok(MemoryView.From(updated));
    }

    private static async Task ExportAsync(HttpContext context, IMemoryStore store, IGrainFactory grains, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        await Remembered(context, grains, cancellationToken);
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.ContentDisposition = "attachment; filename=\"anima-memories.json\"";
        await MemoryExport.WriteAsync(store, context.User.UserId(), context.Response.Body, timeProvider, cancellationToken);
    }

    public sealed record CorrectionRequest(string? Text, double? Importance, DateTimeOffset? EventDate, bool ClearEventDate, bool? IsRetired);

    public sealed record MemoryListResponse(IReadOnlyList<MemoryView> Items, long Total);

    public sealed record MemoryView(Guid Id, string Kind, string Text, DateTimeOffset CreatedAt, DateTimeOffset? EventDate, double Importance, double Confidence, bool IsRetired, int Sources)
    {
        public static MemoryView From(MemoryRecord memory) =>
            new(memory.Id, memory.Kind.ToString().ToLowerInvariant(), memory.Text, memory.CreatedAt, memory.EventDate, memory.Importance, memory.Confidence, memory.IsRetired, memory.Provenance.Count);
    }
}
