using Anima.Server.Hosting;
using Anima.Storage;

// The settings and the page travel with the program: started from another directory (for example
// `dotnet src/Anima.Server/bin/Release/net10.0/Anima.Server.dll` from the repository root), Anima still
// finds its appsettings.json (log levels included) and its web page beside its own files.
var contentRoot = File.Exists(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json")) ? null : AppContext.BaseDirectory;
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = contentRoot });

// Loopback only unless told otherwise (`--urls`, `Urls`, `ASPNETCORE_URLS` or `ASPNETCORE_HTTP_PORTS`): a
// companion holds private conversations, so it is never reachable from the network by default.
if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]) && string.IsNullOrEmpty(builder.Configuration["https_ports"]))
{
    builder.WebHost.UseUrls("http://127.0.0.1:5000");
}

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
