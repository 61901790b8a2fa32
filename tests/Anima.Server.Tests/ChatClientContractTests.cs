using Anima.Core.Mind;
using Anima.Server.Mind;
using Anima.Storage;
using Anima.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Anima.Server.Tests;

/// <summary>
/// What every mind provider must do for the companion, run against each provider as Anima wires it
/// (through <see cref="MindManager"/>): answer, stream in pieces, and stop when cancelled.
/// </summary>
public abstract class ChatClientContractTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "anima-tests", Guid.NewGuid().ToString("N"));

    protected IChatClient Client { get; private set; } = null!;

    protected MindStatus Status { get; private set; } = null!;

    /// <summary>The options that select the provider, or null to skip (no key for a live provider).</summary>
    protected abstract Task<MindOptions?> CreateOptionsAsync();

    public virtual async ValueTask InitializeAsync()
    {
        var options = await CreateOptionsAsync();
        Assert.SkipWhen(options is null, SkipReason);
        var services = new ServiceCollection().AddHttpClient().BuildServiceProvider();
        var manager = new MindManager(
            Options.Create(options!),
            new SqliteAccountStore(new SqliteDatabase(Path.Combine(_directory, "anima.db"))),
            services.GetRequiredService<IHttpClientFactory>(),
            LocalSources,
            NullLoggerFactory.Instance,
            NullLogger<MindManager>.Instance);
        Status = await manager.RefreshAsync(TestContext.Current.CancellationToken);
        Assert.True(Status.IsConnected, Status.Detail);
        Client = manager.Client!;
    }

    protected virtual string SkipReason => "The provider is not available.";

    /// <summary>In-process minds offered to the manager (the local GGUF engine).</summary>
    protected virtual IEnumerable<ILocalMindSource> LocalSources => [];

    public virtual ValueTask DisposeAsync()
    {
        Client?.Dispose();
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task GetResponse_SimplePrompt_ReturnsText()
    {
        var response = await Client.GetResponseAsync([new ChatMessage(ChatRole.User, "Say hello in one short sentence.")], new ChatOptions { MaxOutputTokens = 40 }, TestContext.Current.CancellationToken);

        Assert.False(string.IsNullOrWhiteSpace(response.Text));
    }

    [Fact]
    public async Task GetStreamingResponse_SimplePrompt_StreamsSeveralPieces()
    {
        var pieces = new List<string>();
        await foreach (var update in Client.GetStreamingResponseAsync(
            [new ChatMessage(ChatRole.System, "You are terse."), new ChatMessage(ChatRole.User, "Count from one to ten in words.")],
            new ChatOptions { MaxOutputTokens = 60 },
            TestContext.Current.CancellationToken))
        {
            if (!string.IsNullOrEmpty(update.Text))
            {
                pieces.Add(update.Text);
            }
        }

        Assert.True(pieces.Count > 1, $"expected a stream of pieces, got {pieces.Count}");
    }

    [Fact]
    public async Task GetStreamingResponse_Cancelled_Stops()
    {
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var received = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in Client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Write a long story about the sea.")], new ChatOptions { MaxOutputTokens = 400 }, cancellation.Token))
            {
                if (++received == 2)
                {
                    await cancellation.CancelAsync();
                }
            }
        });
        Assert.Equal(2, received);
    }
}

/// <summary>The OpenAI-compatible provider against a real HTTP server on loopback, including its failure modes.</summary>
public sealed class OpenAiCompatibleContractTests : ChatClientContractTests
{
    private ScriptedMindServer _mind = null!;

    protected override async Task<MindOptions?> CreateOptionsAsync()
    {
        _mind = await ScriptedMindServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        _mind.TokensPerSecond = 200;
        return new MindOptions { Provider = MindProviders.OpenAi, Endpoint = _mind.Endpoint, Model = "scripted", RequestTimeout = TimeSpan.FromSeconds(2) };
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await _mind.DisposeAsync();
    }

