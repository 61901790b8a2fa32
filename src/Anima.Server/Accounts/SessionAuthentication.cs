using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Anima.Core.Accounts;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Anima.Server.Accounts;

/// <summary>
/// One authentication scheme for the page and the API: a random session token, carried either in the
/// HttpOnly <c>anima_session</c> cookie (the page) or as <c>Authorization: Bearer</c> (the CLI and API
/// clients). Only the token's SHA-256 is stored, so a stolen database does not hand out sessions, and
/// signing out deletes the session for real.
/// </summary>
public sealed class SessionAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IAccountStore accounts,
    IMemoryCache cache,
    TimeProvider timeProvider) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "AnimaSession";
    public const string CookieName = "anima_session";
    public const string SessionClaim = "anima:session";
    public const string AdminClaim = "anima:admin";
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(30);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = ReadToken(Request);
        if (token is null)
        {
            return AuthenticateResult.NoResult();
        }

        var hash = SessionTokens.Hash(token);
        if (!cache.TryGetValue(CacheKey(hash), out UserAccount? account))
        {
            account = await accounts.FindSessionAsync(hash, timeProvider.GetUtcNow(), Context.RequestAborted);
            if (account is not null)
            {
                cache.Set(CacheKey(hash), account, CacheFor);
            }
        }

        if (account is null)
        {
            return AuthenticateResult.Fail("The session is unknown or has expired; sign in again.");
        }

        Claim[] claims =
        [
            new(ClaimTypes.NameIdentifier, account.Id),
            new(ClaimTypes.Name, account.Username),
            new(SessionClaim, hash),
            new(AdminClaim, account.IsAdmin ? "true" : "false"),
        ];
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var failure = (await HandleAuthenticateOnceSafeAsync()).Failure;
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        await Results.Problem(
            title: "Sign in required",
            detail: failure?.Message ?? "Sign in to talk with your companion.",
            statusCode: StatusCodes.Status401Unauthorized,
            type: "https://anima.dev/problems/unauthenticated").ExecuteAsync(Context);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        Results.Problem(title: "Not allowed", detail: "Only the administrator of this installation can do that.", statusCode: StatusCodes.Status403Forbidden).ExecuteAsync(Context);

    internal static string CacheKey(string hash) => "session:" + hash;

    private static string? ReadToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var value = header["Bearer ".Length..].Trim();
            return value.Length > 0 ? value : null;
        }

        return request.Cookies.TryGetValue(CookieName, out var cookie) && cookie.Length > 0 ? cookie : null;
    }
}

/// <summary>Making and hashing session tokens.</summary>
public static class SessionTokens
{
    public static string Create() => Base64UrlEncode(RandomNumberGenerator.GetBytes(32));

    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static string Base64UrlEncode(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>The authenticated user of a request.</summary>
public static class ClaimsPrincipalExtensions
{
    public static string UserId(this ClaimsPrincipal user) =>
        user.FindFirstValue(ClaimTypes.NameIdentifier) ?? throw new InvalidOperationException("The request is not authenticated.");

    public static bool IsAdmin(this ClaimsPrincipal user) => user.FindFirstValue(SessionAuthenticationHandler.AdminClaim) == "true";
}
