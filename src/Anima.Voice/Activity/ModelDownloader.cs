using System.Security.Cryptography;

namespace Anima.Voice.Activity;

/// <summary>Downloads a model file once, verifying its SHA-256 before it is moved into place.</summary>
public static class ModelDownloader
{
    /// <summary>
    /// Returns <paramref name="path"/> when the file exists; otherwise downloads <paramref name="source"/> to a
    /// temporary file beside it, checks the SHA-256 and renames it into place.
    /// </summary>
    /// <exception cref="InvalidDataException">The downloaded bytes do not have the expected hash (the file is deleted).</exception>
    /// <exception cref="HttpRequestException">The server could not be reached or answered with an error.</exception>
    public static async Task<string> EnsureAsync(
        string path,
        Uri source,
        string expectedSha256,
        HttpClient httpClient,
        IProgress<double>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(expectedSha256);
        ArgumentNullException.ThrowIfNull(httpClient);
        if (File.Exists(path))
        {
            return path;
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.part");
        try
        {
            using (var response = await httpClient.GetAsync(source, HttpCompletionOption.ResponseHeadersRead, cancellationToken))
            {
                if (!response.IsSuccessStatusCode)
                {
                    throw new HttpRequestException($"Downloading {source} failed: HTTP {(int)response.StatusCode} {response.ReasonPhrase}.", null, response.StatusCode);
                }

                var length = response.Content.Headers.ContentLength;
                await using var input = await response.Content.ReadAsStreamAsync(cancellationToken);
                await using var output = File.Create(temporary);
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[81920];
                long total = 0;
                int read;
                while ((read = await input.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    total += read;
                    if (length is > 0)
                    {
                        progress?.Report((double)total / length.Value);
                    }
                }

                var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
                if (!string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidDataException($"The file downloaded from {source} has SHA-256 {actual}; expected {expectedSha256.ToLowerInvariant()}. It was not installed.");
                }
            }

            File.Move(temporary, path, overwrite: false);
            progress?.Report(1);
            return path;
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }
}
