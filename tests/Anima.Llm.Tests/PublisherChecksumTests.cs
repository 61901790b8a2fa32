using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Anima.Llm.Models;
using Anima.Testing;

namespace Anima.Llm.Tests;

/// <summary>
/// <c>model pull</c>'s checksum lookup against a loopback server that imitates Hugging Face: the tree API
/// (<c>/api/models/OWNER/REPO/tree/main</c>, paginated with a Link header, entries with <c>lfs.oid</c> and
/// <c>lfs.size</c>), the HEAD of a <c>resolve</c> URL (a 302 carrying <c>X-Linked-Etag</c> and <c>X-Linked-Size</c>),
/// and the download itself (a redirect to a CDN path that honours Range).
/// </summary>
public sealed class PublisherChecksumTests
{
    private const string Repository = "Qwen/Test-GGUF";
    private const string FileName = "test-q4_k_m.gguf";

    private static byte[] Content(int length)
    {
        var bytes = new byte[length];
        new Random(17).NextBytes(bytes);
        return bytes;
    }

    private static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>What the imitation serves, and what it was asked.</summary>
    private sealed class FakeHub
    {
        public required byte[] Content { get; init; }

        /// <summary>The SHA-256 the listing and the HEAD announce (the file's own unless a test lies).</summary>
        public required string PublishedSha256 { get; init; }

        public long? PublishedSize { get; init; }

        public bool TreeAvailable { get; init; } = true;

        public bool LinkedEtagAvailable { get; init; } = true;

        /// <summary>Put the file on the second page of the listing (the first links to it).</summary>
        public bool Paginate { get; init; }

        public ConcurrentQueue<string> Requests { get; } = new();

        public long BytesServed;

        public string Tree(int page)
        {
            var other = """{"type":"file","oid":"5e2f6a0c1f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c","size":1519,"path":"README.md"}""";
            var lfs = $$$"""{"type":"file","oid":"{{{new string('a', 40)}}}","size":{{{PublishedSize ?? Content.Length}}},"path":"{{{FileName}}}","lfs":{"oid":"{{{PublishedSha256}}}","size":{{{PublishedSize ?? Content.Length}}},"pointerSize":135}}""";
            var decoy = $$$"""{"type":"file","oid":"{{{new string('b', 40)}}}","size":99,"path":"other-q8_0.gguf","lfs":{"oid":"{{{new string('c', 64)}}}","size":99,"pointerSize":134}}""";
            return Paginate ? (page == 0 ? $"[{other},{decoy}]" : $"[{lfs}]") : $"[{other},{decoy},{lfs}]";
        }

        public async Task HandleAsync(HttpListenerContext context)
        {
            var request = context.Request;
            var path = request.Url!.AbsolutePath;
            Requests.Enqueue($"{request.HttpMethod} {request.Url.PathAndQuery}");
            var response = context.Response;
            if (path == $"/api/models/{Repository}/tree/main")
            {
                if (!TreeAvailable)
                {
                    response.StatusCode = 404;
                    return;
                }

                var page = request.QueryString["cursor"] == "page2" ? 1 : 0;
                if (Paginate && page == 0)
                {
                    response.Headers["Link"] = $"<{request.Url.GetLeftPart(UriPartial.Path)}?cursor=page2>; rel=\"next\"";
                }

                var body = Encoding.UTF8.GetBytes(Tree(page));
                response.ContentType = "application/json";
                response.ContentLength64 = body.Length;
                await response.OutputStream.WriteAsync(body);
                return;
            }

            if (path == $"/{Repository}/resolve/main/{FileName}")
            {
                // Like the hub: a redirect to the storage, announcing the LFS object's hash and size.
                if (LinkedEtagAvailable)
                {
                    response.Headers["X-Linked-Etag"] = $"\"{PublishedSha256}\"";
                    response.Headers["X-Linked-Size"] = (PublishedSize ?? Content.Length).ToString(CultureInfo.InvariantCulture);
                }

                response.StatusCode = 302;
                response.RedirectLocation = "/cdn/object";
                return;
            }

            if (path == "/cdn/object")
            {
                long start = 0;
                var range = request.Headers["Range"];
                if (range is not null && range.StartsWith("bytes=", StringComparison.Ordinal))
                {
                    start = long.Parse(range[6..].TrimEnd('-'), CultureInfo.InvariantCulture);
                    if (start >= Content.Length)
                    {
                        response.StatusCode = 416;
                        return;
                    }

                    response.StatusCode = 206;
                    response.Headers["Content-Range"] = $"bytes {start}-{Content.Length - 1}/{Content.Length}";
                }

                response.ContentLength64 = Content.Length - start;
                if (request.HttpMethod != "HEAD")
                {
                    Interlocked.Add(ref BytesServed, Content.Length - start);
                    await response.OutputStream.WriteAsync(Content.AsMemory((int)start));
                }

                return;
            }

            response.StatusCode = 404;
        }

