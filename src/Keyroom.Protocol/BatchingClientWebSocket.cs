using System.Net.Sockets;
using System.Net.WebSockets;

namespace Keyroom.Protocol;

/// <summary>
/// Connects a <see cref="ClientWebSocket"/> over a <see cref="BatchingTransportStream"/>, for a
/// <see cref="WebSocketMessageChannel"/> that writes each message in one write.
/// </summary>
public static class BatchingClientWebSocket
{
    /// <summary>
    /// Connects <paramref name="socket"/> to <paramref name="uri"/> (<c>ws://</c> or <c>wss://</c>) through its own
    /// connection handler whose transport is a <see cref="BatchingTransportStream"/>, and returns that stream. TLS, when
    /// used, runs over the batching stream, so a batch is also one write of TLS records.
    /// </summary>
    /// <remarks>
    /// <see cref="ClientWebSocket"/> refuses a handler when its options set a proxy, credentials, client
    /// certificates, a certificate validation callback or cookies; connect such a socket the usual way instead.
    /// </remarks>
    /// <param name="socket">A new, unconnected socket; its headers, sub-protocols and keep-alive settings apply.</param>
    /// <param name="uri">The WebSocket URL.</param>
    /// <param name="cancellationToken">Cancels the connect.</param>
    /// <returns>The batching stream under the connected socket.</returns>
    /// <exception cref="WebSocketException">The connection or the upgrade failed.</exception>
    public static async Task<BatchingTransportStream> ConnectAsync(ClientWebSocket socket, Uri uri, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(uri);
        BatchingTransportStream? transport = null;

        // Messages are framed straight into the transport only when it is the WebSocket's plain byte stream: no TLS
        // above it (ws://), HTTP/1.1 (an HTTP/2 stream carries HTTP/2 frames), no per-message compression.
        var options = socket.Options;
        var framing = uri.Scheme == Uri.UriSchemeWs && options.HttpVersion.Major == 1
            && options.HttpVersionPolicy != HttpVersionPolicy.RequestVersionOrHigher && options.DangerousDeflateOptions is null
            ? TransportFraming.WebSocketClient
            : TransportFraming.Opaque;
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, token) =>
            {
                var tcp = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await tcp.ConnectAsync(context.DnsEndPoint, token).ConfigureAwait(false);
                }
                catch
                {
                    tcp.Dispose();
                    throw;
                }

                transport = new BatchingTransportStream(new NetworkStream(tcp, ownsSocket: true)) { Framing = framing };
                return transport;
            },
        };

        // The handler only makes this one connection; once upgraded, the connection belongs to the socket and
        // outlives the handler.
        using var invoker = new HttpMessageInvoker(handler);
        await socket.ConnectAsync(uri, invoker, cancellationToken).ConfigureAwait(false);
        return transport ?? throw new WebSocketException(WebSocketError.Faulted, "The connection was not made through the batching transport.");
    }
}
