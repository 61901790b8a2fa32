namespace Anima.Cli;

/// <summary>
/// The arguments after a command's name: <c>--name value</c> options, <c>--flag</c> switches and
/// positional words. Unknown options are reported by <see cref="ThrowIfUnused"/> so that a typo is an
/// error rather than silently ignored.
/// </summary>
public sealed class CliArguments
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public CliArguments(IReadOnlyList<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var positional = new List<string>();
        for (var index = 0; index < arguments.Count; index++)
        {
            var argument = arguments[index];
            if (argument.StartsWith("--", StringComparison.Ordinal) && argument.Length > 2)
            {
                var equals = argument.IndexOf('=', StringComparison.Ordinal);
                if (equals > 0)
                {
                    _options[argument[..equals]] = argument[(equals + 1)..];
                }
                else if (index + 1 < arguments.Count && !arguments[index + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    _options[argument] = arguments[++index];
                }
                else
                {
                    _options[argument] = null;
                }
            }
            else
            {
                positional.Add(argument);
            }
        }

        Positional = positional;
    }

    public IReadOnlyList<string> Positional { get; }

    public bool HelpRequested => Has("--help") || Has("-h");

    /// <summary>Whether <paramref name="name"/> was given, as a switch or with a value.</summary>
    public bool Has(string name)
    {
        _used.Add(name);
        return _options.ContainsKey(name);
    }

    /// <summary>The value of <paramref name="name"/>, or null when absent.</summary>
    public string? Get(string name)
    {
        _used.Add(name);
        if (!_options.TryGetValue(name, out var value))
        {
            return null;
        }

        return value ?? throw new CliUsageException($"Option {name} needs a value.");
    }

    public string Require(string name) =>
        Get(name) ?? throw new CliUsageException($"Option {name} is required.");

    public int GetInt32(string name, int defaultValue, int minimum = int.MinValue, int maximum = int.MaxValue)
    {
        var text = Get(name);
        if (text is null)
        {
            return defaultValue;
        }

        if (!int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value)
            || value < minimum || value > maximum)
        {
            throw new CliUsageException($"Option {name} must be a whole number from {minimum} to {maximum}; got '{text}'.");
        }

        return value;
    }

    public double GetDouble(string name, double defaultValue)
    {
        var text = Get(name);
        if (text is null)
        {
            return defaultValue;
        }

        return double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new CliUsageException($"Option {name} must be a number; got '{text}'.");
    }

    /// <summary>Fails on any option that the command never asked about (a typo, or one it does not take).</summary>
    public void ThrowIfUnused()
    {
        foreach (var name in _options.Keys)
        {
            if (!_used.Contains(name))
            {
                throw new CliUsageException($"Unknown option {name}.");
            }
        }
    }
}
