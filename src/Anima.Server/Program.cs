using Anima.Server.Hosting;
using Anima.Storage;

var builder = WebApplication.CreateBuilder(args);
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
