using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keyroom.Protocol;

namespace Keyroom.Client.Rooms;

/// <summary>
/// One WebSocket connection to a room: the handshake, the message id counter (from 0), the pending requests and the
/// receive loop. Messages that are neither replies nor handshake messages go to the owner. A session never reconnects;
/// <see cref="RoomClient"/> replaces it.
/// </summary>
internal sealed class RoomSession : IAsyncDisposable
{
    private readonly WebSocketMessageChannel _channel;
    private readonly Action<RoomSession, ProtocolMessage> _onMessage;
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<Content>> _pending = new();
    private readonly TaskCompletionSource<RoomHandshake> _handshake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<RoomDisconnectedEventArgs> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _receiveStop = new();
    private readonly Lock _handshakeLock = new();
    private long _nextId = -1;
    private volatile bool _closed;
    private volatile bool _closingLocally;
    private volatile bool _endedLocally;
    private volatile RoomDisconnectedEventArgs? _end;
    private Task? _receiveLoop;
    private int _disposed;

    // Handshake parts, guarded by _handshakeLock until _handshake completes.
    private bool _roomReady;
    private string? _roomName;
    private string? _roomUrl;
    private string? _sessionId;
    private string? _participantId;
    private JsonObject? _attributes;

    private RoomSession(WebSocketMessageChannel channel, Action<RoomSession, ProtocolMessage> onMessage)
    {
        _channel = channel;
        _onMessage = onMessage;
    }

    /// <summary>Completes when the connection has ended, with why it ended. Never faults.</summary>
    public Task<RoomDisconnectedEventArgs> Ended => _ended.Task;

    /// <summary>The handshake data; only valid once <see cref="OpenAsync"/> has returned.</summary>
    public RoomHandshake Handshake => _handshake.Task.Result;

