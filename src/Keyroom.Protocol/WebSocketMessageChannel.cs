using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Keyroom.Protocol.Internal;

namespace Keyroom.Protocol;

/// <summary>
/// Owns a <see cref="WebSocket"/> carrying MeshAgent packets and gives it a message-level API: any number of
/// tasks may call <see cref="SendAsync"/> concurrently, and one reader receives reassembled messages.
/// </summary>
/// <remarks>
/// <para>
/// One message at a time is written, its packets back to back, so packets of different messages never
/// interleave on the wire (spec 2.4). When nothing is being written and nothing is queued, the caller of
/// <see cref="SendAsync"/> writes its message itself (no thread hop); otherwise the message goes through a
/// bounded queue to a writer task. Messages are written in the order their <see cref="SendAsync"/> calls
/// entered the queue (or, for a direct write, found it empty).
/// </para>
/// <para>
/// Given the <see cref="BatchingTransportStream"/> under the socket, each message (or each run of queued messages)
/// leaves the process in one write instead of one per packet.
/// </para>
/// <para>
/// Incoming packets are reassembled by a <see cref="MessageAssembler"/> with
/// <see cref="WebSocketMessageChannelOptions.Receive"/> limits. Only one receive may be pending at a time.
/// A <see cref="ProtocolException"/> from a receive means the peer broke the protocol; later receives throw,
/// and the owner should close the connection.
/// </para>
/// <para>
/// Shutdown: <see cref="CloseAsync"/> finishes sending what is queued and then sends a close frame; keep
/// receiving until <see cref="ReceiveAsync"/> returns null to see the peer's close. When the peer closes
/// first, <see cref="ReceiveAsync"/> returns null and <see cref="CloseAsync"/> completes the handshake.
/// <see cref="DisposeAsync"/> is abrupt: it cancels pending sends and disposes the socket.
/// </para>
/// </remarks>
public sealed class WebSocketMessageChannel : IAsyncDisposable
{
    private readonly WebSocket _socket;
    private readonly int _chunkSize;
    private readonly Channel<OutgoingMessage> _outgoing;
    private readonly WebSocketMessageReader _reader;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly Task _writer;
    private readonly BatchingTransportStream? _transport;

    // Held by whoever writes messages: a direct sender or the writer task. Never disposed: a late waiter must
    // not fail with ObjectDisposedException instead of the channel's own error.
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private volatile Exception? _sendFailure;
    private volatile bool _closing;
    private int _disposed;

    /// <summary>Takes ownership of <paramref name="socket"/> and starts the writer task.</summary>
    /// <param name="socket">An open WebSocket. Nothing else may send on or receive from it afterwards.</param>
    /// <param name="options">Settings, or null for <see cref="WebSocketMessageChannelOptions.Default"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is not usable.</exception>
    public WebSocketMessageChannel(WebSocket socket, WebSocketMessageChannelOptions? options = null)
        : this(socket, options, transport: null)
    {
    }

