using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Anima.Cli.Commands;

/// <summary>
/// Talk with your companion in the terminal: signs in to a running Anima server (a bearer token is kept
/// in the data directory so the next chat does not ask again) and streams each reply as it is written.
/// </summary>
public sealed class ChatCommand : ICliCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Name => "chat";

    public string Summary => "Talk with your companion in the terminal (streaming).";

    public string Usage => """
        Usage: anima chat [--server URL] [--username NAME] [--password PASSWORD] [--signup] [--message TEXT]
          --server     the Anima server (default http://127.0.0.1:5000, or ANIMA_SERVER)
          --username   sign in as NAME (asked when missing and no saved session exists)
          --password   the password (or ANIMA_PASSWORD; asked without echo when missing)
          --signup     create the account first
          --message    send one message, print the reply, and exit
        Type a message and press Enter. /quit ends the chat; /history shows recent messages.
        """;

    public async Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(context);
        var server = (arguments.Get("--server") ?? Environment.GetEnvironmentVariable("ANIMA_SERVER") ?? "http://127.0.0.1:5000").TrimEnd('/');
        var username = arguments.Get("--username");
        var password = arguments.Get("--password") ?? Environment.GetEnvironmentVariable("ANIMA_PASSWORD");
        var signUp = arguments.Has("--signup");
        var oneMessage = arguments.Get("--message");
        arguments.ThrowIfUnused();
        if (!Uri.TryCreate(server, UriKind.Absolute, out var serverUri) || serverUri.Scheme is not ("http" or "https"))
        {
            throw new CliUsageException($"--server must be an http(s) URL; got '{server}'.");
        }

        using var http = new HttpClient { BaseAddress = serverUri, Timeout = Timeout.InfiniteTimeSpan };
        var sessions = new CliSessionStore();
        var token = username is null && !signUp ? sessions.Load(server) : null;
        try
        {
            if (token is null || !await IsValidAsync(http, token, cancellationToken))
            {
                username ??= await PromptAsync(context, "Username: ", cancellationToken);
                password ??= await PromptAsync(context, "Password: ", cancellationToken, secret: true);
                token = await SignInAsync(http, username, password, signUp, context, cancellationToken);
                if (token is null)
                {
                    return 1;
                }

                sessions.Save(server, token);
            }

            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            var companion = await http.GetFromJsonAsync<JsonElement>("/api/companion/", Json, cancellationToken);
            var name = companion.GetProperty("profile").GetProperty("name").GetString() ?? "Anima";
            var mind = companion.GetProperty("mind");
            if (!mind.GetProperty("connected").GetBoolean())
            {
                await context.Error.WriteLineAsync("No mind is connected: " + mind.GetProperty("detail").GetString());
                foreach (var step in mind.GetProperty("howToConnect").EnumerateArray())
                {
                    await context.Error.WriteLineAsync("  - " + step.GetString());
                }

                await context.Error.WriteLineAsync("Your messages are still saved.");
            }

            if (oneMessage is not null)
            {
                return await SendAsync(http, oneMessage, name, context, cancellationToken) ? 0 : 1;
            }

            await context.Out.WriteLineAsync($"Talking with {name}. /quit to leave.");
            while (!cancellationToken.IsCancellationRequested)
            {
                await context.Out.WriteAsync("> ");
                var line = await context.In.ReadLineAsync(cancellationToken);
                if (line is null || line.Trim() == "/quit")
                {
                    break;
                }

                if (line.Trim() == "/history")
                {
                    await PrintHistoryAsync(http, name, context, cancellationToken);
                    continue;
                }

                if (line.Trim().Length > 0)
                {
                    await SendAsync(http, line, name, context, cancellationToken);
                }
            }

            return 0;
        }
        catch (HttpRequestException exception)
        {
            await context.Error.WriteLineAsync($"Cannot reach Anima at {server}: {exception.Message}. Start it with `dotnet run --project src/Anima.Server`.");
            return 1;
        }
    }

    private static async Task<bool> IsValidAsync(HttpClient http, string token, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/auth/me");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request, cancellationToken);
        return response.IsSuccessStatusCode;
    }

    private static async Task<string?> SignInAsync(HttpClient http, string username, string password, bool signUp, CliContext context, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync(signUp ? "/api/auth/signup" : "/api/auth/signin", new { username, password, session = "token" }, Json, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            await context.Error.WriteLineAsync((signUp ? "Sign-up failed: " : "Sign-in failed: ") + await ProblemAsync(response, cancellationToken));
            return null;
        }

        var session = await response.Content.ReadFromJsonAsync<JsonElement>(Json, cancellationToken);
        return session.GetProperty("token").GetString();
    }

    /// <summary>Sends one message and prints the reply as it streams; false when the companion could not answer.</summary>
    internal static async Task<bool> SendAsync(HttpClient http, string text, string name, CliContext context, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/companion/messages") { Content = JsonContent.Create(new { text, messageId = Guid.NewGuid().ToString("N") }, options: Json) };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.Content.Headers.ContentType?.MediaType != "text/event-stream")
        {
            await context.Error.WriteLineAsync("Not sent: " + await ProblemAsync(response, cancellationToken));
            return false;
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var eventName = "message";
        var ok = true;
        var started = false;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                eventName = line[7..];
                continue;
            }

            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }

            using var data = JsonDocument.Parse(line[6..]);
            switch (eventName)
            {
                case "named":
                    await context.Out.WriteLineAsync($"({name} has chosen a name: {data.RootElement.GetProperty("name").GetString()})");
                    name = data.RootElement.GetProperty("name").GetString() ?? name;
                    break;
                case "token":
                    if (!started)
                    {
                        await context.Out.WriteAsync(name + ": ");
                        started = true;
                    }

                    await context.Out.WriteAsync(data.RootElement.GetProperty("text").GetString());
                    await context.Out.FlushAsync(cancellationToken);
                    break;
                case "error":
                    ok = false;
                    if (started)
                    {
                        await context.Out.WriteLineAsync();
                    }

                    await context.Error.WriteLineAsync("(" + data.RootElement.GetProperty("detail").GetString() + ")");
                    break;
                case "done":
                    var status = data.RootElement.GetProperty("status").GetString();
                    await context.Out.WriteLineAsync(status == "complete" ? string.Empty : $" [{status}]");
                    break;
            }
        }

        return ok;
    }

    private static async Task PrintHistoryAsync(HttpClient http, string name, CliContext context, CancellationToken cancellationToken)
    {
        var page = await http.GetFromJsonAsync<JsonElement>("/api/companion/history?limit=20", Json, cancellationToken);
        foreach (var turn in page.GetProperty("turns").EnumerateArray())
        {
            var who = turn.GetProperty("role").GetString() == "user" ? "you" : name;
            await context.Out.WriteLineAsync($"{who}: {turn.GetProperty("text").GetString()}");
        }
    }

    private static async Task<string> ProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Json, cancellationToken);
            return problem.TryGetProperty("detail", out var detail) ? detail.GetString() ?? response.ReasonPhrase ?? string.Empty : response.ReasonPhrase ?? string.Empty;
        }
        catch (JsonException)
        {
            return $"{(int)response.StatusCode} {response.ReasonPhrase}";
        }
    }

    private static async Task<string> PromptAsync(CliContext context, string prompt, CancellationToken cancellationToken, bool secret = false)
    {
        await context.Error.WriteAsync(prompt);
        if (secret && context.IsInteractive && !Console.IsInputRedirected)
        {
            var builder = new StringBuilder();
            while (true)
            {
                var key = Console.ReadKey(intercept: true);
                if (key.Key == ConsoleKey.Enter)
                {
                    break;
                }

                if (key.Key == ConsoleKey.Backspace && builder.Length > 0)
                {
                    builder.Length--;
                }
                else if (!char.IsControl(key.KeyChar))
                {
                    builder.Append(key.KeyChar);
                }
            }

            await context.Error.WriteLineAsync();
            return builder.ToString();
        }

        return await context.In.ReadLineAsync(cancellationToken) ?? throw new CliUsageException("No input: give --username and --password (or ANIMA_PASSWORD).");
    }
}

/// <summary>Keeps the CLI's bearer token per server in the data directory, readable only by the user.</summary>
internal sealed class CliSessionStore
{
    private readonly string _path = Path.Combine(
        Environment.GetEnvironmentVariable("ANIMA_CLI_HOME") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "Anima"),
        "cli-sessions.json");

    public string? Load(string server)
    {
        try
        {
            var sessions = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(_path));
            return sessions is not null && sessions.TryGetValue(server, out var token) ? token : null;
        }
        catch (Exception exception) when (exception is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Save(string server, string token)
    {
        Dictionary<string, string> sessions;
        try
        {
            sessions = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(_path)) ?? [];
        }
        catch (Exception exception) when (exception is IOException or JsonException or UnauthorizedAccessException)
        {
            sessions = [];
        }

        sessions[server] = token;
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        File.WriteAllText(_path, JsonSerializer.Serialize(sessions));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(_path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