    /// <summary>Opens a WebSocket, starts receiving and waits for <c>room_ready</c> and <c>connected</c>.</summary>
    /// <exception cref="RoomConnectionException">The connection or handshake failed or timed out.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<RoomSession> OpenAsync(
        Uri url,
        RoomClientOptions options,
        Action<RoomSession, ProtocolMessage> onMessage,
        CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        options.ConfigureWebSocket?.Invoke(socket.Options);
        using var timeout = options.HandshakeTimeout == Timeout.InfiniteTimeSpan
            ? new CancellationTokenSource()
            : new CancellationTokenSource(options.HandshakeTimeout, options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        BatchingTransportStream? transport = null;
        try
        {
            if (options.ConfigureWebSocket is null)
            {
                // Our own connection handler, so each message's packets leave in one write.
                transport = await BatchingClientWebSocket.ConnectAsync(socket, url, linked.Token).ConfigureAwait(false);
            }
            else
            {
                // The caller may have set a proxy, credentials or certificates, which ClientWebSocket only
                // honours with its own handler.
                await socket.ConnectAsync(url, linked.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or HttpRequestException or OperationCanceledException)
        {
            var status = socket.HttpStatusCode;
            socket.Dispose();
            cancellationToken.ThrowIfCancellationRequested();
            if (timeout.IsCancellationRequested)
            {
                throw new RoomConnectionException(
                    $"the room connection was not established within {options.HandshakeTimeout}", null, null, null, isPermanent: false, ex);
            }

            var refused = status is HttpStatusCode.Forbidden or HttpStatusCode.NotFound or HttpStatusCode.Unauthorized;
            var message = status is 0 or HttpStatusCode.SwitchingProtocols
                ? "could not open the room connection: " + ex.Message
                : $"the server refused the room connection with HTTP {(int)status} ({StatusText(status)})";
            throw new RoomConnectionException(message, null, null, status is 0 ? null : status, refused, ex);
        }

        var session = new RoomSession(new WebSocketMessageChannel(socket, options.Channel ?? RoomClientOptions.DefaultChannel, transport), onMessage);
        session._receiveLoop = Task.Run(session.ReceiveLoopAsync, CancellationToken.None);
        try
        {
            await session._handshake.Task.WaitAsync(linked.Token).ConfigureAwait(false);
            return session;
        }
        catch (OperationCanceledException ex)
        {
            await session.DisposeAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            throw new RoomConnectionException(
                $"the room did not complete the handshake (room_ready and connected) within {options.HandshakeTimeout}",
                null, null, null, isPermanent: false, ex);
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Sends a one-way message (no reply is awaited).</summary>
    public async Task SendAsync(string type, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        var id = NextId();
        try
        {
            await _channel.SendAsync(id, type, data, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or InvalidOperationException or ObjectDisposedException)
        {
            throw LostException(ex);
        }
    }

    /// <summary>Sends a request and waits for the <c>__response__</c> with the same id.</summary>
    /// <exception cref="RoomServerException">The reply is an error content or not a valid content.</exception>
    /// <exception cref="RoomConnectionException">The connection ended before the reply.</exception>
    public async Task<Content> RequestAsync(string type, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        var id = NextId();
        var pending = new TaskCompletionSource<Content>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = pending;
        if (_closed)
        {
            // The receive loop may have swept the map before this entry was added.
            _pending.TryRemove(id, out _);
            ThrowIfClosed();
        }

        try
        {
            try
            {
                await _channel.SendAsync(id, type, data, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebSocketException or InvalidOperationException or ObjectDisposedException)
            {
                throw LostException(ex);
            }

            return await pending.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>Closes the connection with 1000 (the server then ends this participant) and waits briefly for the close.</summary>
    public async Task CloseAsync(TimeSpan wait)
    {
        _closingLocally = true;
        try
        {
            using var timeout = new CancellationTokenSource(wait);
            await _channel.CloseAsync(WebSocketCloseStatus.NormalClosure, "client closed", timeout.Token).ConfigureAwait(false);
            await _ended.Task.WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or InvalidOperationException or ObjectDisposedException)
        {
            // Best effort: the socket is torn down by DisposeAsync.
        }
    }

    /// <summary>Aborts the connection (tests use it to simulate a dropped socket).</summary>
    internal void Abort() => _receiveStop.Cancel();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_ended.Task.IsCompleted && _receiveLoop is not null)
        {
            // The connection has ended: let the receive loop finish answering the server's close (bounded).
            await _receiveLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _closingLocally = true;
        await _receiveStop.CancelAsync().ConfigureAwait(false);
        await _channel.DisposeAsync().ConfigureAwait(false);
        if (_receiveLoop is not null)
        {
            await _receiveLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _receiveStop.Dispose();
    }

    private ulong NextId() => (ulong)Interlocked.Increment(ref _nextId);

    private void ThrowIfClosed()
    {
        if (_closed)
        {
            throw LostException(null);
        }
    }

    private RoomConnectionException LostException(Exception? cause)
    {
        var end = _end;
        if (end is not null)
        {
            if (_endedLocally)
            {
                return new RoomConnectionException("the room client was closed before the request completed", end.CloseStatus, end.CloseDescription, null, isPermanent: true, cause);
            }

            if (end.CloseStatus == WebSocketCloseStatus.NormalClosure)
            {
                return new RoomConnectionException(
                    "the server closed the room (1000" + (string.IsNullOrEmpty(end.CloseDescription) ? ")" : ": " + end.CloseDescription + ")")
                    + " before the request completed",
                    end.CloseStatus, end.CloseDescription, null, isPermanent: true, cause ?? end.Exception);
            }

            return new RoomConnectionException(
                "the room connection was lost (" + end + ") before the request completed; requests are not replayed after a reconnect",
                end.CloseStatus, end.CloseDescription, null, isPermanent: false, cause ?? end.Exception);
        }

        return _closingLocally
            ? new RoomConnectionException("the room client was closed before the request completed", null, null, null, isPermanent: true, cause)
            : new RoomConnectionException("the room connection was lost before the request completed; requests are not replayed after a reconnect", null, null, null, isPermanent: false, cause);
    }

    private async Task ReceiveLoopAsync()
    {
        RoomDisconnectedEventArgs end;
        try
        {
            while (true)
            {
                var message = await _channel.ReceiveAsync(_receiveStop.Token).ConfigureAwait(false);
                if (message is null)
                {
                    end = new RoomDisconnectedEventArgs(_channel.CloseStatus, _channel.CloseStatusDescription, null);
                    break;
                }

                Handle(message);
            }
        }
        catch (OperationCanceledException) when (_receiveStop.IsCancellationRequested)
        {
            end = new RoomDisconnectedEventArgs(null, null, _closingLocally ? null : new WebSocketException(WebSocketError.ConnectionClosedPrematurely, "the connection was aborted"));
        }
        catch (Exception ex) when (ex is WebSocketException or ProtocolException or InvalidOperationException or IOException or ObjectDisposedException)
        {
            end = new RoomDisconnectedEventArgs(null, null, ex);
        }

        // Snapshot why the connection ended before anyone reacts to it (the owner disposes ended sessions).
        _endedLocally = _closingLocally;
        _end = end;
        _closed = true;
        var failure = LostException(null);
        _handshake.TrySetException(HandshakeFailure(end));
        foreach (var id in _pending.Keys)
        {
            if (_pending.TryRemove(id, out var pending))
            {
                pending.TrySetException(failure);
            }
        }

        _ended.TrySetResult(end);
        if (end.CloseStatus is not null && !_closingLocally)
        {
            // The server closed first: answer its close frame.
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _channel.CloseAsync(end.CloseStatus.Value, null, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or InvalidOperationException or ObjectDisposedException)
            {
                // The socket is gone already.
            }
        }
        else if (end.Exception is ProtocolException)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _channel.CloseAsync(WebSocketCloseStatus.ProtocolError, "protocol error", timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or InvalidOperationException or ObjectDisposedException)
            {
                // Best effort.
            }
        }
    }

    private static RoomConnectionException HandshakeFailure(RoomDisconnectedEventArgs end)
    {
        if (end.CloseStatus == WebSocketCloseStatus.NormalClosure)
        {
            return new RoomConnectionException(
                "the server closed the room connection before the room became ready" + (string.IsNullOrEmpty(end.CloseDescription) ? string.Empty : ": " + end.CloseDescription),
                end.CloseStatus, end.CloseDescription, null, isPermanent: true, end.Exception);
        }

        return new RoomConnectionException(
            "the room connection ended before the room became ready (" + end + ")",
            end.CloseStatus, end.CloseDescription, null, isPermanent: false, end.Exception);
    }

    private void Handle(ProtocolMessage message)
    {
        switch (message.Type)
        {
            case MessageTypes.Response:
                HandleResponse(message);
                return;
            case MessageTypes.RoomReady when !_handshake.Task.IsCompleted:
                HandleRoomReady(message);
                return;
            case MessageTypes.Connected when !_handshake.Task.IsCompleted:
                HandleConnected(message);
                return;
            default:
                _onMessage(this, message);
                return;
        }
    }

    private void HandleResponse(ProtocolMessage message)
    {
        if (!_pending.TryRemove(message.Id, out var pending))
        {
            // A reply to a one-way call, a cancelled or timed-out request: ignored.
            return;
        }

        Content content;
        try
        {
            content = Content.Decode(message.Data);
        }
        catch (ProtocolException ex)
        {
            pending.TrySetException(new RoomServerException("the server sent a reply that is not a valid content: " + ex.Message, ErrorCodes.UnexpectedResponseType));
            return;
        }

        if (content is ErrorContent error)
        {
            pending.TrySetException(new RoomServerException(error.Text, error.Code));
        }
        else
        {
            pending.TrySetResult(content);
        }
    }

    private void HandleRoomReady(ProtocolMessage message)
    {
        if (!TryDecode(message, out var header))
        {
            return;
        }

        lock (_handshakeLock)
        {
            _roomReady = true;
            _roomName = OptionalString(header, "room_name");
            _roomUrl = OptionalString(header, "room_url");
            _sessionId = OptionalString(header, "session_id");
            TryCompleteHandshake();
        }
    }

    private void HandleConnected(ProtocolMessage message)
    {
        if (!TryDecode(message, out var header)
            || OptionalString(header, "type") != "init"
            || OptionalString(header, "participantId") is not { } participantId
            || header["attributes"] is not JsonObject attributes)
        {
            // The official client ignores other "connected" messages too.
            return;
        }

        lock (_handshakeLock)
        {
            _participantId = participantId;
            _attributes = (JsonObject)attributes.DeepClone();
            TryCompleteHandshake();
        }
    }

    private void TryCompleteHandshake()
    {
        if (_roomReady && _participantId is not null && _attributes is not null)
        {
            _handshake.TrySetResult(new RoomHandshake(_participantId, _attributes, _roomName, _roomUrl, _sessionId));
        }
    }

    internal static bool TryDecode(ProtocolMessage message, out JsonObject header)
    {
        try
        {
            header = PackedMessage.Decode(message.Data).Header;
            return true;
        }
        catch (ProtocolException)
        {
            header = null!;
            return false;
        }
    }

    internal static string? OptionalString(JsonObject header, string name) =>
        header[name] is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    private static string StatusText(HttpStatusCode status) => status switch
    {
        HttpStatusCode.Forbidden => "forbidden: the token is not valid for this room",
        HttpStatusCode.NotFound => "not found: no such room",
        HttpStatusCode.Unauthorized => "unauthorized",
        _ => status.ToString(),
    };
}
