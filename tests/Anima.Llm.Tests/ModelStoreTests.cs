using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Anima.Llm.Benchmarking;
using Anima.Llm.Chat;
using Anima.Llm.Gguf;
using Anima.Llm.Models;
using Anima.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Anima.Llm.Tests;

/// <summary>A file server on 127.0.0.1 (the shared loopback server) that honours Range requests and records what it was asked.</summary>
internal sealed class LocalFileServer : IAsyncDisposable
{
    private readonly byte[] _content;
    private readonly LoopbackHttpServer _server;
    private long _bytesServed;

    public LocalFileServer(byte[] content, bool honourRange = true)
    {
        _content = content;
        HonourRange = honourRange;
        _server = new LoopbackHttpServer(ServeAsync);
        Url = new Uri(_server.BaseAddress, "model.gguf");
    }

    public Uri Url { get; }

    public bool HonourRange { get; }

    public List<string?> RangeHeaders { get; } = [];

    public long BytesServed => Interlocked.Read(ref _bytesServed);

    private async Task ServeAsync(HttpListenerContext context)
    {
        var range = context.Request.Headers["Range"];
        lock (RangeHeaders)
        {
            RangeHeaders.Add(range);
        }

        long start = 0;
        if (HonourRange && range is not null && range.StartsWith("bytes=", StringComparison.Ordinal))
        {
            start = long.Parse(range[6..].TrimEnd('-'), System.Globalization.CultureInfo.InvariantCulture);
            if (start >= _content.Length)
            {
                context.Response.StatusCode = 416;
                return;
            }

            context.Response.StatusCode = 206;
            context.Response.Headers["Content-Range"] = $"bytes {start}-{_content.Length - 1}/{_content.Length}";
        }

        context.Response.ContentLength64 = _content.Length - start;
        // Counted before sending: the client may finish reading before this handler resumes.
        Interlocked.Add(ref _bytesServed, _content.Length - start);
        await context.Response.OutputStream.WriteAsync(_content.AsMemory((int)start));
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}

public sealed class ModelStoreTests
{
    private static byte[] Content(int length)
    {
        var bytes = new byte[length];
        new Random(9).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public async Task DownloadAsync_FreshFile_WritesFileAndVerifiesChecksum()
    {
        using var directory = new TemporaryDirectory();
        var content = Content(300_000);
        await using var server = new LocalFileServer(content);
        using var http = new HttpClient();
        var destination = directory.File("model.gguf");
        var expected = Convert.ToHexStringLower(SHA256.HashData(content));
        var progress = new List<double>();
        var hash = await new ModelDownloader(http).DownloadAsync(server.Url, destination, content.Length, expected, new SynchronousProgress(progress.Add), TestContext.Current.CancellationToken);

        Assert.Equal(expected, hash);
        Assert.Equal(content, await File.ReadAllBytesAsync(destination, TestContext.Current.CancellationToken));
        Assert.False(File.Exists(destination + ".part"));
        Assert.Equal(1, progress[^1]);
    }

    [Fact]
    public async Task DownloadAsync_PartialFile_ResumesWithRangeRequest()
    {
        using var directory = new TemporaryDirectory();
        var content = Content(200_000);
        await using var server = new LocalFileServer(content);
        using var http = new HttpClient();
        var destination = directory.File("model.gguf");
        await File.WriteAllBytesAsync(destination + ".part", content[..123_456], TestContext.Current.CancellationToken);

        await new ModelDownloader(http).DownloadAsync(server.Url, destination, content.Length, Convert.ToHexStringLower(SHA256.HashData(content)), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(["bytes=123456-"], server.RangeHeaders);
        Assert.Equal(200_000 - 123_456, server.BytesServed);
        Assert.Equal(content, await File.ReadAllBytesAsync(destination, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task DownloadAsync_ServerIgnoresRange_StartsOver()
    {
        using var directory = new TemporaryDirectory();
        var content = Content(50_000);
        await using var server = new LocalFileServer(content, honourRange: false);
        using var http = new HttpClient();
        var destination = directory.File("model.gguf");
        await File.WriteAllBytesAsync(destination + ".part", new byte[1000], TestContext.Current.CancellationToken);

        await new ModelDownloader(http).DownloadAsync(server.Url, destination, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(content, await File.ReadAllBytesAsync(destination, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task DownloadAsync_ChecksumMismatch_ThrowsAndKeepsNoFile()
    {
        using var directory = new TemporaryDirectory();
        var content = Content(10_000);
        await using var server = new LocalFileServer(content);
        using var http = new HttpClient();
        var destination = directory.File("model.gguf");

        var exception = await Assert.ThrowsAsync<ModelChecksumException>(() => new ModelDownloader(http).DownloadAsync(server.Url, destination, expectedSha256: new string('0', 64), cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("SHA-256", exception.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(destination));
        Assert.False(File.Exists(destination + ".part"));
    }

    [Fact]
    public async Task DownloadAsync_WrongSize_ThrowsBeforeDownloading()
    {
        using var directory = new TemporaryDirectory();
        await using var server = new LocalFileServer(Content(10_000));
        using var http = new HttpClient();
        await Assert.ThrowsAsync<ModelChecksumException>(() => new ModelDownloader(http).DownloadAsync(server.Url, directory.File("m.gguf"), expectedSize: 5, cancellationToken: TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Use_ValidModel_RecordsSelectionReadableByResolve()
    {
        using var directory = new TemporaryDirectory();
        var model = ModelFixtures.Tiny("qwen2", QuantizationScheme.Q8_0);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));

        var info = LocalModelStore.Use(model, time, directory.Path);

        Assert.Equal("qwen2", info.Architecture);
        Assert.Equal(ChatTemplateKind.ChatMl, info.Template);
        Assert.Equal(Path.GetFullPath(model), LocalModelStore.ResolveModelPath(directory.Path));
        Assert.Equal(time.GetUtcNow(), LocalModelStore.Load(directory.Path).SelectedAt);
    }

    [Fact]
    public void Use_CorruptFile_ThrowsAndKeepsPreviousSelection()
    {
        using var directory = new TemporaryDirectory();
        var model = ModelFixtures.Tiny("llama", QuantizationScheme.Q8_0);
        LocalModelStore.Use(model, TimeProvider.System, directory.Path);
        var corrupt = directory.File("corrupt.gguf");
        File.WriteAllBytes(corrupt, File.ReadAllBytes(model)[..5000]);

        Assert.Throws<GgufFormatException>(() => LocalModelStore.Use(corrupt, TimeProvider.System, directory.Path));
        Assert.Equal(Path.GetFullPath(model), LocalModelStore.ResolveModelPath(directory.Path));
    }

    [Fact]
    public void ResolveModelPath_NothingSelected_ReturnsNull()
    {
        using var directory = new TemporaryDirectory();
        Assert.Null(LocalModelStore.ResolveModelPath(directory.Path));
    }

    [Fact]
    public void Catalog_DefaultModel_IsAKnownGgufUrl()
    {
        var model = ModelCatalog.Find(ModelCatalog.DefaultModelName);
        Assert.NotNull(model);
        Assert.Equal("https", model.Url.Scheme);
        Assert.EndsWith(".gguf", model.FileName, StringComparison.Ordinal);
    }

    private sealed class SynchronousProgress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}
