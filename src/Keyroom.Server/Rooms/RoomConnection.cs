using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Keyroom.Core;
using Keyroom.Core.Auth;
using Keyroom.Protocol;
using Keyroom.Server.Rooms.Toolkits;

namespace Keyroom.Server.Rooms;

/// <summary>
/// One participant's WebSocket: the handshake, a read loop that reassembles messages, concurrent tool calls
/// answered as each finishes, and the close. All writes go through one <see cref="WebSocketMessageChannel"/>
/// (a single writer), so logical messages never interleave.
/// </summary>
/// <remarks>
/// Close codes: 1000 when the peer closes (we answer its close); 1002 (framing violation: bad packet,
/// interleaving, text frame) or 1009 (a message over the size limits) when the peer breaks the protocol;
/// 1001 when the server shuts down. The official client reconnects after any non-1000 close, which is wanted
/// here: requests in flight are failed, not replayed, so the offending message is not sent again and the
/// connection recovers instead of the room dying with no reason shown; its back-off (0.5 s doubling to 30 s)
/// bounds the cost of a peer that keeps misbehaving.
/// </remarks>
internal sealed class RoomConnection : IAsyncDisposable
{
    /// <summary>Server-initiated message ids start here (the client numbers its own from 0; spec 2.4).</summary>
    public const ulong FirstServerMessageId = 1_000_000;

    private const int MaxAttributesBytes = 64 * 1024;
    private const int MaxLoggedTypeLength = 64;

    private readonly WebSocket _socket;
    private readonly WebSocketMessageChannel _channel;
    private readonly RoomOptions _options;
    private readonly RoomToolkits _toolkits;
    private readonly RoomMetrics _metrics;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly CancellationTokenSource _closeDeadline = new();
    private readonly ConcurrentDictionary<Task, byte> _calls = new();
    private long _lastServerMessageId = (long)FirstServerMessageId - 1;
    private int _inFlight;
    private int _closeRequested;
    private readonly TaskCompletionSource _closeDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private LiveRoom? _room;

    public RoomConnection(
        WebSocket socket, BatchingTransportStream? transport, Principal principal, RoomOptions options, RoomToolkits toolkits, RoomMetrics metrics, ILogger logger)
    {
        _socket = socket;
        _channel = new WebSocketMessageChannel(socket, options.ToChannelOptions(), transport);
        _options = options;
        _toolkits = toolkits;
        _metrics = metrics;
        _logger = logger;
        Principal = principal;
        Role = principal.Token?.Role ?? "user";
        Attributes = new JsonObject { ["name"] = principal.Identity };
    }

    /// <summary>This connection's participant id (new for every connection, also on reconnect).</summary>
    public string ParticipantId { get; } = Guid.NewGuid().ToString("D");

    /// <summary>The <c>session_id</c> of <c>room_ready</c>.</summary>
    public string SessionId { get; } = Guid.NewGuid().ToString("D");

    public Principal Principal { get; }

    /// <summary>The token's role ("user" unless a role grant says otherwise).</summary>
    public string Role { get; }

    /// <summary>The room, once joined.</summary>
    public LiveRoom Room => _room ?? throw new InvalidOperationException("the connection has not joined its room");

    /// <summary>The participant's attributes (guarded by the room's gate).</summary>
    internal JsonObject Attributes { get; }

    /// <summary>Whether it receives presence (guarded by the room's gate).</summary>
    internal bool MessagingEnabled { get; set; }

    /// <summary>Set once it left the room's pending table (guarded by that table's gate).</summary>
    internal bool LeftPendingTable { get; set; }

    /// <summary>Tool calls currently running.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>The next id for a server-initiated message on this connection.</summary>
    public ulong NextServerMessageId() => (ulong)Interlocked.Increment(ref _lastServerMessageId);

    /// <summary>
    /// Queues a server-initiated message (not awaited by the caller). The message enters the connection's single
    /// writer queue before this returns, so calls made in order are sent in order. Failures (the peer is gone) are
    /// only logged at debug level.
    /// </summary>
    public void Post(string type, ReadOnlyMemory<byte> data) => _ = PostAsync(NextServerMessageId(), type, data);

