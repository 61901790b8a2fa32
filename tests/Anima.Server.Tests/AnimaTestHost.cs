using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Anima.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Anima.Server.Tests;

/// <summary>
/// The real server (the same AddAnima/MapAnima wiring as Program.cs) on real Kestrel on 127.0.0.1,
/// with its own data directory and silo ports, so tests can start, stop and restart it.
/// </summary>
public sealed class AnimaTestHost : IAsyncDisposable
{
    private WebApplication? _app;

    public AnimaTestHost(string? dataDirectory = null, IDictionary<string, string?>? settings = null)
    {
        DataDirectory = dataDirectory ?? Path.Combine(Path.GetTempPath(), "anima-tests", Guid.NewGuid().ToString("N"));
        Settings = settings ?? new Dictionary<string, string?>();
    }

    public string DataDirectory { get; }

    public IDictionary<string, string?> Settings { get; }

    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("Not started.");

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web);

    /// <summary>Settings that connect the server to a scripted mind, plus any extra settings.</summary>
    public static Dictionary<string, string?> MindSettings(Anima.Testing.ScriptedMindServer mind, string model = "scripted", params (string Key, string Value)[] extra)
    {
        ArgumentNullException.ThrowIfNull(mind);
        var settings = new Dictionary<string, string?>
        {
            ["Anima:Mind:Provider"] = "openai",
            ["Anima:Mind:Endpoint"] = mind.Endpoint,
            ["Anima:Mind:Model"] = model,
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing", ContentRootPath = AppContext.BaseDirectory, WebRootPath = Path.Combine(Anima.Testing.SharedData.RepositoryRoot, "src", "Anima.Server", "wwwroot") });
        var configuration = new Dictionary<string, string?>
        {
            ["Anima:DataDirectory"] = DataDirectory,
            ["Anima:SiloPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Anima:GatewayPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Anima:Mind:Provider"] = "none",
            // Dozens of hosts start in the suite; the memory JIT warm-up would only cost each of them CPU.
            ["Anima:Memory:WarmUpQueries"] = "0",
        };
        foreach (var (key, value) in Settings)
        {
            configuration[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Logging.ClearProviders();
        if (Environment.GetEnvironmentVariable("ANIMA_TEST_LOGS") == "1")
        {
            builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Debug);
        }

        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.AddAnima();
        _app = builder.Build();
        _app.MapAnima();
        try
        {
            await _app.StartAsync(cancellationToken);
        }
        catch
        {
            await _app.DisposeAsync();
            _app = null;
            throw;
        }

        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
    }

    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    /// <summary>
    /// A client with its own cookie jar, like one browser. Like a browser, it closes the connection
    /// when a response is abandoned (no draining of the rest), so "the user left" is observable.
    /// </summary>
    public HttpClient CreateClient() =>
        new(new SocketsHttpHandler { CookieContainer = new CookieContainer(), UseCookies = true, MaxResponseDrainSize = 0 }) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>Signs up a new user in a fresh client (cookie session) and returns the client.</summary>
    public async Task<HttpClient> SignUpAsync(string username, string password = "correct horse battery")
    {
        var client = CreateClient();
        using var response = await client.PostAsJsonAsync("/api/auth/signup", new { username, password });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return client;
    }

    /// <summary>Signs in again as a client that cannot hold cookies would (the CLI, a WebSocket): a bearer token.</summary>
    public async Task<string> SignInForTokenAsync(HttpClient client, string username, string password, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        using var response = await client.PostAsJsonAsync("/api/auth/signin", new { username, password, session = "token" }, cancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(cancellationToken)).GetProperty("token").GetString()!;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a closing connection; the temp folder is cleaned by the OS.
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Reads a server-sent event stream into (event, data) pairs.</summary>
public static class ServerSentEvents
{
    public static async Task<List<(string Event, JsonElement Data)>> ReadAllAsync(HttpResponseMessage response, CancellationToken cancellationToken = default)
    {
        var events = new List<(string, JsonElement)>();
        await foreach (var item in ReadAsync(response, cancellationToken))
        {
            events.Add(item);
        }

        return events;
    }

    public static async IAsyncEnumerable<(string Event, JsonElement Data)> ReadAsync(HttpResponseMessage response, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        var name = "message";
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                yield return (name, JsonDocument.Parse(line[6..]).RootElement.Clone());
            }
        }
    }
}
