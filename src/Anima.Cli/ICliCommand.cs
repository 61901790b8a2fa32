namespace Anima.Cli;

/// <summary>
/// One CLI command, such as <c>train emotion</c> or <c>bench llm</c>. Commands are discovered by
/// reflection: adding a sealed class that implements this interface (with a public parameterless
/// constructor) to this project is all it takes to register one.
/// </summary>
public interface ICliCommand
{
    /// <summary>The words that select the command, e.g. <c>"train emotion"</c>.</summary>
    string Name { get; }

    /// <summary>One line for <c>anima help</c>.</summary>
    string Summary { get; }

    /// <summary>The usage text shown for <c>--help</c> or a usage error.</summary>
    string Usage { get; }

    /// <summary>Runs the command on the arguments that follow its name; returns the process exit code.</summary>
    Task<int> RunAsync(CliArguments arguments, CliContext context, CancellationToken cancellationToken = default);
}

/// <summary>Where a command writes and what it may read of its environment.</summary>
public sealed class CliContext(TextWriter output, TextWriter error, TextReader input)
{
    public TextWriter Out { get; } = output;

    public TextWriter Error { get; } = error;

    public TextReader In { get; } = input;

    /// <summary>Whether progress bars may redraw in place (a real terminal, not a redirected stream).</summary>
    public bool IsInteractive { get; init; } = !Console.IsOutputRedirected;
}

/// <summary>A usage error: the command line itself is wrong. Printed with the command's usage, exit code 2.</summary>
public sealed class CliUsageException(string message) : Exception(message);
