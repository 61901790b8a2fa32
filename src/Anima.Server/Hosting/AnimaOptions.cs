using System.ComponentModel.DataAnnotations;

namespace Anima.Server.Hosting;

/// <summary>Where Anima keeps its data and how its embedded silo listens.</summary>
public sealed class AnimaOptions
{
    public const string SectionName = "Anima";

    /// <summary>
    /// The data directory (database, keys, models). Default: the user's local application data folder
    /// + "Anima" (on Linux ~/.local/share/Anima), overridable with Anima__DataDirectory.
    /// </summary>
    public string DataDirectory { get; set; } = DefaultDataDirectory;

    /// <summary>Port of the embedded Orleans silo on 127.0.0.1 (default 11111).</summary>
    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port of the embedded silo's client gateway on 127.0.0.1 (default 30000).</summary>
    [Range(1, 65535)]
    public int GatewayPort { get; set; } = 30000;

    public static string DefaultDataDirectory { get; } =
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "Anima");

    public string DatabasePath => Path.Combine(DataDirectory, "anima.db");
}