    /// <summary>
    /// Takes ownership of <paramref name="socket"/>, whose transport is <paramref name="transport"/>, and starts the
    /// writer task. The packets of each message are then written to the transport in one write.
    /// </summary>
    /// <param name="socket">An open WebSocket created over <paramref name="transport"/>.</param>
    /// <param name="options">Settings, or null for <see cref="WebSocketMessageChannelOptions.Default"/>.</param>
    /// <param name="transport">The batching stream under <paramref name="socket"/>, or null.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is not usable.</exception>
    public WebSocketMessageChannel(WebSocket socket, WebSocketMessageChannelOptions? options, BatchingTransportStream? transport)
    {
        ArgumentNullException.ThrowIfNull(socket);
        options ??= WebSocketMessageChannelOptions.Default;
        options.Validate();
        _socket = socket;
        _chunkSize = options.SendChunkSize;
        _outgoing = Channel.CreateBounded<OutgoingMessage>(new BoundedChannelOptions(options.SendQueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
        _reader = new WebSocketMessageReader(socket, options.Receive);
        _transport = transport;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>The socket's state.</summary>
    public WebSocketState State => _socket.State;

    /// <summary>The close status the peer sent, once a close frame has been received.</summary>
    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    /// <summary>The close description the peer sent, once a close frame has been received.</summary>
    public string? CloseStatusDescription => _socket.CloseStatusDescription;

    /// <summary>
    /// Queues a message and completes once all of its packets have been handed to the socket. Safe to call from
    /// many tasks at once.
    /// </summary>
    /// <param name="id">The message id, at most <see cref="FrameEncoder.MaxMessageId"/>.</param>
    /// <param name="type">The message type.</param>
    /// <param name="data">The data. It is read by the writer task and must not change until the call completes.</param>
    /// <param name="cancellationToken">
    /// Cancels the send only while the message is still queued; a message whose first packet has gone out is
    /// always finished (a half-sent message would corrupt the stream), and the call then completes normally.
    /// </param>
    /// <exception cref="ArgumentException">The type is not valid UTF-16.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The id exceeds <see cref="FrameEncoder.MaxMessageId"/>.</exception>
    /// <exception cref="OperationCanceledException">Cancelled before the message started to go out.</exception>
    /// <exception cref="InvalidOperationException">The channel has been closed for sending.</exception>
    /// <exception cref="WebSocketException">The socket failed; no further message can be sent.</exception>
    /// <exception cref="ObjectDisposedException">The channel has been disposed.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendAsync(ulong id, string type, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        FrameEncoder.ValidateId(id);
        var typeUtf8 = FrameEncoder.EncodeTypeShared(type);
        cancellationToken.ThrowIfCancellationRequested();

        // Direct write: nobody is writing and nothing is queued, so writing now keeps the order and saves the hop
        // to the writer task (and its wake-up) on every request of a request/response exchange.
        if (_outgoing.Reader.Count == 0 && _sendLock.Wait(0, CancellationToken.None))
        {
            if (_outgoing.Reader.Count == 0)
            {
                await SendDirectAsync(id, typeUtf8, data).ConfigureAwait(false);
                return;
            }

            // Something was queued meanwhile: it goes first, through the writer task.
            _sendLock.Release();
        }

        var message = new OutgoingMessage(id, typeUtf8, data);
        try
        {
            await _outgoing.Writer.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw CreateClosedException();
        }

        if (cancellationToken.CanBeCanceled)
        {
            using var registration = cancellationToken.UnsafeRegister(
                static (state, token) => ((OutgoingMessage)state!).TryCancel(token),
                message);
            await message.Task.ConfigureAwait(false);
        }
        else
        {
            await message.Task.ConfigureAwait(false);
        }
    }

    /// <summary>Writes one message while holding the send lock, and releases it.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendDirectAsync(ulong id, byte[] typeUtf8, ReadOnlyMemory<byte> data)
    {
        try
        {
            if (_closing || _sendFailure is not null || _disposed != 0)
            {
                throw CreateClosedException();
            }

            try
            {
                await SendOneAsync(id, typeUtf8, data).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                OnSendFailed(ex);
                throw;
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Writes one message's packets (in one transport write when batching); the caller holds the send lock.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendOneAsync(ulong id, byte[] typeUtf8, ReadOnlyMemory<byte> data)
    {
        _transport?.BeginBatch();
        await WriteFramesAsync(id, typeUtf8, data).ConfigureAwait(false);
        if (_transport is not null)
        {
            await _transport.EndBatchAsync(_lifetime.Token).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Writes one message's packets: straight into the transport as WebSocket frames when it carries the plain
    /// WebSocket stream (<see cref="BatchingTransportStream.Framing"/>), else through the WebSocket. A socket that
    /// is no longer open for sending goes through the WebSocket too, which reports that state as it always does.
    /// </summary>
    private ValueTask WriteFramesAsync(ulong id, byte[] typeUtf8, ReadOnlyMemory<byte> data) =>
        _transport is { Framing: not TransportFraming.Opaque } transport && _socket.State is WebSocketState.Open or WebSocketState.CloseReceived
            ? transport.WriteMessageFramesAsync(id, typeUtf8, data, _chunkSize, _lifetime.Token)
            : WebSocketPackets.SendCoreAsync(_socket, id, typeUtf8, data, _chunkSize, FrameToken);

    /// <summary>
    /// The token for writing frames. Over a batching transport a frame is a copy into the batch (the batch's own
    /// write takes the lifetime token), and WebSocket writes with a token that cannot be cancelled take its
    /// allocation-free path; a frame too large for the batch still fails when disposal aborts the socket.
    /// </summary>
    private CancellationToken FrameToken => _transport is null ? _lifetime.Token : CancellationToken.None;

    /// <summary>Nothing more can be sent: fail what is queued and make the reader side notice too.</summary>
    private void OnSendFailed(Exception ex)
    {
        _sendFailure ??= ex;
        _outgoing.Writer.TryComplete();
        if (ex is not OperationCanceledException)
        {
            _socket.Abort();
        }
    }

    /// <summary>Receives the next complete message, or null once the peer has closed the WebSocket.</summary>
    /// <exception cref="ProtocolException">The peer broke the framing or a limit.</exception>
    /// <exception cref="InvalidOperationException">Another receive is pending, or an earlier receive failed.</exception>
    /// <exception cref="WebSocketException">The connection failed.</exception>
    public ValueTask<ProtocolMessage?> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return _reader.ReceiveAsync(cancellationToken);
    }

    /// <summary>Receives messages until the peer closes the WebSocket.</summary>
    /// <exception cref="ProtocolException">The peer broke the framing or a limit.</exception>
    /// <exception cref="WebSocketException">The connection failed.</exception>
    public async IAsyncEnumerable<ProtocolMessage> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await ReceiveAsync(cancellationToken).ConfigureAwait(false) is { } message)
        {
            yield return message;
        }
    }

    /// <summary>
    /// Stops accepting new messages, waits until the queued ones are sent, then sends a close frame (unless the
    /// socket has already closed or failed). Later <see cref="SendAsync"/> calls throw
    /// <see cref="InvalidOperationException"/>.
    /// </summary>
    /// <param name="closeStatus">The close status; use <see cref="WebSocketCloseStatus.NormalClosure"/> (1000) for a
    /// normal end, since the official client reconnects after any other code.</param>
    /// <param name="statusDescription">An optional reason (at most 123 UTF-8 bytes).</param>
    /// <param name="cancellationToken">Stops waiting; cancelling the close frame itself aborts the socket.</param>
    public async Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        _closing = true;
        _outgoing.Writer.TryComplete();
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);

        // A direct send that started before the close still owns the socket's output: let it finish first.
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_sendFailure is null && _socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await _socket.CloseOutputAsync(closeStatus, statusDescription, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>
    /// Cancels queued and in-progress sends, disposes the socket and returns pooled memory. Pending calls fail.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _outgoing.Writer.TryComplete();
        await _lifetime.CancelAsync().ConfigureAwait(false);
        _transport?.AbortWrites();
        await _writer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _socket.Dispose();
        _reader.Dispose();
        _lifetime.Dispose();
    }

    private async Task WriteLoopAsync()
    {
        var reader = _outgoing.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_lifetime.Token).ConfigureAwait(false))
            {
                await _sendLock.WaitAsync(_lifetime.Token).ConfigureAwait(false);
                try
                {
                    if (_sendFailure is { } failure)
                    {
                        throw failure;
                    }

                    // Everything queued now goes out as one batch. The batch is written as soon as the queue is empty,
                    // before the last message is reported sent; the write after the loop covers a run that ended on a
                    // message cancelled while queued.
                    _transport?.BeginBatch();
                    while (reader.TryRead(out var message))
                    {
                        if (!message.TryStart())
                        {
                            continue;
                        }

                        try
                        {
                            await WriteFramesAsync(message.Id, message.TypeUtf8, message.Data).ConfigureAwait(false);
                            if (_transport is not null && reader.Count == 0)
                            {
                                await _transport.EndBatchAsync(_lifetime.Token).ConfigureAwait(false);
                            }
                        }
                        catch (Exception ex)
                        {
                            message.Fail(ex);
                            throw;
                        }

                        message.Complete();
                    }

                    if (_transport is not null)
                    {
                        await _transport.EndBatchAsync(_lifetime.Token).ConfigureAwait(false);
                    }
                }
                finally
                {
                    _sendLock.Release();
                }
            }
        }
        catch (Exception ex)
        {
            // The socket failed or the channel is being disposed. Either way nothing more can be sent; make
            // sure the reader side notices too rather than waiting on a connection nobody can answer.
            OnSendFailed(ex);
        }
        finally
        {
            while (reader.TryRead(out var message))
            {
                if (message.TryStart())
                {
                    message.Fail(CreateClosedException());
                }
            }
        }
    }

