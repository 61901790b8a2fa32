using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Anima.Abstractions;
using Anima.Core.Diagnostics;
using Anima.Core.Mind;
using Anima.Server.Accounts;
using Anima.Server.Mind;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Anima.Server.Companion;

/// <summary>
/// The companion over HTTP. Replies stream as server-sent events: <c>accepted</c> (the message is
/// stored), <c>perceived</c>, <c>named</c>, <c>token</c>…, then <c>done</c>, or <c>error</c> with a
/// ProblemDetails body. A request the companion refuses before storing anything is a plain ProblemDetails.
/// Every call goes to the grain of the authenticated user, and only that one.
/// </summary>
public static class CompanionApi
{
    private const long MaximumRequestBytes = 512 * 1024;
    private static readonly JsonSerializerOptions EventJson = new(JsonSerializerDefaults.Web);

    public static RouteGroupBuilder MapCompanionApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/companion").WithTags("Companion").RequireAuthorization();
        group.MapPost("/messages", SendAsync).WithMetadata(new RequestSizeLimitAttribute(MaximumRequestBytes));
        group.MapPost("/begin", BeginAsync);
        group.MapPost("/stop", async (HttpContext context, IGrainFactory grains, CancellationToken cancellationToken) =>
            TypedResults.Ok(new { stopped = await Companion(context, grains).StopAsync(cancellationToken) }));
        group.MapGet("/", GetAsync);
        group.MapGet("/history", GetHistoryAsync);
        group.MapPut("/settings", UpdateSettingsAsync);
        group.MapGet("/mood", GetMoodAsync);
        return group;
    }

    public static RouteGroupBuilder MapMindApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/mind").WithTags("Mind").RequireAuthorization();
        group.MapGet("/", async (MindManager mind, CancellationToken cancellationToken) =>
            TypedResults.Ok(MindResponse.From(mind.Status, await mind.GetEffectiveOptionsAsync(cancellationToken))));
        group.MapPut("/", ChangeMindAsync);
        group.MapPost("/refresh", async (MindManager mind, CancellationToken cancellationToken) =>
        {
            var status = await mind.RefreshAsync(cancellationToken);
            return TypedResults.Ok(MindResponse.From(status, await mind.GetEffectiveOptionsAsync(cancellationToken)));
        });
        return group;
    }

    private static ICompanionGrain Companion(HttpContext context, IGrainFactory grains) =>
        grains.GetGrain<ICompanionGrain>(context.User.UserId());

    private static Task SendAsync(MessageRequest request, HttpContext context, IGrainFactory grains, TurnTimings timings)
    {
        var companion = Companion(context, grains);
        return StreamAsync(context, companion, companion.SendAsync(request.Text ?? string.Empty, request.MessageId, context.RequestAborted).WithBatchSize(1), timings);
    }

    private static Task BeginAsync(BeginRequest request, HttpContext context, IGrainFactory grains)
    {
        var companion = Companion(context, grains);
        return StreamAsync(context, companion, companion.BeginAsync(request.Language ?? "en", context.RequestAborted).WithBatchSize(1), timings: null);
    }

    // Batch size 1: Orleans otherwise gathers a batch of events grain-side before returning any, which
    // would hold back tokens (and lose the ones before a failure) instead of streaming them.

    /// <summary>
    /// Waits for the first event before committing to a stream, so that a refusal (empty message, busy)
    /// is an ordinary ProblemDetails response with the right status code.
    /// </summary>
    private static async Task StreamAsync(HttpContext context, ICompanionGrain companion, IAsyncEnumerable<ReplyEvent> events, TurnTimings? timings)
    {
        var started = Stopwatch.GetTimestamp();
        var cancellationToken = context.RequestAborted;

        // When the user goes away mid-reply, tell the grain at once: it stops the mind and stores the
        // partial reply as interrupted, rather than finishing a reply nobody reads.
        await using var leave = cancellationToken.Register(() => _ = companion.StopAsync(CancellationToken.None));
        await using var enumerator = events.GetAsyncEnumerator(cancellationToken);
        try
        {
            if (!await enumerator.MoveNextAsync())
            {
                context.Response.StatusCode = StatusCodes.Status204NoContent;
                return;
            }
        }
        catch (CompanionException exception)
        {
            await ToProblem(exception).ExecuteAsync(context);
            return;
        }
        catch (Exception exception) when (IsNodeFailure(exception))
        {
            await AccountsApi.Problem(StatusCodes.Status503ServiceUnavailable, "Companion unavailable", NodeFailureDetail, CompanionUnavailable).ExecuteAsync(context);
            return;
        }

        context.Response.ContentType = "text/event-stream; charset=utf-8";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        try
        {
            var firstToken = true;
            do
            {
                var current = enumerator.Current;
                await WriteEventAsync(context.Response, current, cancellationToken);
                if (current.Kind == ReplyEventKind.Completed)
                {
                    if (timings is not null && current.Status == TurnStatus.Complete && current.MindWaitMilliseconds > 0)
                    {
                        timings.Record(TurnStage.TurnOverhead, Stopwatch.GetElapsedTime(started) - TimeSpan.FromMilliseconds(current.MindWaitMilliseconds));
                    }

                    // The reply is complete for the user: end the response now. The companion still writes the turn
                    // into long-term memory before it takes the next message; that is work after the turn, not
                    // latency the user waits for, so the enumeration is drained without holding the response open.
                    await context.Response.CompleteAsync();
                    while (await enumerator.MoveNextAsync())
                    {
                    }

                    break;
                }

                if (timings is null)
                {
                    continue;
                }

                if (current.Kind == ReplyEventKind.Accepted)
                {
                    timings.Record(TurnStage.Accepted, Stopwatch.GetElapsedTime(started));
                }
                else if (current.Kind == ReplyEventKind.Token && firstToken)
                {
                    // The node's share of the first token's wait: everything but the mind's own time.
                    firstToken = false;
                    timings.Record(TurnStage.FirstTokenOverhead, Stopwatch.GetElapsedTime(started) - TimeSpan.FromMilliseconds(current.MindWaitMilliseconds));
                }
            }
            while (await enumerator.MoveNextAsync());
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The user stopped or left: the grain stores the partial reply as interrupted.
        }
        catch (Exception exception) when (IsNodeFailure(exception))
        {
            // The node holding the companion died mid-reply. The user's message was stored before the
            // reply began; the client sends it again with the same message id and another node answers.
            await WriteEventAsync(context.Response, new ReplyEvent(ReplyEventKind.Error, NodeFailureDetail, ErrorCode: CompanionUnavailable), CancellationToken.None);
        }
    }

    private const string CompanionUnavailable = "companion-unavailable";

    private const string NodeFailureDetail = "The server holding your companion went away. Your message is saved if it was accepted; send it again (with the same message id) and another server will answer.";

    private static bool IsNodeFailure(Exception exception) =>
        exception is Orleans.Runtime.SiloUnavailableException or Orleans.Runtime.OrleansMessageRejectionException or TimeoutException;

    private static async Task WriteEventAsync(HttpResponse response, ReplyEvent replyEvent, CancellationToken cancellationToken)
    {
        var (name, data) = replyEvent.Kind switch
        {
            ReplyEventKind.Accepted => ("accepted", (object?)new { turnId = replyEvent.TurnId }),
            ReplyEventKind.Token => ("token", null),
            ReplyEventKind.Perceived => ("perceived", replyEvent.Emotion!),
            ReplyEventKind.Named => ("named", new { name = replyEvent.Text }),
            ReplyEventKind.Completed => ("done", new { turnId = replyEvent.TurnId, status = replyEvent.Status.ToString().ToLowerInvariant() }),
            ReplyEventKind.Error => ("error", new ProblemDetails
            {
                Type = "https://anima.dev/problems/" + replyEvent.ErrorCode,
                Title = replyEvent.ErrorCode,
                Detail = replyEvent.Text,
                Status = replyEvent.ErrorCode is ReplyErrorCodes.MindUnavailable or CompanionUnavailable ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status502BadGateway,
                Extensions =
                {
                    ["howToConnect"] = replyEvent.ErrorCode == ReplyErrorCodes.MindUnavailable ? MindStatus.HowToConnect : null,
                    ["howToConnectKo"] = replyEvent.ErrorCode == ReplyErrorCodes.MindUnavailable ? MindStatus.HowToConnectKorean : null,
                },
            }),
            _ => throw new InvalidOperationException($"Unknown reply event {replyEvent.Kind}."),
        };
        // Written as UTF-8 straight into the response: a reply is dozens of events, and each used to be three strings.
        var body = response.BodyWriter;
        body.Write("event: "u8);
        Encoding.UTF8.GetBytes(name, body);
        body.Write("\ndata: "u8);
        using (var json = new Utf8JsonWriter(body))
        {
            if (replyEvent.Kind == ReplyEventKind.Token)
            {
                json.WriteStartObject();
                json.WriteString("text", replyEvent.Text);
                json.WriteEndObject();
            }
            else
            {
                JsonSerializer.Serialize(json, data, EventJson);
            }
        }

        body.Write("\n\n"u8);
        await body.FlushAsync(cancellationToken);
    }

    private static async Task<Results<Ok<CompanionResponse>, ProblemHttpResult>> GetAsync(HttpContext context, IGrainFactory grains, MindManager mind, CancellationToken cancellationToken)
    {
        var snapshot = await Companion(context, grains).GetSnapshotAsync(cancellationToken);
        return TypedResults.Ok(new CompanionResponse(snapshot.Profile, snapshot.Settings, snapshot.TurnCount, snapshot.IsReplying, MindResponse.From(mind.Status, null)));
    }

    private static async Task<Results<Ok<ConversationPage>, ProblemHttpResult>> GetHistoryAsync(HttpContext context, IGrainFactory grains, int? limit, long? before, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > 500)
        {
            return AccountsApi.Problem(StatusCodes.Status400BadRequest, "Invalid limit", "limit must be from 1 to 500.", "invalid-limit");
        }

        return TypedResults.Ok(await Companion(context, grains).GetHistoryAsync(limit ?? 50, before, cancellationToken));
    }

    private static async Task<Results<Ok<CompanionSettings>, ProblemHttpResult>> UpdateSettingsAsync(CompanionSettings settings, HttpContext context, IGrainFactory grains, CancellationToken cancellationToken)
    {
        try
        {
            return TypedResults.Ok(await Companion(context, grains).UpdateSettingsAsync(settings, cancellationToken));
        }
        catch (CompanionException exception)
        {
            return ToProblem(exception);
        }
    }

    private static async Task<Results<Ok<IReadOnlyList<MoodPoint>>, ProblemHttpResult>> GetMoodAsync(HttpContext context, IGrainFactory grains, TimeProvider timeProvider, int? days, CancellationToken cancellationToken)
    {
        if (days is < 1 or > 3650)
        {
            return AccountsApi.Problem(StatusCodes.Status400BadRequest, "Invalid days", "days must be from 1 to 3650.", "invalid-days");
        }

        return TypedResults.Ok(await Companion(context, grains).GetMoodAsync(timeProvider.GetUtcNow().AddDays(-(days ?? 30)), cancellationToken));
    }

    private static async Task<Results<Ok<MindResponse>, ProblemHttpResult>> ChangeMindAsync(MindOptions options, HttpContext context, MindManager mind, CancellationToken cancellationToken)
    {
        if (!context.User.IsAdmin())
        {
            return AccountsApi.Problem(StatusCodes.Status403Forbidden, "Administrator only", "Only the administrator of this installation (the first account) can change the mind.", "forbidden");
        }

        try
        {
            var status = await mind.ChangeAsync(options, cancellationToken);
            return TypedResults.Ok(MindResponse.From(status, await mind.GetEffectiveOptionsAsync(cancellationToken)));
        }
        catch (ArgumentException exception)
        {
            return AccountsApi.Problem(StatusCodes.Status400BadRequest, "Invalid mind settings", exception.Message.Split(" (Parameter")[0], "invalid-mind");
        }
    }

    private static ProblemHttpResult ToProblem(CompanionException exception) =>
        AccountsApi.Problem(
            exception.Code switch
            {
                ReplyErrorCodes.Busy or "already-begun" => StatusCodes.Status409Conflict,
                ReplyErrorCodes.MessageTooLong => StatusCodes.Status413PayloadTooLarge,
                _ => StatusCodes.Status400BadRequest,
            },
            exception.Code,
            exception.Message,
            exception.Code);

    /// <param name="Text">What the user said.</param>
    /// <param name="MessageId">Optional id chosen by the client (1–100 letters, digits, '-' or '_'); a retry with the same id is never stored twice.</param>
    public sealed record MessageRequest(string? Text, string? MessageId = null);

    public sealed record BeginRequest(string? Language);

    public sealed record CompanionResponse(CompanionProfile Profile, CompanionSettings Settings, int TurnCount, bool IsReplying, MindResponse Mind);

    public sealed record MindResponse(bool Connected, string Provider, string? Model, string? Endpoint, string Detail, IReadOnlyList<string>? HowToConnect, IReadOnlyList<string>? HowToConnectKo, MindSettingsView? Settings)
    {
        public static MindResponse From(MindStatus status, MindOptions? options) =>
            new(status.IsConnected, status.Provider, status.Model, status.Endpoint, status.Detail, status.IsConnected ? null : MindStatus.HowToConnect, status.IsConnected ? null : MindStatus.HowToConnectKorean,
                options is null ? null : new MindSettingsView(options.Provider, options.Endpoint, options.Model, !string.IsNullOrEmpty(options.ApiKey)));
    }

    /// <summary>The mind settings shown back to the page; the key itself never leaves the server.</summary>
    public sealed record MindSettingsView(string Provider, string? Endpoint, string? Model, bool HasApiKey);
}
