namespace Anima.Voice.OpenAi;

/// <summary>Where an OpenAI-compatible audio server is and how to call it (OpenAI, whisper.cpp's server, faster-whisper servers, TTS servers).</summary>
public sealed class OpenAiCompatibleOptions
{
    /// <summary>The server's base address including <c>/v1/</c>, e.g. <c>http://127.0.0.1:8080/v1/</c>.</summary>
    public required Uri BaseAddress { get; init; }

    /// <summary>Bearer token; null for local servers that need none.</summary>
    public string? ApiKey { get; init; }

    /// <summary>The model name the server expects (e.g. "whisper-1", "tts-1", "gpt-4o-mini-tts").</summary>
    public required string Model { get; init; }

    /// <summary>How long one request may take before it fails.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    internal Uri Endpoint(string relative)
    {
        var baseText = BaseAddress.ToString();
        return new Uri(new Uri(baseText.EndsWith('/') ? baseText : baseText + "/"), relative);
    }

    internal void Validate()
    {
        if (!BaseAddress.IsAbsoluteUri || (BaseAddress.Scheme != Uri.UriSchemeHttp && BaseAddress.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"The base address must be an absolute http(s) address; got '{BaseAddress}'.", nameof(BaseAddress));
        }

        if (string.IsNullOrWhiteSpace(Model))
        {
            throw new ArgumentException("A model name is required.", nameof(Model));
        }

        if (Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(Timeout), Timeout, "The timeout must be positive.");
        }
    }
}
