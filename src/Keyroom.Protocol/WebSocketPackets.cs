using System.Buffers;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;

namespace Keyroom.Protocol;

/// <summary>
/// Low-level helpers that move packets over a <see cref="WebSocket"/>: one packet is one binary WebSocket
/// message. Most callers should use <see cref="WebSocketMessageChannel"/>, which adds the write serialization
/// and reassembly these helpers leave to the caller.
/// </summary>
public static class WebSocketPackets
{
    /// <summary>The most bytes requested from the socket per receive call.</summary>
    private const int ReceiveChunkSize = 16 * 1024;

    /// <summary>
    /// What the first receive of a packet asks for: every packet the official client sends fits (1 KiB chunks plus
    /// the prefix), so most connections never hold more; larger packets grow the buffer on the next receive.
    /// </summary>
    private const int FirstReceiveSize = 2 * 1024;

    /// <summary>
    /// Sends one logical message as a header packet followed by its data packets, each as a binary WebSocket
    /// message with EndOfMessage set.
    /// </summary>
    /// <remarks>
    /// Not safe for concurrent use on one socket: the caller must make sure no other message is sent on
    /// <paramref name="socket"/> until the returned task completes (a single writer loop), or the packets of
    /// different messages interleave and the peer's receiver breaks. Cancelling mid-message aborts the
    /// WebSocket (that is how <see cref="WebSocket"/> handles a cancelled send), since a half-sent message
    /// cannot be recovered.
    /// </remarks>
    /// <param name="socket">An open WebSocket.</param>
    /// <param name="id">The message id, at most <see cref="FrameEncoder.MaxMessageId"/>.</param>
    /// <param name="type">The message type.</param>
    /// <param name="data">The message data; it must not change until the task completes.</param>
    /// <param name="chunkSize">The largest chunk per data packet (the client uses 1024; servers may use more).</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    public static async ValueTask SendMessageAsync(
        WebSocket socket,
        ulong id,
        string type,
        ReadOnlyMemory<byte> data,
        int chunkSize,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        FrameEncoder.ValidateId(id);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkSize);
        var typeUtf8 = FrameEncoder.EncodeType(type);
        await SendCoreAsync(socket, id, typeUtf8, data, chunkSize, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Receives one WebSocket message (one packet) into <paramref name="destination"/>.
    /// </summary>
    /// <param name="socket">The WebSocket to read from. Only one receive may be pending at a time.</param>
    /// <param name="destination">Receives the packet bytes (appended to what it already holds).</param>
    /// <param name="maxPacketSize">The largest accepted packet; at most one byte more is read before rejecting.</param>
    /// <param name="cancellationToken">Cancels the receive (which aborts the WebSocket).</param>
    /// <returns>True when a packet was read; false when the peer sent a close frame instead.</returns>
    /// <exception cref="ProtocolException">
    /// A text message (<see cref="ProtocolErrorKind.UnsupportedFrame"/>) or a message over
    /// <paramref name="maxPacketSize"/> (<see cref="ProtocolErrorKind.LimitExceeded"/>). The rest of that
    /// WebSocket message is left unread, so the connection should be closed.
    /// </exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<bool> ReceivePacketAsync(
        WebSocket socket,
        IBufferWriter<byte> destination,
        int maxPacketSize,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPacketSize);

        long total = 0;
        while (true)
        {
            // Ask for at most one byte more than the limit allows, so an oversized message is caught early.
            int allowance = (int)Math.Min(maxPacketSize - total + 1, total == 0 ? FirstReceiveSize : ReceiveChunkSize);
            var memory = destination.GetMemory(allowance);
            if (memory.Length > allowance)
            {
                memory = memory[..allowance];
            }

            var result = await socket.ReceiveAsync(memory, cancellationToken).ConfigureAwait(false);
            switch (result.MessageType)
            {
                case WebSocketMessageType.Close:
                    return false;
                case WebSocketMessageType.Text:
                    throw new ProtocolException(
                        ProtocolErrorKind.UnsupportedFrame,
                        "Received a text WebSocket message; every packet must be a binary message.");
            }

            total += result.Count;
            if (total > maxPacketSize)
            {
                throw new ProtocolException(
                    ProtocolErrorKind.LimitExceeded,
                    $"Received a WebSocket message larger than the {maxPacketSize}-byte packet limit.");
            }

            destination.Advance(result.Count);
            if (result.EndOfMessage)
            {
                return true;
            }
        }
    }

    /// <summary>Sends the packets of one message; the caller has validated the arguments.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    internal static async ValueTask SendCoreAsync(
        WebSocket socket,
        ulong id,
        ReadOnlyMemory<byte> typeUtf8,
        ReadOnlyMemory<byte> data,
        int chunkSize,
        CancellationToken cancellationToken)
    {
        int count = FrameEncoder.GetDataPacketCount(data.Length, chunkSize);
        int bufferSize = Math.Max(
            FrameEncoder.HeaderPacketPrefixSize + typeUtf8.Length,
            FrameEncoder.DataPacketPrefixSize + Math.Min(chunkSize, data.Length));
        var buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
        try
        {
            int length = FrameEncoder.WriteHeaderPacket(buffer, id, typeUtf8.Span, count);
            await socket.SendAsync(buffer.AsMemory(0, length), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken)
                .ConfigureAwait(false);
            for (int index = 1; index <= count; index++)
            {
                length = FrameEncoder.WriteDataPacket(buffer, id, index, FrameEncoder.GetChunk(data.Span, index, chunkSize));
                await socket.SendAsync(buffer.AsMemory(0, length), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken)
                    .ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
