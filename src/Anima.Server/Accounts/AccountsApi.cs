using Anima.Core.Accounts;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Caching.Memory;

namespace Anima.Server.Accounts;

/// <summary>Sign up, sign in, sign out. The page gets an HttpOnly cookie; the CLI asks for a bearer token.</summary>
public static class AccountsApi
{
    public const int MinimumPasswordLength = 8;
    public const int MaximumPasswordLength = 1024;
    private static readonly TimeSpan CookieSessionLifetime = TimeSpan.FromDays(30);
    private static readonly TimeSpan TokenSessionLifetime = TimeSpan.FromDays(90);

    // Verifying against this when the username is unknown keeps the response time the same, so
    // timing does not reveal which usernames exist.
    private static readonly Lazy<string> DummyHash = new(() => new PasswordHasher().Hash("not a real password"));

    public static RouteGroupBuilder MapAccountsApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/auth").WithTags("Accounts");
        group.MapPost("/signup", SignUpAsync).AllowAnonymous();
        group.MapPost("/signin", SignInAsync).AllowAnonymous();
        group.MapPost("/signout", SignOutAsync).RequireAuthorization();
        group.MapGet("/me", (HttpContext context) => TypedResults.Ok(new MeResponse(context.User.Identity!.Name!, context.User.IsAdmin()))).RequireAuthorization();
        return group;
    }

    private static async Task<Results<Ok<SessionResponse>, ProblemHttpResult>> SignUpAsync(
        CredentialsRequest request, HttpContext context, IAccountStore accounts, PasswordHasher hasher, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var username = request.Username?.Trim() ?? string.Empty;
        if (ValidateUsername(username) is { } usernameProblem)
        {
            return usernameProblem;
        }

        if (request.Password is null || request.Password.Length < MinimumPasswordLength || request.Password.Length > MaximumPasswordLength)
        {
            return Problem(StatusCodes.Status400BadRequest, "Password too short", $"Choose a password of at least {MinimumPasswordLength} characters.", "weak-password");
        }

        var account = await accounts.CreateUserAsync(username, hasher.Hash(request.Password), timeProvider.GetUtcNow(), cancellationToken);
        if (account is null)
        {
            return Problem(StatusCodes.Status409Conflict, "Username taken", $"The username '{username}' is already taken; choose another or sign in.", "username-taken");
        }

        return TypedResults.Ok(await StartSessionAsync(context, account, request.Session, accounts, timeProvider, cancellationToken));
    }

    private static async Task<Results<Ok<SessionResponse>, ProblemHttpResult>> SignInAsync(
        CredentialsRequest request, HttpContext context, IAccountStore accounts, PasswordHasher hasher, SignInThrottle throttle, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var username = request.Username?.Trim() ?? string.Empty;
        var address = context.Connection.RemoteIpAddress?.ToString();
        var wait = throttle.RetryAfter(username, address);
        if (wait > TimeSpan.Zero)
        {
            context.Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Problem(StatusCodes.Status429TooManyRequests, "Too many attempts", $"Too many failed sign-ins. Try again in {Math.Ceiling(wait.TotalSeconds)} seconds.", "too-many-attempts");
        }

        var found = username.Length == 0 ? null : await accounts.FindByUsernameAsync(username, cancellationToken);
        var password = request.Password ?? string.Empty;
        var valid = hasher.Verify(password, found?.PasswordHash ?? DummyHash.Value) && found is not null;
        if (!valid)
        {
            throttle.RecordFailure(username, address);
            return Problem(StatusCodes.Status401Unauthorized, "Wrong username or password", "The username or password is not right.", "bad-credentials");
        }

        throttle.RecordSuccess(username);
        return TypedResults.Ok(await StartSessionAsync(context, found!.Value.Account, request.Session, accounts, timeProvider, cancellationToken));
    }

    private static async Task<NoContent> SignOutAsync(HttpContext context, IAccountStore accounts, IMemoryCache cache, CancellationToken cancellationToken)
    {
        var hash = context.User.FindFirst(SessionAuthenticationHandler.SessionClaim)!.Value;
        await accounts.DeleteSessionAsync(hash, cancellationToken);
        cache.Remove(SessionAuthenticationHandler.CacheKey(hash));
        context.Response.Cookies.Delete(SessionAuthenticationHandler.CookieName);
        return TypedResults.NoContent();
    }

    private static async Task<SessionResponse> StartSessionAsync(HttpContext context, UserAccount account, string? kind, IAccountStore accounts, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var token = SessionTokens.Create();
        var now = timeProvider.GetUtcNow();
        var wantsToken = string.Equals(kind, "token", StringComparison.OrdinalIgnoreCase);
        var expires = now + (wantsToken ? TokenSessionLifetime : CookieSessionLifetime);
        await accounts.CreateSessionAsync(SessionTokens.Hash(token), account.Id, wantsToken ? "token" : "cookie", now, expires, cancellationToken);
        if (wantsToken)
        {
            return new SessionResponse(account.Username, account.IsAdmin, token, expires);
        }

        context.Response.Cookies.Append(SessionAuthenticationHandler.CookieName, token, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = context.Request.IsHttps,
            Expires = expires,
            Path = "/",
        });
        return new SessionResponse(account.Username, account.IsAdmin, null, expires);
    }

    private static ProblemHttpResult? ValidateUsername(string username)
    {
        if (username.Length is < 2 or > 64 || !username.All(character => char.IsLetterOrDigit(character) || character is '.' or '_' or '-' or '@'))
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid username", "A username has 2 to 64 letters, digits, or . _ - @ (Korean letters are fine).", "invalid-username");
        }

        return null;
    }

    internal static ProblemHttpResult Problem(int status, string title, string detail, string type) =>
        TypedResults.Problem(title: title, detail: detail, statusCode: status, type: "https://anima.dev/problems/" + type);

    public sealed record CredentialsRequest(string? Username, string? Password, string? Session);

    public sealed record SessionResponse(string Username, bool IsAdmin, string? Token, DateTimeOffset ExpiresAt);

    public sealed record MeResponse(string Username, bool IsAdmin);
}
