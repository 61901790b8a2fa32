using System.Net.Http.Json;
using System.Text.Json;

namespace Anima.Cli.Commands;

/// <summary>Accounts for the benchmarks that drive a running server: sign up, or sign in when the name exists.</summary>
internal static class BenchAccounts
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>A bearer token for <paramref name="username"/>, or null when neither sign-up nor sign-in works.</summary>
    public static async Task<string?> SignInOrUpAsync(HttpClient http, string username, string password, CancellationToken cancellationToken)
    {
        foreach (var path in (string[])["api/auth/signup", "api/auth/signin"])
        {
            using var response = await http.PostAsJsonAsync(path, new { username, password, session = "token" }, Json, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return (await response.Content.ReadFromJsonAsync<JsonElement>(Json, cancellationToken)).GetProperty("token").GetString();
            }
        }

        return null;
    }
}
