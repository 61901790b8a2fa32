namespace Anima.Voice.Activity;

/// <summary>Where the Silero model lives and how to fetch it on first use.</summary>
public sealed class VoiceActivityOptions
{
    /// <summary>The Silero VAD v5 model pinned by <see cref="DefaultModelSha256"/> (MIT, snakers4/silero-vad).</summary>
    public const string DefaultModelUrl = "https://github.com/snakers4/silero-vad/raw/bfdc0193023f121ea5b3cc7b176dbed570a68a59/src/silero_vad/data/silero_vad.onnx";

    /// <summary>SHA-256 of the model file the project was tested with.</summary>
    public const string DefaultModelSha256 = "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3";

    /// <summary>Speech probability at or above which a frame counts as speech.</summary>
    public const float DefaultThreshold = 0.5f;

    /// <summary>The model file. When it is missing and <see cref="ModelUrl"/> is set, it is downloaded here.</summary>
    public string? ModelPath { get; set; }

    /// <summary>Where to download the model from when <see cref="ModelPath"/> is missing; null disables downloading.</summary>
    public Uri? ModelUrl { get; set; } = new(DefaultModelUrl);

    /// <summary>The expected SHA-256 (hex) of the downloaded file; a mismatch deletes it and fails.</summary>
    public string ModelSha256 { get; set; } = DefaultModelSha256;

    /// <summary>Speech probability threshold, 0..1.</summary>
    public float Threshold { get; set; } = DefaultThreshold;

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        if (Threshold is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Threshold), Threshold, "The VAD threshold must be between 0 and 1 (exclusive).");
        }

        if (ModelSha256.Length != 64 || !ModelSha256.All(Uri.IsHexDigit))
        {
            throw new ArgumentException($"ModelSha256 must be 64 hex digits; got '{ModelSha256}'.", nameof(ModelSha256));
        }
    }
}
