using Anima.Server.Hosting;
using Anima.Storage;

// The settings and the page travel with the program: started from another directory (for example
// `dotnet src/Anima.Server/bin/Release/net10.0/Anima.Server.dll` from the repository root), Anima still
// finds its appsettings.json (log levels included) and its web page beside its own files.
var contentRoot = File.Exists(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json")) ? null : AppContext.BaseDirectory;
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = contentRoot });
builder.AddAnima();

var app = builder.Build();
app.MapAnima();
try
{
    app.Run();
}
catch (StorageUnavailableException exception)
{
    // A corrupt or too-new database is the user's data: say what is wrong and how to go on, never overwrite it.
    Console.Error.WriteLine("Anima cannot start: " + exception.Message);
    return 1;
}

return 0;

/// <summary>The entry point, visible to the functional tests.</summary>
public partial class Program;
