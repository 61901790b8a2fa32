using System.Net;
using System.Text.Json;

namespace Anima.Llm.Models;

/// <summary>The SHA-256 and size that a file's publisher gives for it, and where they were read.</summary>
public sealed record PublishedChecksum(string Sha256, long? SizeBytes, string Source);

/// <summary>
/// Looks up the SHA-256 (and size) that Hugging Face publishes for a file it serves from Git LFS, for a
/// download URL of the form <c>{host}/{owner}/{repo}/resolve/{revision}/{path}</c>:
/// first <c>{host}/api/models/{owner}/{repo}/tree/{revision}[/{folder}]</c>, whose entry for the file carries
/// <c>lfs.oid</c> (the SHA-256) and <c>lfs.size</c>; failing that, a HEAD of the download URL itself, whose
/// (first, unredirected) answer carries <c>X-Linked-Etag</c> (the SHA-256, quoted) and <c>X-Linked-Size</c>.
/// The client given should not follow redirects (a followed redirect leads to the CDN, which does not
/// send those headers); redirects of the API call are followed here, on the same host only.
/// </summary>
public sealed class PublisherChecksum(HttpClient metadataClient)
{
    private const int MaximumRedirects = 5;
    private const int MaximumPages = 50;
    private const long MaximumListingBytes = 16 << 20;