    private Exception CreateClosedException()
    {
        if (_disposed != 0)
        {
            return new ObjectDisposedException(GetType().FullName);
        }

        return _sendFailure is { } failure and not OperationCanceledException
            ? new WebSocketException(
                WebSocketError.InvalidState,
                "The connection failed while sending; no further messages can be sent.",
                failure)
            : new InvalidOperationException("The channel has been closed for sending.");
    }

    /// <summary>A queued message and the completion its sender awaits.</summary>
    private sealed class OutgoingMessage(ulong id, byte[] typeUtf8, ReadOnlyMemory<byte> data)
        : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        private const int Queued = 0;
        private const int Started = 1;
        private const int Cancelled = 2;

        private int _state;

        public ulong Id { get; } = id;

        public byte[] TypeUtf8 { get; } = typeUtf8;

        public ReadOnlyMemory<byte> Data { get; } = data;

        /// <summary>Claims the message for sending; false when its sender already cancelled it.</summary>
        public bool TryStart() => Interlocked.CompareExchange(ref _state, Started, Queued) == Queued;

        /// <summary>Cancels the message if the writer has not started it.</summary>
        public void TryCancel(CancellationToken token)
        {
            if (Interlocked.CompareExchange(ref _state, Cancelled, Queued) == Queued)
            {
                TrySetCanceled(token);
            }
        }

        public void Complete() => TrySetResult();

        public void Fail(Exception exception)
        {
            if (exception is OperationCanceledException canceled)
            {
                TrySetCanceled(canceled.CancellationToken);
            }
            else
            {
                TrySetException(exception);
            }
        }
    }
}
