using System.Net;
using System.Net.Sockets;

namespace Anima.Testing;

/// <summary>
/// A real HTTP server on 127.0.0.1 with a port chosen by the OS, answering each request with a test's handler on a
/// task of its own (a handler that waits, as in a timeout test, holds up no other request). Closes each response
/// after its handler.
/// </summary>
internal sealed class LoopbackHttpServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<HttpListenerContext, Task> _handler;
    private readonly Task _loop;

    public LoopbackHttpServer(Func<HttpListenerContext, Task> handler)
    {
        _handler = handler;
        var port = FreePort();
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(BaseAddress.ToString());
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public Uri BaseAddress { get; }

    private int _requestCount;

    /// <summary>Requests received so far.</summary>
    public int RequestCount => Volatile.Read(ref _requestCount);

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception exception) when (exception is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            Interlocked.Increment(ref _requestCount);
            _ = Task.Run(() => AnswerAsync(context));
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        try
        {
            await _handler(context);
        }
        catch (Exception exception) when (exception is HttpListenerException or ObjectDisposedException or IOException)
        {
            // The client went away (a timeout test, say); the test decides whether that matters.
        }
        finally
        {
            try
            {
                context.Response.Close();
            }
            catch (ObjectDisposedException)
            {
                // The server was stopped while this request was still being answered.
            }
        }
    }

    /// <summary>A loopback port that was free a moment ago (nothing listens on it).</summary>
    public static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
