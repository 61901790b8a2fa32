using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Anima.Server.Tests;

public sealed class AccountsApiTests : IAsyncLifetime
{
    private readonly AnimaTestHost _host = new();

    public ValueTask InitializeAsync() => new(_host.StartAsync(TestContext.Current.CancellationToken));

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task SignUp_FirstAccount_IsAdminAndSecondIsNot()
    {
        using var first = _host.CreateClient();
        var firstSession = await (await first.PostAsJsonAsync("/api/auth/signup", new { username = "first", password = "password-one" }, TestContext.Current.CancellationToken))
            .Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        using var second = _host.CreateClient();
        var secondSession = await (await second.PostAsJsonAsync("/api/auth/signup", new { username = "second", password = "password-two" }, TestContext.Current.CancellationToken))
            .Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);

        Assert.True(firstSession.GetProperty("isAdmin").GetBoolean());
        Assert.False(secondSession.GetProperty("isAdmin").GetBoolean());
        Assert.Equal(JsonValueKind.Null, firstSession.GetProperty("token").ValueKind);
    }

    [Fact]
    public async Task SignUp_TakenUsernameAnyCase_Returns409()
    {
        await _host.SignUpAsync("Samantha");
        using var client = _host.CreateClient();
        using var response = await client.PostAsJsonAsync("/api/auth/signup", new { username = "samantha", password = "another password" }, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("https://anima.dev/problems/username-taken", (await ProblemAsync(response)).GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("x", "long enough password", "invalid-username")]
    [InlineData("has space", "long enough password", "invalid-username")]
    [InlineData("<script>", "long enough password", "invalid-username")]
    [InlineData("valid-name", "short", "weak-password")]
    public async Task SignUp_BadInput_Returns400WithReason(string username, string password, string problem)
    {
        using var client = _host.CreateClient();
        using var response = await client.PostAsJsonAsync("/api/auth/signup", new { username, password }, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("https://anima.dev/problems/" + problem, (await ProblemAsync(response)).GetProperty("type").GetString());
    }

    [Fact]
    public async Task SignUp_KoreanUsername_IsAccepted()
    {
        using var client = await _host.SignUpAsync("테오도르");
        var me = await client.GetFromJsonAsync<JsonElement>("/api/auth/me", TestContext.Current.CancellationToken);

        Assert.Equal("테오도르", me.GetProperty("username").GetString());
    }

    [Fact]
    public async Task SignIn_TokenSession_WorksAsBearerAndSignOutRevokesIt()
    {
        await _host.SignUpAsync("cli-user", "cli password 1");
        using var client = _host.CreateClient();
        var session = await (await client.PostAsJsonAsync("/api/auth/signin", new { username = "cli-user", password = "cli password 1", session = "token" }, TestContext.Current.CancellationToken))
            .Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        var token = session.GetProperty("token").GetString();
        Assert.False(string.IsNullOrEmpty(token));

        using var bearer = new HttpClient { BaseAddress = _host.BaseAddress };
        bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await bearer.GetAsync("/api/companion/history", TestContext.Current.CancellationToken)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await bearer.PostAsync("/api/auth/signout", null, TestContext.Current.CancellationToken)).StatusCode);

        using var after = await bearer.GetAsync("/api/companion/history", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Contains("unknown or has expired", (await ProblemAsync(after)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_UnknownBearerToken_Returns401ProblemDetails()
    {
        using var client = new HttpClient { BaseAddress = _host.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "not-a-real-token");
        using var response = await client.GetAsync("/api/companion/", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("https://anima.dev/problems/unauthenticated", (await ProblemAsync(response)).GetProperty("type").GetString());
    }

    [Fact]
    public async Task Request_NoSession_Returns401NotARedirect()
    {
        using var client = _host.CreateClient();
        using var response = await client.PostAsJsonAsync("/api/companion/messages", new { text = "hi" }, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task SignIn_WrongPassword_Returns401AndRepeatedFailuresAreSlowed()
    {
        await _host.SignUpAsync("target", "the real password");
        using var attacker = _host.CreateClient();
        for (var attempt = 0; attempt < 5; attempt++)
        {
            using var wrong = await attacker.PostAsJsonAsync("/api/auth/signin", new { username = "target", password = $"guess {attempt}" }, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        // After five failures even the right password must wait: guessing is slowed, not just counted.
        using var slowed = await attacker.PostAsJsonAsync("/api/auth/signin", new { username = "target", password = "the real password" }, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.TooManyRequests, slowed.StatusCode);
        Assert.True(slowed.Headers.RetryAfter?.Delta > TimeSpan.Zero);
    }

    [Fact]
    public async Task SignIn_UnknownUser_SameAnswerAsWrongPassword()
    {
        using var client = _host.CreateClient();
        using var response = await client.PostAsJsonAsync("/api/auth/signin", new { username = "nobody", password = "whatever password" }, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("https://anima.dev/problems/bad-credentials", (await ProblemAsync(response)).GetProperty("type").GetString());
    }

    [Fact]
    public async Task ChangeMind_NotAdmin_Returns403()
    {
        await _host.SignUpAsync("owner");
        using var member = await _host.SignUpAsync("member");
        using var response = await member.PutAsJsonAsync("/api/mind/", new { provider = "none" }, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task ChangeMind_BadEndpoint_Returns400()
    {
        using var owner = await _host.SignUpAsync("owner2");
        using var response = await owner.PutAsJsonAsync("/api/mind/", new { provider = "openai", endpoint = "ftp://nope" }, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("not an http(s) URL", (await ProblemAsync(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