    /// <summary>Runs the connection: join, handshake, read loop, cleanup. Completes when the socket is closed.</summary>
    /// <remarks>
    /// A token with <c>exp</c> is checked when the connection is admitted and again when it expires: the
    /// connection is then closed with 1000 ("token expired"), which the official client treats as final (a
    /// reconnect with the same token would be refused anyway).
    /// </remarks>
    public async Task RunAsync(RoomHub hub, string projectId, string roomName, string roomUrl, TimeProvider time, CancellationToken stopping)
    {
        hub.Open(this);

        // Joined before the handshake goes out, so that the participant id is resolvable as soon as the client
        // (or anyone it tells) can know it. Nothing is sent to it before the handshake: presence needs
        // messaging.enable, and requests need the id.
        _room = hub.Join(this, projectId, roomName);
        using var onStopping = stopping.Register(static state => ((RoomConnection)state!).RequestClose(WebSocketCloseStatus.EndpointUnavailable, "server shutting down"), this);
        try
        {
            if (await SendHandshakeAsync(roomName, roomUrl, stopping))
            {
                RoomsLog.Joined(_logger, roomName, ParticipantId, Role);
                using var expiry = ScheduleTokenExpiry(time);
                await ReadLoopAsync();
            }
        }
        finally
        {
            hub.Leave(this, _room);
            await _lifetime.CancelAsync();
            await DrainCallsAsync();
            await FinishCloseAsync();
            hub.Closed(this);
            RoomsLog.Left(_logger, roomName, ParticipantId, _socket.CloseStatus?.ToString() ?? "none");
        }
    }

    /// <summary>Starts a clean close (once): queued messages are sent, then the close frame; the peer's close is awaited up to the close timeout.</summary>
    public void RequestClose(WebSocketCloseStatus status, string reason)
    {
        if (Interlocked.Exchange(ref _closeRequested, 1) != 0)
        {
            return;
        }

        try
        {
            _closeDeadline.CancelAfter(TimeSpan.FromSeconds(_options.CloseTimeoutSeconds));
        }
        catch (ObjectDisposedException)
        {
            _closeDone.TrySetResult();
            return;
        }

        _ = CloseCoreAsync(status, reason);
    }

    /// <summary>Disposes the socket and the channel (abruptly if still open) and the connection's timers.</summary>
    public async ValueTask DisposeAsync()
    {
        await _channel.DisposeAsync();
        _lifetime.Dispose();
        _closeDeadline.Dispose();
    }

