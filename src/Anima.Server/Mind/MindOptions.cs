namespace Anima.Server.Mind;

/// <summary>Which language model to think with. Every field can also be set in the page's settings (by the administrator).</summary>
public sealed class MindOptions
{
    public const string SectionName = "Anima:Mind";

    /// <summary>"auto" (default: the first found of a configured endpoint, OPENAI_API_KEY, ANTHROPIC_API_KEY, Ollama on localhost, a local GGUF model), "openai", "anthropic", "ollama", "local" or "none".</summary>
    public string Provider { get; set; } = MindProviders.Auto;

    /// <summary>Base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:8080/v1.</summary>
    public string? Endpoint { get; set; }

    /// <summary>The model name the endpoint knows.</summary>
    public string? Model { get; set; }

    /// <summary>API key, when the endpoint needs one. Never logged or shown back.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Where to look for Ollama when Provider is auto (default http://127.0.0.1:11434).</summary>
    public string OllamaEndpoint { get; set; } = "http://127.0.0.1:11434";

    /// <summary>How long the request for one reply may take in all (default 10 minutes; long local generations).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(10);
}

public static class MindProviders
{
    public const string Auto = "auto";
    public const string OpenAi = "openai";
    public const string Anthropic = "anthropic";
    public const string Ollama = "ollama";
    public const string Local = "local";
    public const string None = "none";

    public static bool IsKnown(string provider) => provider is Auto or OpenAi or Anthropic or Ollama or Local or None;
}
