using System.Net.WebSockets;
using System.Runtime.CompilerServices;

namespace Keyroom.Protocol.Internal;

/// <summary>
/// Reads packets from a WebSocket into a pooled buffer and feeds them to a <see cref="MessageAssembler"/>.
/// One receive at a time. After any failure later receives throw. Disposal is safe while a receive is pending on another thread: the pooled memory is
/// released when that receive ends, never while it may still be written to.
/// </summary>
internal sealed class WebSocketMessageReader : IDisposable
{
    /// <summary>The packet buffer a connection keeps between messages; larger ones go back to the pool.</summary>
    private const int RetainedPacketBytes = 4 * 1024;

    private readonly WebSocket _socket;
    private readonly MessageAssembler _assembler;
    private readonly PooledBufferWriter _packet = new();
    private readonly int _maxPacketSize;
    private readonly Lock _gate = new();
    private bool _receiving;
    private bool _disposed;
    private bool _closeReceived;
    private Exception? _failure;

    public WebSocketMessageReader(WebSocket socket, MessageAssemblerOptions options)
    {
        _socket = socket;
        _assembler = new MessageAssembler(options);
        _maxPacketSize = options.MaxPacketSize;
    }

    /// <summary>Reads until one message is complete; null once the peer has sent a close frame.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ProtocolMessage?> ReceiveAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_receiving)
            {
                throw new InvalidOperationException("Another receive is already in progress; messages must be read by a single reader.");
            }

            _receiving = true;
        }

        try
        {
            if (_failure is not null)
            {
                throw new InvalidOperationException("An earlier receive failed; the connection can no longer be read.", _failure);
            }

            if (_closeReceived)
            {
                return null;
            }

            while (true)
            {
                _packet.Clear();
                if (!await WebSocketPackets.ReceivePacketAsync(_socket, _packet, _maxPacketSize, cancellationToken).ConfigureAwait(false))
                {
                    // A close in the middle of a message discards the partial message.
                    _closeReceived = true;
                    _assembler.Reset();
                    return null;
                }

                if (_assembler.Push(_packet.WrittenSpan, out var message))
                {
                    if (_packet.Capacity > RetainedPacketBytes)
                    {
                        // A large packet grew the buffer: give it back rather than keep it for the connection's life.
                        _packet.Release();
                    }

                    return message;
                }
            }
        }
        catch (Exception ex)
        {
            // After a framing error, a half-read WebSocket message or an aborted socket the stream cannot be
            // resynchronized; later reads report this failure instead of returning garbage.
            _failure = ex;
            throw;
        }
        finally
        {
            lock (_gate)
            {
                _receiving = false;
                if (_disposed)
                {
                    ReleaseBuffers();
                }
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (!_receiving)
            {
                ReleaseBuffers();
            }
        }
    }

    private void ReleaseBuffers()
    {
        _packet.Dispose();
        _assembler.Dispose();
    }
}