        public int FileRequests => Requests.Count(r => r.StartsWith("GET /cdn/", StringComparison.Ordinal));
    }

    private static (HttpClient Download, HttpClient Metadata) Clients() =>
        (new HttpClient(), new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }));

    private static Uri FileUrl(LoopbackHttpServer server) => new(server.BaseAddress, $"{Repository}/resolve/main/{FileName}");

    [Fact]
    public async Task ResolveAsync_TreeListing_GivesLfsSha256AndSizeAcrossPages()
    {
        var content = Content(5000);
        var hub = new FakeHub { Content = content, PublishedSha256 = Sha256(content), Paginate = true };
        await using var server = new LoopbackHttpServer(hub.HandleAsync);
        var (download, metadata) = Clients();
        using (download)
        using (metadata)
        {
            var published = await new PublisherChecksum(metadata).ResolveAsync(FileUrl(server), TestContext.Current.CancellationToken);

            Assert.NotNull(published);
            Assert.Equal(Sha256(content), published.Sha256);
            Assert.Equal(content.Length, published.SizeBytes);
            Assert.Contains("file listing", published.Source, StringComparison.Ordinal);
            Assert.Contains($"GET /api/models/{Repository}/tree/main?cursor=page2", hub.Requests);
            Assert.DoesNotContain(hub.Requests, r => r.StartsWith("HEAD", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task ResolveAsync_NoListing_FallsBackToLinkedEtagOfTheRedirect()
    {
        var content = Content(4000);
        var hub = new FakeHub { Content = content, PublishedSha256 = Sha256(content).ToUpperInvariant(), TreeAvailable = false };
        await using var server = new LoopbackHttpServer(hub.HandleAsync);
        var (download, metadata) = Clients();
        using (download)
        using (metadata)
        {
            var published = await new PublisherChecksum(metadata).ResolveAsync(FileUrl(server), TestContext.Current.CancellationToken);

            Assert.NotNull(published);
            Assert.Equal(Sha256(content), published.Sha256);
            Assert.Equal(content.Length, published.SizeBytes);
            Assert.Contains("X-Linked-Etag", published.Source, StringComparison.Ordinal);
            Assert.Equal(0, hub.FileRequests);
        }
    }

    [Fact]
    public async Task PullAsync_PublisherChecksum_DownloadsThroughRedirectAndVerifies()
    {
        using var directory = new TemporaryDirectory();
        var content = Content(250_000);
        var hub = new FakeHub { Content = content, PublishedSha256 = Sha256(content) };
        await using var server = new LoopbackHttpServer(hub.HandleAsync);
        var (download, metadata) = Clients();
        using (download)
        using (metadata)
        {
            var destination = directory.File("model.gguf");
            var result = await new ModelDownloader(download).PullAsync(FileUrl(server), destination, null, null, new PublisherChecksum(metadata), cancellationToken: TestContext.Current.CancellationToken);

            Assert.Equal(ChecksumOrigin.Publisher, result.Origin);
            Assert.Equal(Sha256(content), result.Sha256);
            Assert.Equal(content, await File.ReadAllBytesAsync(destination, TestContext.Current.CancellationToken));
        }
    }

    [Fact]
    public async Task PullAsync_PublisherHashDiffers_ThrowsAndKeepsNoFile()
    {
        using var directory = new TemporaryDirectory();
        var content = Content(60_000);
        var lie = Sha256(Content(10));
        var hub = new FakeHub { Content = content, PublishedSha256 = lie };
        await using var server = new LoopbackHttpServer(hub.HandleAsync);
        var (download, metadata) = Clients();
        using (download)
        using (metadata)
        {
            var destination = directory.File("model.gguf");
            var exception = await Assert.ThrowsAsync<ModelChecksumException>(() => new ModelDownloader(download).PullAsync(FileUrl(server), destination, null, null, new PublisherChecksum(metadata), cancellationToken: TestContext.Current.CancellationToken));

            Assert.Contains(lie, exception.Message, StringComparison.Ordinal);
            Assert.Contains(Sha256(content), exception.Message, StringComparison.Ordinal);
            Assert.False(File.Exists(destination));
            Assert.False(File.Exists(destination + ".part"));
        }
    }

    [Fact]
    public async Task PullAsync_PartialFile_ResumesAndVerifiesAgainstPublisher()
    {
        using var directory = new TemporaryDirectory();
        var content = Content(180_000);
        var hub = new FakeHub { Content = content, PublishedSha256 = Sha256(content) };
        await using var server = new LoopbackHttpServer(hub.HandleAsync);
        var (download, metadata) = Clients();
        using (download)
        using (metadata)
        {
            var destination = directory.File("model.gguf");
            await File.WriteAllBytesAsync(destination + ".part", content[..100_000], TestContext.Current.CancellationToken);

            var result = await new ModelDownloader(download).PullAsync(FileUrl(server), destination, null, null, new PublisherChecksum(metadata), cancellationToken: TestContext.Current.CancellationToken);

            Assert.Equal(ChecksumOrigin.Publisher, result.Origin);
            Assert.Equal(80_000, Interlocked.Read(ref hub.BytesServed));
            Assert.Equal(content, await File.ReadAllBytesAsync(destination, TestContext.Current.CancellationToken));
        }
    }

    [Fact]
    public async Task PullAsync_CorruptPartialFile_FailsOnResumeThenStartsCleanNextTime()
    {
        using var directory = new TemporaryDirectory();
        var content = Content(120_000);
        var hub = new FakeHub { Content = content, PublishedSha256 = Sha256(content) };
        await using var server = new LoopbackHttpServer(hub.HandleAsync);
        var (download, metadata) = Clients();
        using (download)
        using (metadata)
        {
            var destination = directory.File("model.gguf");
            var corrupt = content[..70_000];
            corrupt[1234] ^= 0xFF;
            await File.WriteAllBytesAsync(destination + ".part", corrupt, TestContext.Current.CancellationToken);
            var downloader = new ModelDownloader(download);

            await Assert.ThrowsAsync<ModelChecksumException>(() => downloader.PullAsync(FileUrl(server), destination, null, null, new PublisherChecksum(metadata), cancellationToken: TestContext.Current.CancellationToken));
            Assert.False(File.Exists(destination + ".part"));
            Assert.False(File.Exists(destination));

            var result = await downloader.PullAsync(FileUrl(server), destination, null, null, new PublisherChecksum(metadata), cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal(Sha256(content), result.Sha256);
            Assert.Equal(content, await File.ReadAllBytesAsync(destination, TestContext.Current.CancellationToken));
        }
    }

    [Fact]
    public async Task PullAsync_NoChecksumAnywhere_FailsBeforeDownloadingUnlessAllowed()
    {
        using var directory = new TemporaryDirectory();
        var content = Content(30_000);
        var hub = new FakeHub { Content = content, PublishedSha256 = Sha256(content), TreeAvailable = false, LinkedEtagAvailable = false };
        await using var server = new LoopbackHttpServer(hub.HandleAsync);
        var (download, metadata) = Clients();
        using (download)
        using (metadata)
        {
            var destination = directory.File("model.gguf");
            var downloader = new ModelDownloader(download);
            var exception = await Assert.ThrowsAsync<ModelChecksumException>(() => downloader.PullAsync(FileUrl(server), destination, null, null, new PublisherChecksum(metadata), cancellationToken: TestContext.Current.CancellationToken));

            Assert.Contains("--sha256", exception.Message, StringComparison.Ordinal);
            Assert.Contains("X-Linked-Etag", exception.Message, StringComparison.Ordinal);
            Assert.Equal(0, hub.FileRequests);
            Assert.False(File.Exists(destination + ".part"));

            var result = await downloader.PullAsync(FileUrl(server), destination, null, null, new PublisherChecksum(metadata), allowUnverified: true, cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal(ChecksumOrigin.None, result.Origin);
            Assert.Equal(Sha256(content), result.Sha256);
        }
    }

    [Fact]
    public async Task PullAsync_CatalogSizeDisagreesWithPublisher_FailsBeforeDownloading()
    {
        using var directory = new TemporaryDirectory();
        var content = Content(20_000);
        var hub = new FakeHub { Content = content, PublishedSha256 = Sha256(content) };
        await using var server = new LoopbackHttpServer(hub.HandleAsync);
        var (download, metadata) = Clients();
        using (download)
        using (metadata)
        {
            var exception = await Assert.ThrowsAsync<ModelChecksumException>(() => new ModelDownloader(download).PullAsync(FileUrl(server), directory.File("m.gguf"), 12_345, null, new PublisherChecksum(metadata), cancellationToken: TestContext.Current.CancellationToken));

            Assert.Contains("12345", exception.Message, StringComparison.Ordinal);
            Assert.Equal(0, hub.FileRequests);
        }
    }

    [Fact]
    public async Task PullAsync_GivenSha256_IsUsedWithoutLookup()
    {
        using var directory = new TemporaryDirectory();
        var content = Content(15_000);
        var hub = new FakeHub { Content = content, PublishedSha256 = new string('d', 64) };
        await using var server = new LoopbackHttpServer(hub.HandleAsync);
        var (download, metadata) = Clients();
        using (download)
        using (metadata)
        {
            var result = await new ModelDownloader(download).PullAsync(FileUrl(server), directory.File("m.gguf"), null, Sha256(content).ToUpperInvariant(), new PublisherChecksum(metadata), cancellationToken: TestContext.Current.CancellationToken);

            Assert.Equal(ChecksumOrigin.Given, result.Origin);
            Assert.DoesNotContain(hub.Requests, r => r.Contains("/api/", StringComparison.Ordinal) || r.StartsWith("HEAD", StringComparison.Ordinal));
            await Assert.ThrowsAsync<ModelChecksumException>(() => new ModelDownloader(download).PullAsync(FileUrl(server), directory.File("n.gguf"), null, "not-a-hash", null, cancellationToken: TestContext.Current.CancellationToken));
        }
    }

    [Theory]
    [InlineData("https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct-GGUF/resolve/main/qwen2.5-1.5b-instruct-q4_k_m.gguf", true, "Qwen/Qwen2.5-1.5B-Instruct-GGUF", "main", "qwen2.5-1.5b-instruct-q4_k_m.gguf")]
    [InlineData("https://huggingface.co/org/repo/resolve/v1.0/sub/dir/model%20x.gguf", true, "org/repo", "v1.0", "sub/dir/model x.gguf")]
    [InlineData("https://example.com/files/model.gguf", false, "", "", "")]
    [InlineData("https://huggingface.co/org/repo/blob/main/model.gguf", false, "", "", "")]
    [InlineData("https://huggingface.co/org/repo/resolve/main/../x.gguf", false, "", "", "")]
    public void TryParse_ResolveUrls(string url, bool expected, string repository, string revision, string path)
    {
        Assert.Equal(expected, PublisherChecksum.TryParse(new Uri(url), out var parsedRepository, out var parsedRevision, out var parsedPath));
        if (expected)
        {
            Assert.Equal(repository, parsedRepository);
            Assert.Equal(revision, parsedRevision);
            Assert.Equal(path, parsedPath);
        }
    }

    [Fact]
    public async Task ResolveAsync_NotAHubUrl_ReturnsNullWithReason()
    {
        using var metadata = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        var lookup = new PublisherChecksum(metadata);
        Assert.Null(await lookup.ResolveAsync(new Uri("http://127.0.0.1:9/files/model.gguf"), TestContext.Current.CancellationToken));
        Assert.Contains("not a Hugging Face download URL", lookup.LastFailure, StringComparison.Ordinal);
    }
}
