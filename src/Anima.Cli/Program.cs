using Anima.Cli;

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl+C cancels the running command gracefully (a chat stops generating, a download
    // keeps its partial file for resume); a second one ends the process.
    if (!cancellation.IsCancellationRequested)
    {
        e.Cancel = true;
        cancellation.Cancel();
    }
};
Console.OutputEncoding = System.Text.Encoding.UTF8;
var context = new CliContext(Console.Out, Console.Error, Console.In);
return await CommandDispatcher.RunAsync(args, context, cancellation.Token);
