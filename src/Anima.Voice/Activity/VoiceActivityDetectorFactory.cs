namespace Anima.Voice.Activity;

/// <summary>The detector chosen for a stream, and why the fallback was used when it was.</summary>
/// <param name="Detector">Silero when its model could be loaded, otherwise the energy detector.</param>
/// <param name="FallbackReason">Null when Silero loaded; otherwise what went wrong, for a warning at start-up.</param>
public sealed record VoiceActivityDetectorChoice(IVoiceActivityDetector Detector, string? FallbackReason);

/// <summary>Creates detectors from <see cref="VoiceActivityOptions"/>: Silero when possible, the energy detector otherwise.</summary>
public static class VoiceActivityDetectorFactory
{
    /// <summary>
    /// Makes sure the model file is present (downloading it with a checksum when configured) and creates a
    /// Silero detector; falls back to <see cref="EnergyVoiceActivityDetector"/> with the reason when it cannot.
    /// </summary>
    public static async Task<VoiceActivityDetectorChoice> CreateAsync(
        VoiceActivityOptions options,
        HttpClient? httpClient,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (string.IsNullOrEmpty(options.ModelPath))
        {
            return new(new EnergyVoiceActivityDetector(), "no Silero model path is configured");
        }

        try
        {
            if (!File.Exists(options.ModelPath))
            {
                if (options.ModelUrl is null || httpClient is null)
                {
                    return new(new EnergyVoiceActivityDetector(), $"the Silero model is missing at '{options.ModelPath}' and downloading is disabled");
                }

                await ModelDownloader.EnsureAsync(options.ModelPath, options.ModelUrl, options.ModelSha256, httpClient, null, cancellationToken);
            }

            return new(new SileroVoiceActivityDetector(options.ModelPath), null);
        }
        catch (Exception exception) when (exception is HttpRequestException or InvalidDataException or IOException or UnauthorizedAccessException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new(new EnergyVoiceActivityDetector(), $"the Silero model could not be used: {exception.Message}");
        }
    }

    /// <summary>Creates a detector like the one <see cref="CreateAsync"/> returned, for another stream (the model file is present by then).</summary>
    public static IVoiceActivityDetector CreateLike(IVoiceActivityDetector template, VoiceActivityOptions options)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(options);
        return template is SileroVoiceActivityDetector && options.ModelPath is not null
            ? new SileroVoiceActivityDetector(options.ModelPath)
            : new EnergyVoiceActivityDetector();
    }
}
