using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace Anima.Llm.Models;

/// <summary>A download whose size or SHA-256 differs from the expected one.</summary>
public sealed class ModelChecksumException(string message) : Exception(message);

/// <summary>What a pulled file's SHA-256 was checked against.</summary>
public enum ChecksumOrigin
{
    /// <summary>A value pinned in the catalog or given by the user.</summary>
    Given,

    /// <summary>The value the publisher's server lists for the file (<see cref="PublisherChecksum"/>).</summary>
    Publisher,

    /// <summary>Nothing: the user allowed an unverified download.</summary>
    None,
}

/// <summary>A finished pull: the file's SHA-256 and what it was checked against (<paramref name="Source"/> says where a publisher's value came from).</summary>
public sealed record PullResult(string Sha256, ChecksumOrigin Origin, string? Source);

/// <summary>
/// Downloads large files with resume: bytes go to <c>FILE.part</c>; a later attempt asks only for
/// the rest with an HTTP Range request (and starts over if the server ignores it). The finished file
/// is checked against the expected size and SHA-256 before it is renamed into place.
/// </summary>
public sealed class ModelDownloader(HttpClient httpClient)
{
    private const int BufferSize = 1 << 20;

    /// <summary>
    /// Downloads <paramref name="url"/> to <paramref name="destination"/>, verified against a SHA-256: the one given
    /// (a catalog pin or the user's), else the one <paramref name="publisher"/> finds on the server (and its size). With
    /// none to be had the pull fails before downloading anything, unless <paramref name="allowUnverified"/>.
    /// </summary>
    public async Task<PullResult> PullAsync(Uri url, string destination, long? expectedSize, string? expectedSha256, PublisherChecksum? publisher, bool allowUnverified = false, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (expectedSha256 is not null)
        {
            if (!PublisherChecksum.IsSha256(expectedSha256))
            {
                throw new ModelChecksumException($"'{expectedSha256}' is not a SHA-256 (64 hexadecimal digits).");
            }

            return new PullResult(await DownloadAsync(url, destination, expectedSize, expectedSha256, progress, cancellationToken), ChecksumOrigin.Given, null);
        }

        var published = publisher is null ? null : await publisher.ResolveAsync(url, cancellationToken);
        if (published is null)
        {
            if (!allowUnverified)
            {
                var reason = publisher?.LastFailure ?? "no publisher lookup was made";
                throw new ModelChecksumException($"No SHA-256 to verify {url} against: {reason}. Give the one on the publisher's file page (--sha256 HEX), or allow an unverified download (--no-checksum).");
            }

            return new PullResult(await DownloadAsync(url, destination, expectedSize, null, progress, cancellationToken), ChecksumOrigin.None, null);
        }

        if (expectedSize is { } size && published.SizeBytes is { } publishedSize && size != publishedSize)
        {
            throw new ModelChecksumException($"The publisher lists {url} as {publishedSize} bytes; the catalog expects {size}. Nothing was downloaded.");
        }

        var hash = await DownloadAsync(url, destination, expectedSize ?? published.SizeBytes, published.Sha256, progress, cancellationToken);
        return new PullResult(hash, ChecksumOrigin.Publisher, published.Source);
    }

    /// <summary>Downloads <paramref name="url"/> to <paramref name="destination"/>; returns the file's SHA-256 (lower-case hex).</summary>
    public async Task<string> DownloadAsync(Uri url, string destination, long? expectedSize = null, string? expectedSha256 = null, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentException.ThrowIfNullOrEmpty(destination);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(destination))!);
        var partial = destination + ".part";
        var existing = File.Exists(partial) ? new FileInfo(partial).Length : 0;

        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (existing > 0)
        {
            request.Headers.Range = new RangeHeaderValue(existing, null);
        }

        using var response = await httpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        long total;
        FileMode mode;
        if (existing > 0 && response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            // The part file is already complete.
            total = existing;
            mode = FileMode.Append;
        }
        else
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"Downloading {url} failed: HTTP {(int)response.StatusCode} {response.ReasonPhrase}.", null, response.StatusCode);
            }

            var resumed = existing > 0 && response.StatusCode == HttpStatusCode.PartialContent;
            if (!resumed)
            {
                existing = 0;
            }

            mode = resumed ? FileMode.Append : FileMode.Create;
            total = existing + (response.Content.Headers.ContentLength ?? 0);
            if (expectedSize is { } size && response.Content.Headers.ContentLength is not null && total != size)
            {
                throw new ModelChecksumException($"{url} is {total} bytes; expected {size}.");
            }

            await using var source = await response.Content.ReadAsStreamAsync(cancellationToken);
            await using var target = new FileStream(partial, mode, FileAccess.Write, FileShare.None, BufferSize, useAsync: true);
            var buffer = new byte[BufferSize];
            var written = existing;
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                written += read;
                if (total > 0)
                {
                    progress?.Report(Math.Min(1, (double)written / total) * 0.98);
                }
            }

            total = written;
        }

        if (expectedSize is { } expected && total != expected)
        {
            throw new ModelChecksumException($"The download of {url} is {total} bytes; expected {expected}. The partial file is kept at '{partial}' to resume.");
        }

        string hash;
        await using (var stream = new FileStream(partial, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, useAsync: true))
        {
            hash = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
        }

        if (expectedSha256 is not null && !string.Equals(hash, expectedSha256, StringComparison.OrdinalIgnoreCase))
        {
            File.Delete(partial);
            throw new ModelChecksumException($"The download of {url} has SHA-256 {hash}; expected {expectedSha256.ToLowerInvariant()}. The corrupt file was deleted.");
        }

        File.Move(partial, destination, overwrite: true);
        progress?.Report(1);
        return hash;
    }
}
