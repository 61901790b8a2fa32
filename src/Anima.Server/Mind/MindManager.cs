using System.Net.Http.Json;
using System.Text.Json;
using Anima.Core.Accounts;
using Anima.Core.Mind;
using Anthropic;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Anima.Server.Mind;

/// <summary>
/// Finds and connects the mind: the configured provider, or in "auto" mode the first one available of a
/// configured OpenAI-compatible endpoint, OPENAI_API_KEY, ANTHROPIC_API_KEY, an Ollama server on this
/// machine, and a local GGUF model. The administrator can change it at run time from the page; the
/// choice is stored in the database and wins over configuration.
/// </summary>
public sealed partial class MindManager(
    IOptions<MindOptions> configured,
    IAccountStore settings,
    IHttpClientFactory httpClientFactory,
    IEnumerable<ILocalMindSource> localSources,
    ILoggerFactory loggerFactory,
    ILogger<MindManager> logger) : IMind
{
    internal const string SettingKey = "mind";
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);
    private volatile Connection _connection = new(null, new MindStatus(false, MindProviders.None, null, null, "Not checked yet."));

    public IChatClient? Client => _connection.Client;

    public MindStatus Status => _connection.Status;

    /// <summary>The options in force: the stored choice from the page, else configuration.</summary>
    public async Task<MindOptions> GetEffectiveOptionsAsync(CancellationToken cancellationToken = default)
    {
        var stored = await settings.GetSettingAsync(SettingKey, cancellationToken);
        return stored is null ? configured.Value : JsonSerializer.Deserialize<MindOptions>(stored) ?? configured.Value;
    }

    /// <summary>Stores a new choice (from the page) and reconnects; returns the resulting status.</summary>
    public async Task<MindStatus> ChangeAsync(MindOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!MindProviders.IsKnown(options.Provider))
        {
            throw new ArgumentException($"Unknown provider '{options.Provider}'. Use auto, openai, anthropic, ollama, local or none.", nameof(options));
        }

        if (options.Endpoint is { Length: > 0 } endpoint && !IsHttpUrl(endpoint))
        {
            throw new ArgumentException($"The endpoint '{endpoint}' is not an http(s) URL.", nameof(options));
        }

        await settings.SetSettingAsync(SettingKey, JsonSerializer.Serialize(options), cancellationToken);
        return await RefreshAsync(cancellationToken);
    }

    /// <summary>Detects and connects the mind again (at start, and after a change).</summary>
    public async Task<MindStatus> RefreshAsync(CancellationToken cancellationToken = default)
    {
        var options = await GetEffectiveOptionsAsync(cancellationToken);
        var connection = await ConnectAsync(options, cancellationToken);
        var previous = _connection;
        _connection = connection;
        if (!ReferenceEquals(previous.Client, connection.Client))
        {
            previous.Client?.Dispose();
        }

        LogMindStatus(logger, connection.Status.Provider, connection.Status.Model ?? "-", connection.Status.IsConnected, connection.Status.Detail);
        return connection.Status;
    }

    private async Task<Connection> ConnectAsync(MindOptions options, CancellationToken cancellationToken)
    {
        switch (options.Provider)
        {
            case MindProviders.None:
                return new Connection(null, new MindStatus(false, MindProviders.None, null, null, "The mind is switched off in settings."));
            case MindProviders.OpenAi:
                return ConnectOpenAi(options.Endpoint ?? "https://api.openai.com/v1", options.Model, options.ApiKey ?? Environment.GetEnvironmentVariable("OPENAI_API_KEY"), options, MindProviders.OpenAi);
            case MindProviders.Anthropic:
                return ConnectAnthropic(options.ApiKey ?? Environment.GetEnvironmentVariable("ANTHROPIC_API_KEY"), options.Model, options);
            case MindProviders.Ollama:
                return await ConnectOllamaAsync(options, required: true, cancellationToken) ?? throw new InvalidOperationException("unreachable");
            case MindProviders.Local:
                return ConnectLocal(required: true)!;
        }

        // Auto: the first mind that is there.
        if (!string.IsNullOrWhiteSpace(options.Endpoint))
        {
            return ConnectOpenAi(options.Endpoint, options.Model, options.ApiKey, options, MindProviders.OpenAi);
        }

        if (Environment.GetEnvironmentVariable("OPENAI_API_KEY") is { Length: > 0 } openAiKey)
        {
            return ConnectOpenAi("https://api.openai.com/v1", options.Model ?? "gpt-4o-mini", openAiKey, options, MindProviders.OpenAi);
        }

        if (Environment.GetEnvironmentVariable("ANTHROPIC_API_KEY") is { Length: > 0 } anthropicKey)
        {
            return ConnectAnthropic(anthropicKey, options.Model, options);
        }

        if (await ConnectOllamaAsync(options, required: false, cancellationToken) is { } ollama)
        {
            return ollama;
        }

        return ConnectLocal(required: false)
            ?? new Connection(null, new MindStatus(false, MindProviders.None, null, null, "No mind found: no endpoint is configured, neither OPENAI_API_KEY nor ANTHROPIC_API_KEY is set, no Ollama server answers on " + options.OllamaEndpoint + ", and no local model is selected."));
    }

    private Connection ConnectOpenAi(string endpoint, string? model, string? apiKey, MindOptions options, string provider)
    {
        if (!IsHttpUrl(endpoint))
        {
            return new Connection(null, new MindStatus(false, provider, model, endpoint, $"The endpoint '{endpoint}' is not an http(s) URL."));
        }

        if (string.IsNullOrWhiteSpace(model))
        {
            return new Connection(null, new MindStatus(false, provider, null, endpoint, "No model is set for the endpoint: set Anima__Mind__Model (or the model in settings)."));
        }

        // Anima's own lean client for the OpenAI-compatible protocol; it fails at once rather than retrying silently
        // while the user waits.
        var client = new OpenAiCompatibleChatClient(new Uri(endpoint), model, string.IsNullOrEmpty(apiKey) ? null : apiKey, options.RequestTimeout);
        return new Connection(Wrap(client), new MindStatus(true, provider, model, endpoint, $"Connected to {model} at {endpoint}."));
    }

    private Connection ConnectAnthropic(string? apiKey, string? model, MindOptions options)
    {
        if (string.IsNullOrWhiteSpace(apiKey))
        {
            return new Connection(null, new MindStatus(false, MindProviders.Anthropic, model, null, "Anthropic is selected but no API key is set: set ANTHROPIC_API_KEY or the key in settings."));
        }

        model ??= "claude-sonnet-4-5";
        var anthropic = new AnthropicClient { ApiKey = apiKey, Timeout = options.RequestTimeout, MaxRetries = 0 };
        var client = anthropic.AsIChatClient(model);
        return new Connection(Wrap(client), new MindStatus(true, MindProviders.Anthropic, model, "https://api.anthropic.com", $"Connected to Anthropic's {model}."));
    }

    private async Task<Connection?> ConnectOllamaAsync(MindOptions options, bool required, CancellationToken cancellationToken)
    {
        var baseUrl = options.OllamaEndpoint.TrimEnd('/');
        try
        {
            using var http = httpClientFactory.CreateClient(nameof(MindManager));
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ProbeTimeout);
            var tags = await http.GetFromJsonAsync<OllamaTags>(baseUrl + "/api/tags", timeout.Token);
            var models = tags?.Models?.Select(model => model.Name).Where(name => !string.IsNullOrEmpty(name)).ToList() ?? [];
            var model = options.Model is { Length: > 0 } wanted && models.Contains(wanted) ? wanted : models.FirstOrDefault();
            if (model is null)
            {
                return required || options.Provider == MindProviders.Ollama
                    ? new Connection(null, new MindStatus(false, MindProviders.Ollama, null, baseUrl, "Ollama answers but has no model: run `ollama pull qwen2.5:3b`, then reconnect."))
                    : null;
            }

            var connection = ConnectOpenAi(baseUrl + "/v1", model, null, options, MindProviders.Ollama);
            return connection with { Status = connection.Status with { Detail = $"Connected to Ollama's {model} at {baseUrl}." } };
        }
        catch (Exception exception) when (exception is HttpRequestException or OperationCanceledException or JsonException or NotSupportedException)
        {
            return required
                ? new Connection(null, new MindStatus(false, MindProviders.Ollama, options.Model, baseUrl, $"Ollama does not answer on {baseUrl}: start it with `ollama serve`."))
                : null;
        }
    }

    private Connection? ConnectLocal(bool required)
    {
        foreach (var source in localSources)
        {
            if (source.TryCreate(out var client, out var description) && client is not null)
            {
                return new Connection(Wrap(client), new MindStatus(true, MindProviders.Local, description, null, $"Running {description} in-process on the CPU."));
            }
        }

        return required
            ? new Connection(null, new MindStatus(false, MindProviders.Local, null, null, "No local model is selected: run `dotnet run --project src/Anima.Cli -- model pull qwen2.5-1.5b-instruct` or `model use PATH`, then reconnect."))
            : null;
    }

    private IChatClient Wrap(IChatClient client) =>
        new ChatClientBuilder(client).UseLogging(loggerFactory).Build();

    private static bool IsHttpUrl(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";

    [LoggerMessage(Level = LogLevel.Information, Message = "Mind: provider {Provider}, model {Model}, connected {Connected}. {Detail}")]
    private static partial void LogMindStatus(ILogger logger, string provider, string model, bool connected, string detail);

    private sealed record Connection(IChatClient? Client, MindStatus Status);

    private sealed record OllamaTags(List<OllamaModel>? Models);

    private sealed record OllamaModel(string Name);
}

/// <summary>A mind that runs in this process (the GGUF engine), offered when a local model is selected.</summary>
public interface ILocalMindSource
{
    bool TryCreate(out IChatClient? client, out string description);
}

/// <summary>Connects the mind when the host starts.</summary>
internal sealed class MindStartup(MindManager mind) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => mind.RefreshAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
