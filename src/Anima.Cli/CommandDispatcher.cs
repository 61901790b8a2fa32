using System.Reflection;

namespace Anima.Cli;

/// <summary>Finds the command whose name matches the most leading words of the command line and runs it.</summary>
public static class CommandDispatcher
{
    private static readonly Lazy<IReadOnlyList<ICliCommand>> AllCommands = new(Discover);

    public static IReadOnlyList<ICliCommand> Commands => AllCommands.Value;

    public static async Task<int> RunAsync(IReadOnlyList<string> args, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        if (args.Count == 0 || args[0] is "help" or "--help" or "-h")
        {
            PrintHelp(context.Out);
            return args.Count == 0 ? 2 : 0;
        }

        var (command, consumed) = Match(args);
        if (command is null)
        {
            await context.Error.WriteLineAsync($"anima: unknown command '{string.Join(' ', args.Take(2))}'. Run 'anima help' to list the commands.");
            return 2;
        }

        var arguments = new CliArguments(args.Skip(consumed).ToArray());
        if (arguments.HelpRequested)
        {
            await context.Out.WriteLineAsync(command.Usage);
            return 0;
        }

        try
        {
            return await command.RunAsync(arguments, context, cancellationToken);
        }
        catch (CliUsageException exception)
        {
            await context.Error.WriteLineAsync($"anima {command.Name}: {exception.Message}");
            await context.Error.WriteLineAsync(command.Usage);
            return 2;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await context.Error.WriteLineAsync($"anima {command.Name}: cancelled.");
            return 130;
        }
    }

    private static (ICliCommand? Command, int Consumed) Match(IReadOnlyList<string> args)
    {
        ICliCommand? best = null;
        var bestWords = 0;
        foreach (var command in Commands)
        {
            var words = command.Name.Split(' ');
            if (words.Length > bestWords && words.Length <= args.Count
                && words.Select((word, index) => string.Equals(word, args[index], StringComparison.Ordinal)).All(match => match))
            {
                best = command;
                bestWords = words.Length;
            }
        }

        return (best, bestWords);
    }

    private static void PrintHelp(TextWriter output)
    {
        output.WriteLine("Anima — a self-hosted, emotionally intelligent companion.");
        output.WriteLine();
        output.WriteLine("Usage: dotnet run --project src/Anima.Cli -- <command> [options]   (add --help to any command)");
        output.WriteLine();
        var width = Commands.Count == 0 ? 10 : Commands.Max(command => command.Name.Length) + 2;
        foreach (var command in Commands.OrderBy(command => command.Name, StringComparer.Ordinal))
        {
            output.WriteLine($"  {command.Name.PadRight(width)}{command.Summary}");
        }
    }

    private static IReadOnlyList<ICliCommand> Discover() =>
        typeof(CommandDispatcher).Assembly.GetTypes()
            .Where(type => type is { IsClass: true, IsAbstract: false } && typeof(ICliCommand).IsAssignableFrom(type)
                && type.GetConstructor(BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes) is not null)
            .Select(type => (ICliCommand)Activator.CreateInstance(type)!)
            .ToArray();
}
