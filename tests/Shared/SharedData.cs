namespace Anima.Testing;

/// <summary>
/// Finds <c>../shared/data</c> (beside the repository root) for tests that train or evaluate on the
/// shared data sets. Tests that need it call <see cref="RequireDirectory"/> and are skipped with a
/// clear message where the folder is absent, as on a clone without the data beside it.
/// </summary>
internal static class SharedData
{
    public static string? Root { get; } = Locate();

    private static string? Locate()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("ANIMA_SHARED_DATA");
        if (!string.IsNullOrEmpty(fromEnvironment) && Directory.Exists(fromEnvironment))
        {
            return fromEnvironment;
        }

        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "shared", "data");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The full path of <paramref name="relativePath"/> under shared/data, or a skip when it is missing.</summary>
    public static string RequireDirectory(string relativePath)
    {
        var path = Root is null ? null : Path.Combine(Root, relativePath);
        Assert.SkipWhen(path is null || !(Directory.Exists(path) || File.Exists(path)),
            $"../shared/data/{relativePath} is not present next to the repository; this test needs it.");
        return path!;
    }

    /// <summary>The repository root (the folder holding Anima.slnx).</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Anima.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Anima.slnx not found above " + AppContext.BaseDirectory);
    }
}
