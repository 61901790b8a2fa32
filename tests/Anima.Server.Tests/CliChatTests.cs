using Anima.Cli;
using Anima.Testing;

namespace Anima.Server.Tests;

/// <summary>The CLI's chat command against the real server: sign up, stream replies, keep the session, report errors.</summary>
public sealed class CliChatTests : IAsyncLifetime
{
    private readonly string _cliHome = Path.Combine(Path.GetTempPath(), "anima-tests", "cli-" + Guid.NewGuid().ToString("N"));
    private ScriptedMindServer _mind = null!;
    private AnimaTestHost _host = null!;

    public async ValueTask InitializeAsync()
    {
        Environment.SetEnvironmentVariable("ANIMA_CLI_HOME", _cliHome);
        _mind = await ScriptedMindServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        _host = new AnimaTestHost(settings: AnimaTestHost.MindSettings(_mind, "m"));
        await _host.StartAsync(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _mind.DisposeAsync();
    }

    private async Task<(int Code, string Out, string Error)> RunAsync(string input, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var context = new CliContext(output, error, new StringReader(input)) { IsInteractive = false };
        var code = await CommandDispatcher.RunAsync(args, context, TestContext.Current.CancellationToken);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Chat_SignUpAndTalk_StreamsRepliesAndKeepsTheSession()
    {
        var server = _host.BaseAddress.ToString();
        var (code, output, error) = await RunAsync("Hello from the terminal\n/history\n/quit\n", "chat", "--server", server, "--signup", "--username", "terminal-user", "--password", "terminal password");

        Assert.True(code == 0, error);
        Assert.Contains("Anima: " + ScriptedMindServer.DefaultScript([("user", "Hello from the terminal")]), output, StringComparison.Ordinal);
        Assert.Contains("you: Hello from the terminal", output, StringComparison.Ordinal);

        // The saved token is used next time: no credentials needed.
        var (again, secondOutput, secondError) = await RunAsync(string.Empty, "chat", "--server", server, "--message", "Second message");
        Assert.True(again == 0, secondError);
        Assert.Contains("I hear you", secondOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_WrongPassword_ExitsWithMessage()
    {
        await _host.SignUpAsync("cli-target", "the right password");
        var (code, _, error) = await RunAsync(string.Empty, "chat", "--server", _host.BaseAddress.ToString(), "--username", "cli-target", "--password", "the wrong password", "--message", "hi");

        Assert.Equal(1, code);
        Assert.Contains("Sign-in failed: The username or password is not right.", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_ServerDown_SaysHowToStartIt()
    {
        var (code, _, error) = await RunAsync(string.Empty, "chat", "--server", "http://127.0.0.1:9", "--username", "x", "--password", "y", "--message", "hi");

        Assert.Equal(1, code);
        Assert.Contains("dotnet run --project src/Anima.Server", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_UnknownOption_IsAUsageError()
    {
        var (code, _, error) = await RunAsync(string.Empty, "chat", "--sever", "typo");

        Assert.Equal(2, code);
        Assert.Contains("Unknown option --sever", error, StringComparison.Ordinal);
    }
}