    /// <summary>
    /// The publisher's checksum of <paramref name="url"/>, or null with <paramref name="url"/> not a Hugging Face
    /// download URL or neither lookup giving one; <see cref="LastFailure"/> then says why.
    /// </summary>
    public async Task<PublishedChecksum?> ResolveAsync(Uri url, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        LastFailure = null;
        if (!TryParse(url, out var repository, out var revision, out var path))
        {
            LastFailure = $"{url} is not a Hugging Face download URL (…/OWNER/REPO/resolve/REVISION/FILE), so no published checksum can be looked up";
            return null;
        }

        string? treeFailure;
        try
        {
            var fromTree = await FromTreeAsync(url, repository, revision, path, cancellationToken);
            if (fromTree.Checksum is not null)
            {
                return fromTree.Checksum;
            }

            treeFailure = fromTree.Failure;
        }
        catch (Exception exception) when (exception is HttpRequestException or JsonException or InvalidDataException || (exception is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            treeFailure = exception.Message;
        }

        string? headFailure;
        try
        {
            var fromHead = await FromHeadAsync(url, cancellationToken);
            if (fromHead.Checksum is not null)
            {
                return fromHead.Checksum;
            }

            headFailure = fromHead.Failure;
        }
        catch (Exception exception) when (exception is HttpRequestException || (exception is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            headFailure = exception.Message;
        }

        LastFailure = $"the file listing gave no SHA-256 ({treeFailure}) and neither did a HEAD of the file ({headFailure})";
        return null;
    }

    /// <summary>Why the last <see cref="ResolveAsync"/> returned null.</summary>
    public string? LastFailure { get; private set; }

    /// <summary>Splits <c>/OWNER/REPO/resolve/REVISION/PATH</c>; false for any other shape.</summary>
    public static bool TryParse(Uri url, out string repository, out string revision, out string path)
    {
        ArgumentNullException.ThrowIfNull(url);
        repository = revision = path = "";
        if (!url.IsAbsoluteUri || url.Scheme is not ("http" or "https"))
        {
            return false;
        }

        var segments = url.AbsolutePath.Trim('/').Split('/');
        if (segments.Length < 5 || segments[2] != "resolve" || segments.Any(segment => segment.Length == 0 || segment is "." or ".."))
        {
            return false;
        }

        repository = segments[0] + "/" + segments[1];
        revision = segments[3];
        path = string.Join('/', segments.Skip(4).Select(Uri.UnescapeDataString));
        return true;
    }

    private async Task<(PublishedChecksum? Checksum, string? Failure)> FromTreeAsync(Uri url, string repository, string revision, string path, CancellationToken cancellationToken)
    {
        var folder = path.Contains('/', StringComparison.Ordinal) ? "/" + string.Join('/', path[..path.LastIndexOf('/')].Split('/').Select(Uri.EscapeDataString)) : "";
        Uri? page = new(url, $"/api/models/{repository}/tree/{revision}{folder}");
        for (var pages = 0; page is not null && pages < MaximumPages; pages++)
        {
            using var response = await GetFollowingRedirectsAsync(page, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return (null, $"HTTP {(int)response.StatusCode} from {page}");
            }

            if (response.Content.Headers.ContentLength > MaximumListingBytes)
            {
                throw new InvalidDataException($"The file listing at {page} is {response.Content.Headers.ContentLength} bytes, more than a listing can be.");
            }

            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var listing = await JsonDocument.ParseAsync(new LimitedStream(stream, MaximumListingBytes), cancellationToken: cancellationToken);
            if (listing.RootElement.ValueKind != JsonValueKind.Array)
            {
                return (null, $"the listing at {page} is not a JSON array");
            }

            foreach (var entry in listing.RootElement.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("path", out var entryPath) || entryPath.ValueKind != JsonValueKind.String || entryPath.GetString() != path)
                {
                    continue;
                }

                if (!entry.TryGetProperty("lfs", out var lfs) || lfs.ValueKind != JsonValueKind.Object)
                {
                    return (null, $"{path} is not stored in Git LFS, and its listing gives only a Git object id, not a SHA-256");
                }

                var oid = lfs.TryGetProperty("oid", out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
                if (!IsSha256(oid))
                {
                    return (null, $"the listing's lfs.oid for {path} is not a SHA-256");
                }

                long? size = lfs.TryGetProperty("size", out var sizeValue) && sizeValue.TryGetInt64(out var bytes) && bytes >= 0 ? bytes : null;
                return (new PublishedChecksum(oid!.ToLowerInvariant(), size, $"{repository} file listing ({page.GetLeftPart(UriPartial.Path)})"), null);
            }

            page = NextPage(response, page);
        }

        return (null, $"{path} is not in the listing of {repository} at {revision}");
    }

    private async Task<(PublishedChecksum? Checksum, string? Failure)> FromHeadAsync(Uri url, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, url);
        using var response = await metadataClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode && (int)response.StatusCode is < 300 or >= 400)
        {
            return (null, $"HTTP {(int)response.StatusCode}");
        }

        if (!response.Headers.TryGetValues("X-Linked-Etag", out var etags))
        {
            return (null, "no X-Linked-Etag header");
        }

        var etag = etags.First().Trim();
        if (etag.StartsWith("W/", StringComparison.Ordinal))
        {
            etag = etag[2..];
        }

        etag = etag.Trim('"');
        if (!IsSha256(etag))
        {
            return (null, "its X-Linked-Etag is not a SHA-256");
        }

        long? size = response.Headers.TryGetValues("X-Linked-Size", out var sizes) && long.TryParse(sizes.First(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var bytes) ? bytes : null;
        return (new PublishedChecksum(etag.ToLowerInvariant(), size, $"X-Linked-Etag of {url.GetLeftPart(UriPartial.Path)}"), null);
    }

    private async Task<HttpResponseMessage> GetFollowingRedirectsAsync(Uri url, CancellationToken cancellationToken)
    {
        for (var redirects = 0; ; redirects++)
        {
            var response = await metadataClient.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if ((int)response.StatusCode is < 300 or >= 400 || response.Headers.Location is null)
            {
                return response;
            }

            var target = response.Headers.Location.IsAbsoluteUri ? response.Headers.Location : new Uri(url, response.Headers.Location);
            response.Dispose();
            if (redirects >= MaximumRedirects || !string.Equals(target.Authority, url.Authority, StringComparison.OrdinalIgnoreCase) || target.Scheme != url.Scheme)
            {
                throw new HttpRequestException($"The file listing redirected too often or to another host ({target.GetLeftPart(UriPartial.Authority)}).", null, HttpStatusCode.Redirect);
            }

            url = target;
        }
    }

    /// <summary>The <c>rel="next"</c> target of a paginated listing's Link header, on the same host.</summary>
    private static Uri? NextPage(HttpResponseMessage response, Uri current)
    {
        if (!response.Headers.TryGetValues("Link", out var links))
        {
            return null;
        }

        foreach (var link in links.SelectMany(value => value.Split(',')))
        {
            var parts = link.Split(';');
            if (parts.Length < 2 || !parts.Skip(1).Any(part => part.Trim().Replace(" ", "", StringComparison.Ordinal) is "rel=\"next\"" or "rel=next"))
            {
                continue;
            }

            var target = parts[0].Trim().TrimStart('<').TrimEnd('>');
            if (Uri.TryCreate(current, target, out var next) && string.Equals(next.Authority, current.Authority, StringComparison.OrdinalIgnoreCase))
            {
                return next;
            }
        }

        return null;
    }

    public static bool IsSha256(string? value) => value is { Length: 64 } && value.All(char.IsAsciiHexDigit);

    /// <summary>A read-only view of a stream that fails past a byte limit (a listing is never unbounded).</summary>
    private sealed class LimitedStream(Stream inner, long limit) : Stream
    {
        private long _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _read;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Count(int read)
        {
            _read += read;
            return _read > limit ? throw new InvalidDataException($"The file listing is longer than {limit} bytes.") : read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
