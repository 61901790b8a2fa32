using Anima.Server.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddAnima();

var app = builder.Build();
app.MapAnima();
app.Run();

/// <summary>The entry point, visible to the functional tests.</summary>
public partial class Program;
