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

/// <summary>
/// Cluster mode (optional): when <see cref="Postgres"/> is set, this node joins a cluster whose membership,
/// reminders, grain state, accounts, conversations and memories live in that PostgreSQL database.
/// Configured with Anima__Cluster__Postgres, Anima__Cluster__AdvertisedAddress and so on.
/// </summary>
public sealed class ClusterOptions
{
    public const string SectionName = "Anima:Cluster";

    /// <summary>The PostgreSQL connection string of the shared cluster database; empty = single-node embedded mode.</summary>
    public string? Postgres { get; set; }

    /// <summary>Nodes with the same cluster id form one cluster (default "anima").</summary>
    [RegularExpression("^[A-Za-z0-9_-]{1,64}$")]
    public string ClusterId { get; set; } = "anima";

    /// <summary>The address other nodes reach this node's silo at (default 127.0.0.1; set it to the node's own address on a network).</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>How long a liveness probe of another node may take before it counts as missed (default 2 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Missed probes after which a node suspects another (default 2); with the votes of the others it is declared dead.</summary>
    [Range(1, 10)]
    public int MissedProbesLimit { get; set; } = 2;

    public bool IsEnabled => !string.IsNullOrWhiteSpace(Postgres);
}