    private async Task CloseCoreAsync(WebSocketCloseStatus status, string reason)
    {
        try
        {
            await _channel.CloseAsync(status, reason, _closeDeadline.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            RoomsLog.PeerGone(_logger, ParticipantId, ex.GetType().Name);
        }
        finally
        {
            _closeDone.TrySetResult();
        }
    }

    /// <summary>A timer that closes the connection when the token expires; null for a token without <c>exp</c>.</summary>
    private ITimer? ScheduleTokenExpiry(TimeProvider time)
    {
        if (Principal.Token?.ExpiresAt is not { } expiresAt)
        {
            return null;
        }

        // Timers take at most about 49 days; a later expiry is reached in steps.
        var step = TimeSpan.FromDays(30);
        ITimer? timer = null;
        void CloseOrWait()
        {
            var left = expiresAt - time.GetUtcNow();
            if (left > TimeSpan.Zero)
            {
                timer?.Change(left < step ? left : step, Timeout.InfiniteTimeSpan);
                return;
            }

            RoomsLog.TokenExpired(_logger, ParticipantId);
            RequestClose(WebSocketCloseStatus.NormalClosure, "token expired");
        }

        timer = time.CreateTimer(_ => CloseOrWait(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        CloseOrWait();
        return timer;
    }

    /// <summary>room_ready, then connected/init (spec 2.2); false when the peer is already gone.</summary>
    private async Task<bool> SendHandshakeAsync(string roomName, string roomUrl, CancellationToken stopping)
    {
        try
        {
            await _channel.SendAsync(NextServerMessageId(), MessageTypes.RoomReady, Packed(new JsonObject
            {
                ["room_name"] = roomName,
                ["room_url"] = roomUrl,
                ["session_id"] = SessionId,
            }), stopping);
            await _channel.SendAsync(NextServerMessageId(), MessageTypes.Connected, Packed(new JsonObject
            {
                ["type"] = "init",
                ["participantId"] = ParticipantId,
                ["attributes"] = Attributes.DeepClone(),
            }), stopping);
            return true;
        }
        catch (Exception ex) when (ex is WebSocketException or InvalidOperationException or OperationCanceledException or ObjectDisposedException)
        {
            RoomsLog.PeerGone(_logger, ParticipantId, ex.GetType().Name);
            return false;
        }
    }

    private async Task ReadLoopAsync()
    {
        while (true)
        {
            ProtocolMessage? message;
            try
            {
                message = await _channel.ReceiveAsync(_closeDeadline.Token);
            }
            catch (ProtocolException ex)
            {
                await OnProtocolViolationAsync(ex);
                return;
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or InvalidOperationException or IOException or ObjectDisposedException)
            {
                // The peer vanished without a close handshake (or did not answer ours in time).
                RoomsLog.PeerGone(_logger, ParticipantId, ex.GetType().Name);
                return;
            }

            if (message is null)
            {
                // The peer closed: answer with 1000 (after anything still queued).
                RequestClose(WebSocketCloseStatus.NormalClosure, string.Empty);
                return;
            }

            if (Volatile.Read(ref _closeRequested) != 0)
            {
                // Closing: messages that cross our close frame are not served.
                continue;
            }

            Dispatch(message);
        }
    }

    private void Dispatch(ProtocolMessage message)
    {
        switch (message.Type)
        {
            case MessageTypes.InvokeTool:
                StartCall(message);
                break;
            case MessageTypes.SetAttributes:
                SetAttributes(message);
                break;
            default:
                RoomsLog.UnknownMessageType(_logger, ParticipantId, message.Type.Length <= MaxLoggedTypeLength ? message.Type : message.Type[..MaxLoggedTypeLength] + "…");
                break;
        }
    }

    private void StartCall(ProtocolMessage message)
    {
        if (Interlocked.Increment(ref _inFlight) > _options.MaxPendingRequestsPerConnection)
        {
            Interlocked.Decrement(ref _inFlight);
            RoomsLog.TooManyPending(_logger, ParticipantId, _options.MaxPendingRequestsPerConnection);
            _ = PostAsync(message.Id, MessageTypes.Response, new ErrorContent("too many pending requests", ErrorCodes.InvalidState).Encode());
            _metrics.ToolCall("unknown", "unknown", ErrorCodes.InvalidState, TimeSpan.Zero);
            return;
        }

        // Started here, on the read loop: a call runs synchronously until its first real wait and then gives the
        // loop back, and tools that could block before that (durable writes, OAuth) hop to the thread pool first
        // (CallAsync). A slow call (a secret request waiting minutes) never holds up the next message.
        var call = CallAsync(message);
        if (!call.IsCompleted)
        {
            _calls.TryAdd(call, 0);
            _ = call.ContinueWith(static (task, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(task, out _), _calls, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task CallAsync(ProtocolMessage message)
    {
        var started = Stopwatch.GetTimestamp();
        string toolkitName = "unknown", toolName = "unknown";
        RoomToolCall? call = null;
        Content reply;
        try
        {
            var request = InvokeToolRequest.Decode(message.Data);
            if (!_toolkits.TryGet(request.Toolkit, out var toolkit))
            {
                throw KeyroomException.Invalid($"unknown toolkit '{Shorten(request.Toolkit)}'");
            }

            toolkitName = toolkit.Name;
            if (!toolkit.HasTool(request.Tool))
            {
                throw KeyroomException.Invalid($"unknown tool '{Shorten(request.Tool)}' in toolkit '{toolkit.Name}'");
            }

            toolName = request.Tool;
            if (request.ParticipantId is not null)
            {
                throw new KeyroomException(KeyroomError.NotFound, $"toolkit '{toolkit.Name}' is built into the server; calls routed to a participant are not supported");
            }

            if (!toolkit.StartsInline(toolName))
            {
                // Off the read loop before any blocking work.
                await Task.Yield();
            }

            call = new RoomToolCall(this, request, message.Id);
            reply = await toolkit.InvokeAsync(call, _lifetime.Token);
        }
        catch (OperationCanceledException) when (_lifetime.IsCancellationRequested)
        {
            // The caller is gone: nobody to answer.
            Interlocked.Decrement(ref _inFlight);
            ZeroRequest(message);
            return;
        }
        catch (Exception ex)
        {
            reply = RoomErrors.ToContent(ex, out var expected);
            if (!expected)
            {
                RoomsLog.ToolFailed(_logger, ex, toolkitName, toolName, ParticipantId);
            }
        }

        ZeroRequest(message);
        var encoded = reply.Encode();
        var sent = call is not null && reply is not ErrorContent
            ? call.QueueReply(static reply => reply.Connection.PostAsync(reply.Id, MessageTypes.Response, reply.Encoded), (Connection: this, message.Id, Encoded: encoded))
            : PostAsync(message.Id, MessageTypes.Response, encoded);

        var elapsed = Stopwatch.GetElapsedTime(started);
        _metrics.ToolCall(toolkitName, toolName, (reply as ErrorContent)?.Code, elapsed);
        RoomsLog.ToolCalled(_logger, toolkitName, toolName, ParticipantId, message.Data.Length, encoded.Length, (reply as ErrorContent)?.Code ?? 0, elapsed.TotalMilliseconds);
        try
        {
            await sent;
        }
        finally
        {
            // Counted until the reply has left: a peer that sends requests without reading the replies is held to
            // the pending limit instead of growing this connection's send queue without bound.
            Interlocked.Decrement(ref _inFlight);
        }

        if (!reply.Data.IsEmpty)
        {
            // Secret bytes: the reply buffer and the value it was built from.
            CryptographicOperations.ZeroMemory(encoded);
            if (MemoryMarshal.TryGetArray(reply.Data, out var segment))
            {
                CryptographicOperations.ZeroMemory(segment.AsSpan());
            }
        }
    }

    private void SetAttributes(ProtocolMessage message)
    {
        PackedMessage packed;
        try
        {
            var (header, _) = PackedMessage.Split(message.Data);
            if (header.Length > MaxAttributesBytes)
            {
                RoomsLog.AttributesIgnored(_logger, ParticipantId, header.Length);
                return;
            }

            packed = PackedMessage.Decode(message.Data);
        }
        catch (ProtocolException)
        {
            RoomsLog.AttributesIgnored(_logger, ParticipantId, message.Data.Length);
            return;
        }

        Room.SetAttributes(this, packed.Header);
    }

    private async Task OnProtocolViolationAsync(ProtocolException ex)
    {
        var tooLarge = ex.Kind == ProtocolErrorKind.LimitExceeded;
        RoomsLog.ProtocolViolation(_logger, ParticipantId, ex.Kind.ToString());
        _metrics.ProtocolError(ex.Kind.ToString());
        RequestClose(
            tooLarge ? WebSocketCloseStatus.MessageTooBig : WebSocketCloseStatus.ProtocolError,
            tooLarge ? "message too large" : "protocol error: " + ex.Kind switch
            {
                ProtocolErrorKind.OutOfSequence => "packets out of sequence",
                ProtocolErrorKind.UnsupportedFrame => "text frames are not allowed",
                _ => "malformed packet",
            });

        // The channel cannot read past a violation, so read the raw socket until the peer's close frame arrives
        // (or the close timeout passes). Leaving unread data behind would turn the close into a TCP reset, and
        // the peer could lose our close frame.
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (_socket.State is WebSocketState.Open or WebSocketState.CloseSent)
            {
                var result = await _socket.ReceiveAsync(buffer.AsMemory(), _closeDeadline.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
            }
        }
        catch (Exception drain) when (drain is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            RoomsLog.PeerGone(_logger, ParticipantId, drain.GetType().Name);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task DrainCallsAsync()
    {
        var calls = _calls.Keys.ToArray();
        if (calls.Length > 0)
        {
            await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(_options.CloseTimeoutSeconds)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task FinishCloseAsync()
    {
        if (Volatile.Read(ref _closeRequested) != 0)
        {
            await _closeDone.Task;
        }
    }

    private async Task PostAsync(ulong id, string type, ReadOnlyMemory<byte> data)
    {
        try
        {
            await _channel.SendAsync(id, type, data);
        }
        catch (Exception ex) when (ex is WebSocketException or InvalidOperationException or OperationCanceledException or ObjectDisposedException)
        {
            RoomsLog.SendDropped(_logger, ParticipantId, type, ex.GetType().Name);
        }
    }

    private static byte[] Packed(JsonObject header) => new PackedMessage(header).Encode();

    /// <summary>Request buffers can hold secret values (set_secret, provide_secret); they are zeroed once served.</summary>
    private static void ZeroRequest(ProtocolMessage message)
    {
        if (MemoryMarshal.TryGetArray(message.Data, out var segment))
        {
            CryptographicOperations.ZeroMemory(segment.AsSpan());
        }
    }

    private static string Shorten(string text) => text.Length <= MaxLoggedTypeLength ? text : text[..MaxLoggedTypeLength] + "…";
}