    [Fact]
    public async Task GetStreamingResponse_CancelledWithChunksAlreadyBuffered_YieldsNoMore()
    {
        // No pacing: the chunks arrive together, so most are in the client's buffer when it is cancelled.
        _mind.TokensPerSecond = 0;
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var received = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in Client.GetStreamingResponseAsync("Write a long story about the sea.", new ChatOptions { MaxOutputTokens = 400 }, cancellation.Token))
            {
                if (++received == 2)
                {
                    await cancellation.CancelAsync();
                }
            }
        });

        Assert.Equal(2, received);
    }

    [Fact]
    public async Task GetStreamingResponse_ServerError_Throws()
    {
        _mind.Fault = MindFault.ServerError;

        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var update in Client.GetStreamingResponseAsync("hello", cancellationToken: TestContext.Current.CancellationToken))
            {
                Assert.Fail("no update expected from a failing server: " + update.Text);
            }
        });
    }

    [Fact]
    public async Task GetStreamingResponse_BreaksMidway_YieldsThePartThenThrows()
    {
        _mind.Fault = MindFault.BreakMidway;
        var received = new List<string>();

        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var update in Client.GetStreamingResponseAsync("hello", cancellationToken: TestContext.Current.CancellationToken))
            {
                received.Add(update.Text);
            }
        });
        Assert.NotEmpty(received);
    }

    [Fact]
    public async Task GetResponse_ServerHangs_TimesOut()
    {
        _mind.Fault = MindFault.Hang;
        var started = DateTime.UtcNow;

        await Assert.ThrowsAnyAsync<Exception>(() => Client.GetResponseAsync("hello", cancellationToken: TestContext.Current.CancellationToken));
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Connect_UnreachableEndpoint_FailsTheRequestNotTheProcess()
    {
        using var unreachable = new ScriptedEndpointClient("http://127.0.0.1:9/v1");
        var client = await unreachable.ConnectAsync();

        await Assert.ThrowsAnyAsync<Exception>(() => client.GetResponseAsync("hello", cancellationToken: TestContext.Current.CancellationToken));
    }

    private sealed class ScriptedEndpointClient(string endpoint) : IDisposable
    {
        private readonly string _directory = Path.Combine(Path.GetTempPath(), "anima-tests", Guid.NewGuid().ToString("N"));
        private IChatClient? _client;

        public async Task<IChatClient> ConnectAsync()
        {
            var services = new ServiceCollection().AddHttpClient().BuildServiceProvider();
            var manager = new MindManager(
                Options.Create(new MindOptions { Provider = MindProviders.OpenAi, Endpoint = endpoint, Model = "m", RequestTimeout = TimeSpan.FromSeconds(5) }),
                new SqliteAccountStore(new SqliteDatabase(Path.Combine(_directory, "anima.db"))),
                services.GetRequiredService<IHttpClientFactory>(), [], NullLoggerFactory.Instance, NullLogger<MindManager>.Instance);
            await manager.RefreshAsync(TestContext.Current.CancellationToken);
            _client = manager.Client!;
            return _client;
        }

        public void Dispose() => _client?.Dispose();
    }
}

/// <summary>Live OpenAI, only when OPENAI_API_KEY is set.</summary>
public sealed class OpenAiLiveContractTests : ChatClientContractTests
{
    protected override string SkipReason => "OPENAI_API_KEY is not set; the live OpenAI contract is skipped.";

    protected override Task<MindOptions?> CreateOptionsAsync() =>
        Task.FromResult(Environment.GetEnvironmentVariable("OPENAI_API_KEY") is { Length: > 0 }
            ? new MindOptions { Provider = MindProviders.OpenAi, Model = Environment.GetEnvironmentVariable("ANIMA_TEST_OPENAI_MODEL") ?? "gpt-4o-mini" }
            : null);
}

/// <summary>Live Anthropic, only when ANTHROPIC_API_KEY is set.</summary>
public sealed class AnthropicLiveContractTests : ChatClientContractTests
{
    protected override string SkipReason => "ANTHROPIC_API_KEY is not set; the live Anthropic contract is skipped.";

    protected override Task<MindOptions?> CreateOptionsAsync() =>
        Task.FromResult(Environment.GetEnvironmentVariable("ANTHROPIC_API_KEY") is { Length: > 0 }
            ? new MindOptions { Provider = MindProviders.Anthropic, Model = Environment.GetEnvironmentVariable("ANIMA_TEST_ANTHROPIC_MODEL") }
            : null);
}

/// <summary>The in-process GGUF engine, on the real stories260K model converted from llama2.c's format.</summary>
public sealed class LocalGgufContractTests : ChatClientContractTests
{
    private string? _model;

    protected override string SkipReason => "../shared/data/llama2c-stories260K is not present.";

    protected override IEnumerable<ILocalMindSource> LocalSources =>
        _model is null ? [] : [new LocalGgufMindSource(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Anima:Mind:LocalModelPath"] = _model }).Build())];

    protected override Task<MindOptions?> CreateOptionsAsync()
    {
        var directory = SharedData.Root is null ? null : Path.Combine(SharedData.Root, "llama2c-stories260K");
        if (directory is null || !System.IO.Directory.Exists(directory))
        {
            return Task.FromResult<MindOptions?>(null);
        }

        _model = Path.Combine(Path.GetTempPath(), $"anima-stories-{Guid.NewGuid():N}.gguf");
        Anima.Llm.Conversion.Llama2cConverter.Convert(Path.Combine(directory, "stories260K.bin"), Path.Combine(directory, "tok512.bin"), _model);
        return Task.FromResult<MindOptions?>(new MindOptions { Provider = MindProviders.Local });
    }
}
