using System.Net.WebSockets;

namespace Anima.Testing;

/// <summary>Reads whole WebSocket messages (however many frames they arrive in), for voice clients in tests and benchmarks.</summary>
public static class WebSocketMessages
{
    /// <summary>Reads the next whole message into <paramref name="message"/>; the result tells its type (Close when the peer closed).</summary>
    public static async Task<WebSocketReceiveResult> ReceiveMessageAsync(this WebSocket socket, byte[] buffer, MemoryStream message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(message);
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, cancellationToken);
            message.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);
        return result;
    }
}
