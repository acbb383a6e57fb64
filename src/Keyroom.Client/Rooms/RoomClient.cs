using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Keyroom.Protocol;

namespace Keyroom.Client.Rooms;

/// <summary>
/// A connection to a MeshAgent-compatible room (Keyroom or MeshAgent): the handshake, tool calls
/// (<c>room.invoke_tool</c>) with per-request timeouts, attributes, server messages, automatic reconnects, and the
/// <see cref="Secrets"/> and <see cref="Messaging"/> toolkits. Thread-safe.
/// </summary>
/// <remarks>
/// <para>
/// Create one with <see cref="ConnectAsync(Uri, string, RoomClientOptions?, CancellationToken)"/>: it returns once the
/// server has sent both <c>room_ready</c> and <c>connected</c> (within <see cref="RoomClientOptions.HandshakeTimeout"/>).
/// The first connection is not retried: a failure throws <see cref="RoomConnectionException"/>.
/// </para>
/// <para>
/// After a connection is lost (a close other than 1000, or a socket or protocol error) the client reconnects with the
/// same token after 500 ms·2ⁿ (at most 30 s), runs the handshake again (the participant id changes), re-sends the
/// attributes set with <see cref="SetAttributesAsync"/> and re-enables messaging if it was enabled. Requests in flight
/// at the loss fail with <see cref="RoomConnectionException"/>; they are not replayed. Requests made while
/// reconnecting wait for the new connection, within their timeout. A close with 1000 by the server ends the client
/// (<see cref="Completion"/> carries the reason); so do <see cref="DisposeAsync"/> and a refused reconnect.
/// </para>
/// <para>
/// Events are raised on the connection's receive loop, one at a time: handlers should return quickly and must not
/// wait for replies to requests (that would stall the loop). An exception thrown by a handler is reported through
/// <see cref="CallbackFailed"/> and otherwise ignored.
/// </para>
/// </remarks>
public sealed class RoomClient : IAsyncDisposable
{
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(2);

    private readonly Uri _socketUrl;
    private readonly RoomClientOptions _options;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly Lock _gate = new();
    private readonly JsonObject _appliedAttributes = [];
    private readonly TaskCompletionSource<RoomDisconnectedEventArgs> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private RoomSession? _session;
    private RoomHandshake? _handshake;
    private JsonObject _localAttributes = [];
    private TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private RoomClientState _state = RoomClientState.Connecting;
    private Task _reconnectLoop = Task.CompletedTask;
    private int _disposed;

    private RoomClient(Uri socketUrl, RoomClientOptions options)
    {
        _socketUrl = socketUrl;
        _options = options;
        Secrets = new SecretsClient(this, options.SecretRequestHandler, options.OAuthTokenRequestHandler);
        Messaging = new MessagingClient(this);
    }

    /// <summary>A message from the server other than a reply (after the SDK's own handling of presence and prompts).</summary>
    public event EventHandler<RoomMessageEventArgs>? MessageReceived;

    /// <summary>A <c>room.status</c> message from the server.</summary>
    public event EventHandler<RoomStatusEventArgs>? StatusChanged;

    /// <summary>The connection was lost and the client is about to reconnect.</summary>
    public event EventHandler<RoomDisconnectedEventArgs>? Disconnected;

    /// <summary>The client reconnected (new participant id, attributes and messaging restored).</summary>
    public event EventHandler<RoomReconnectedEventArgs>? Reconnected;

    /// <summary>The client has ended: disposed, closed by the server with 1000, or reconnecting failed.</summary>
    public event EventHandler<RoomDisconnectedEventArgs>? Closed;

    /// <summary>An event handler or prompt handler threw, or an automatic answer (provide/reject, re-enable) failed.</summary>
    public event EventHandler<RoomErrorEventArgs>? CallbackFailed;

    /// <summary>The <c>secrets</c> toolkit.</summary>
    public SecretsClient Secrets { get; }

    /// <summary>The <c>messaging</c> toolkit and participant presence.</summary>
    public MessagingClient Messaging { get; }

    /// <summary>This connection's participant id (from <c>connected</c>); it changes after a reconnect.</summary>
    public string ParticipantId => CurrentHandshake.ParticipantId;

    /// <summary>The room name the server reported in <c>room_ready</c>, if any.</summary>
    public string? RoomName => CurrentHandshake.RoomName;

    /// <summary>The room URL the server reported in <c>room_ready</c>, if it is an absolute URI.</summary>
    public Uri? RoomUrl => Uri.TryCreate(CurrentHandshake.RoomUrl, UriKind.Absolute, out var url) ? url : null;

    /// <summary>The session id the server reported in <c>room_ready</c>, if any.</summary>
    public string? SessionId => CurrentHandshake.SessionId;

    /// <summary>
    /// A copy of the local participant's attributes: those from <c>connected</c> (normally <c>name</c>, the token's
    /// identity) merged with those set through <see cref="SetAttributesAsync"/>.
    /// </summary>
    public JsonObject LocalAttributes
    {
        get
        {
            lock (_gate)
            {
                return (JsonObject)_localAttributes.DeepClone();
            }
        }
    }

    /// <summary>The client's state.</summary>
    public RoomClientState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>Whether the client is connected now.</summary>
    public bool IsConnected => State == RoomClientState.Connected;

    /// <summary>Completes when the client has ended, with why (never faults).</summary>
    public Task<RoomDisconnectedEventArgs> Completion => _completion.Task;

    internal RoomClientOptions Options => _options;

    internal CancellationToken Lifetime => _lifetime.Token;

    private RoomHandshake CurrentHandshake
    {
        get
        {
            lock (_gate)
            {
                return _handshake ?? throw new InvalidOperationException("the room client is not connected yet");
            }
        }
    }

    /// <summary>Connects to a room and waits for the handshake.</summary>
    /// <param name="roomUrl">The room's WebSocket URL, <c>ws(s)://host/rooms/&lt;room&gt;</c> (http(s) is turned into ws(s)); the token is added as <c>?token=</c>.</param>
    /// <param name="jwt">The participant token (from <c>connect</c> or <see cref="ParticipantTokens.Create"/>).</param>
    /// <param name="options">Settings, or null for the defaults.</param>
    /// <param name="cancellationToken">Cancels connecting.</param>
    /// <returns>The connected client.</returns>
    /// <exception cref="RoomConnectionException">The server refused the connection, closed it, or did not finish the handshake in time.</exception>
    public static async Task<RoomClient> ConnectAsync(Uri roomUrl, string jwt, RoomClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(roomUrl);
        ArgumentException.ThrowIfNullOrEmpty(jwt);
        options ??= new RoomClientOptions();
        options.Validate();
        var client = new RoomClient(BuildSocketUrl(roomUrl, jwt), options);
        try
        {
            var session = await RoomSession.OpenAsync(client._socketUrl, options, client.OnSessionMessage, cancellationToken).ConfigureAwait(false);
            if (!client.Install(session))
            {
                await session.DisposeAsync().ConfigureAwait(false);
            }

            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Connects with what <see cref="AccountsClient.ConnectRoomAsync"/> returned.</summary>
    /// <param name="connection">The token and room URL.</param>
    /// <param name="options">Settings, or null for the defaults.</param>
    /// <param name="cancellationToken">Cancels connecting.</param>
    /// <returns>The connected client.</returns>
    /// <exception cref="ArgumentException">The connection has no room URL or token.</exception>
    /// <exception cref="RoomConnectionException">The server refused the connection, closed it, or did not finish the handshake in time.</exception>
    public static Task<RoomClient> ConnectAsync(RoomConnection connection, RoomClientOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (connection.RoomUrl is null || string.IsNullOrEmpty(connection.Jwt))
        {
            throw new ArgumentException("the room connection has no room URL or token", nameof(connection));
        }

        return ConnectAsync(connection.RoomUrl, connection.Jwt, options, cancellationToken);
    }

    /// <summary>Calls a tool and waits for its reply (<see cref="RoomClientOptions.RequestTimeout"/>).</summary>
    /// <param name="toolkit">The toolkit, for example <c>secrets</c>.</param>
    /// <param name="tool">The tool.</param>
    /// <param name="input">The input; a JSON object input is a <see cref="JsonContent"/>.</param>
    /// <param name="cancellationToken">Cancels waiting (the server may still run the call).</param>
    /// <returns>The reply content (never an <see cref="ErrorContent"/>).</returns>
    /// <exception cref="RoomServerException">The server answered with an error.</exception>
    /// <exception cref="RoomConnectionException">The connection was lost or the client closed before the reply.</exception>
    /// <exception cref="TimeoutException">No reply within the request timeout.</exception>
    public Task<Content> InvokeAsync(string toolkit, string tool, Content input, CancellationToken cancellationToken = default) =>
        InvokeAsync(new InvokeToolRequest(toolkit, tool, input), cancellationToken);

    /// <summary>Calls a tool with every request field available (participant routing, caller context, tool call id) and waits for its reply.</summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The reply content (never an <see cref="ErrorContent"/>).</returns>
    /// <exception cref="RoomServerException">The server answered with an error.</exception>
    /// <exception cref="RoomConnectionException">The connection was lost or the client closed before the reply.</exception>
    /// <exception cref="TimeoutException">No reply within the request timeout.</exception>
    public Task<Content> InvokeAsync(InvokeToolRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return InvokeAsync(request, minimumTimeout: null, cancellationToken);
    }

    /// <summary>
    /// Calls a tool one-way: the request carries a <c>tool_call_id</c> and no reply is awaited (the server's reply, if
    /// any, is ignored).
    /// </summary>
    /// <param name="toolkit">The toolkit.</param>
    /// <param name="tool">The tool.</param>
    /// <param name="input">The input.</param>
    /// <param name="cancellationToken">Cancels sending.</param>
    /// <returns>The <c>tool_call_id</c> that was sent.</returns>
    /// <exception cref="RoomConnectionException">The connection was lost or the client closed.</exception>
    public async Task<string> InvokeOneWayAsync(string toolkit, string tool, Content input, CancellationToken cancellationToken = default)
    {
        var request = new InvokeToolRequest(toolkit, tool, input) { ToolCallId = NewToolCallId() };
        await SendOneWayAsync(MessageTypes.InvokeTool, request.Encode(), cancellationToken).ConfigureAwait(false);
        return request.ToolCallId;
    }

    /// <summary>
    /// Sends any request message (a packed <paramref name="header"/> and <paramref name="payload"/> under
    /// <paramref name="messageType"/>) and waits for the <c>__response__</c>, like the official client's <c>sendRequest</c>.
    /// </summary>
    /// <param name="messageType">The message type, for example <c>room.invoke_tool</c>.</param>
    /// <param name="header">The JSON header (written as given).</param>
    /// <param name="payload">The bytes after the header.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The reply content.</returns>
    /// <exception cref="RoomServerException">The server answered with an error.</exception>
    /// <exception cref="RoomConnectionException">The connection was lost or the client closed before the reply.</exception>
    /// <exception cref="TimeoutException">No reply within the request timeout.</exception>
    public Task<Content> SendRequestAsync(string messageType, JsonObject header, ReadOnlyMemory<byte> payload = default, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageType);
        ArgumentNullException.ThrowIfNull(header);
        return RequestAsync(messageType, new PackedMessage(header, payload).Encode(), messageType, null, cancellationToken);
    }

    /// <summary>
    /// Sets attributes of the local participant (<c>set_attributes</c>, one-way): they are merged into
    /// <see cref="LocalAttributes"/>, sent to the server (which may tell other participants) and re-sent after a reconnect.
    /// </summary>
    /// <param name="attributes">The attributes to set (copied).</param>
    /// <param name="cancellationToken">Cancels sending.</param>
    /// <returns>A task that completes when the message has been sent.</returns>
    /// <exception cref="RoomConnectionException">The connection was lost or the client closed.</exception>
    public Task SetAttributesAsync(JsonObject attributes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        var copy = (JsonObject)attributes.DeepClone();
        lock (_gate)
        {
            foreach (var (key, value) in copy)
            {
                _appliedAttributes[key] = value?.DeepClone();
                _localAttributes[key] = value?.DeepClone();
            }
        }

        return SendOneWayAsync(MessageTypes.SetAttributes, new PackedMessage(copy).Encode(), cancellationToken);
    }

    /// <summary>Closes the connection with 1000 and ends the client. Pending requests fail; nothing reconnects.</summary>
    /// <returns>A task that completes when the connection is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        RoomSession? session;
        bool wasClosed;
        lock (_gate)
        {
            session = _session;
            wasClosed = _state == RoomClientState.Closed;
            _state = RoomClientState.Closed;
            _ready.TrySetResult();
        }

        await _lifetime.CancelAsync().ConfigureAwait(false);
        if (session is not null)
        {
            await session.CloseAsync(CloseWait).ConfigureAwait(false);
            await session.DisposeAsync().ConfigureAwait(false);
        }

        await _reconnectLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Messaging.OnDisconnected();
        var end = new RoomDisconnectedEventArgs(WebSocketCloseStatus.NormalClosure, "client closed", null);
        if (_completion.TrySetResult(end) && !wasClosed)
        {
            Raise(Closed, end, "Closed handler");
        }

        _lifetime.Dispose();
    }

    /// <summary>Drops the current connection without a close handshake, as a network failure would (for tests).</summary>
    internal void AbortConnection()
    {
        RoomSession? session;
        lock (_gate)
        {
            session = _session;
        }

        session?.Abort();
    }

    internal static string NewToolCallId() => Guid.NewGuid().ToString("N");

    internal async Task<Content> InvokeAsync(InvokeToolRequest request, TimeSpan? minimumTimeout, CancellationToken cancellationToken) =>
        await RequestAsync(MessageTypes.InvokeTool, request.Encode(), request.Toolkit + "." + request.Tool, minimumTimeout, cancellationToken).ConfigureAwait(false);

    internal async Task SendOneWayAsync(string type, byte[] data, CancellationToken cancellationToken)
    {
        var (timeout, linked) = StartTimeout(null, cancellationToken);
        using (timeout)
        using (linked)
        {
            try
            {
                var session = await WaitForSessionAsync(linked.Token).ConfigureAwait(false);
                await session.SendAsync(type, data, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex) when (timeout?.IsCancellationRequested == true && !cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"could not send {type} within {_options.RequestTimeout}", ex);
            }
        }
    }

    internal void Raise<T>(EventHandler<T>? handlers, T args, string source, object? sender = null)
    {
        if (handlers is null)
        {
            return;
        }

        foreach (var handler in handlers.GetInvocationList())
        {
            try
            {
                ((EventHandler<T>)handler)(sender ?? this, args);
            }
#pragma warning disable CA1031 // An application's handler must not break the receive loop.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                ReportCallbackFailure(source, ex);
            }
        }
    }

    internal void ReportCallbackFailure(string source, Exception exception)
    {
        var handlers = CallbackFailed;
        if (handlers is null)
        {
            return;
        }

        var args = new RoomErrorEventArgs(source, exception);
        foreach (var handler in handlers.GetInvocationList())
        {
            try
            {
                ((EventHandler<RoomErrorEventArgs>)handler)(this, args);
            }
#pragma warning disable CA1031 // Nothing is left to report a failing error handler to.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }

    private static Uri BuildSocketUrl(Uri roomUrl, string jwt)
    {
        if (!roomUrl.IsAbsoluteUri)
        {
            throw new ArgumentException("the room URL must be absolute, for example ws://localhost:5000/rooms/my-room", nameof(roomUrl));
        }

        var builder = new UriBuilder(roomUrl)
        {
            Scheme = roomUrl.Scheme switch
            {
                "http" => "ws",
                "https" => "wss",
                "ws" or "wss" => roomUrl.Scheme,
                _ => throw new ArgumentException("the room URL must use ws, wss, http or https", nameof(roomUrl)),
            },
        };
        if (builder.Uri.IsDefaultPort)
        {
            builder.Port = -1;
        }

        // Like URL.searchParams.set("token", jwt): keep the other parameters, replace a token parameter.
        var query = builder.Query.TrimStart('?');
        var kept = query.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Where(p => !p.StartsWith("token=", StringComparison.Ordinal) && p != "token");
        builder.Query = string.Join('&', kept.Append("token=" + Uri.EscapeDataString(jwt)));
        return builder.Uri;
    }

    private (CancellationTokenSource? Timeout, CancellationTokenSource Linked) StartTimeout(TimeSpan? minimumTimeout, CancellationToken cancellationToken)
    {
        var timeout = _options.RequestTimeout;
        if (timeout != Timeout.InfiniteTimeSpan && minimumTimeout is { } minimum && minimum > timeout)
        {
            timeout = minimum;
        }

        var timeoutSource = timeout == Timeout.InfiniteTimeSpan ? null : new CancellationTokenSource(timeout, _options.TimeProvider);
        var linked = timeoutSource is null
            ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken)
            : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        return (timeoutSource, linked);
    }

    private async Task<Content> RequestAsync(string type, byte[] data, string what, TimeSpan? minimumTimeout, CancellationToken cancellationToken)
    {
        var (timeout, linked) = StartTimeout(minimumTimeout, cancellationToken);
        using (timeout)
        using (linked)
        {
            try
            {
                var session = await WaitForSessionAsync(linked.Token).ConfigureAwait(false);
                return await session.RequestAsync(type, data, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex) when (timeout?.IsCancellationRequested == true && !cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"no reply to {what} within the request timeout", ex);
            }
        }
    }

    private async Task<RoomSession> WaitForSessionAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task ready;
            lock (_gate)
            {
                if (_state == RoomClientState.Closed)
                {
                    throw ClosedException();
                }

                if (_state == RoomClientState.Connected && _session is not null)
                {
                    return _session;
                }

                ready = _ready.Task;
            }

            await ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private Exception ClosedException()
    {
        if (_disposed != 0)
        {
            return new ObjectDisposedException(nameof(RoomClient), "the room client has been disposed");
        }

        if (_completion.Task.IsCompleted)
        {
            var end = _completion.Task.Result;
            return new RoomConnectionException("the room client is closed: " + end, end.CloseStatus, end.CloseDescription, null, isPermanent: true, end.Exception);
        }

        return new RoomConnectionException("the room client is closed");
    }

    /// <summary>Makes <paramref name="session"/> the current connection; false when the client has closed meanwhile.</summary>
    private bool Install(RoomSession session)
    {
        var handshake = session.Handshake;
        lock (_gate)
        {
            if (_state == RoomClientState.Closed)
            {
                return false;
            }

            _session = session;
            _handshake = handshake;
            _localAttributes = (JsonObject)handshake.Attributes.DeepClone();
            foreach (var (key, value) in _appliedAttributes)
            {
                _localAttributes[key] = value?.DeepClone();
            }

            _state = RoomClientState.Connected;
            _ready.TrySetResult();
        }

        _ = MonitorAsync(session);
        return true;
    }

    private async Task MonitorAsync(RoomSession session)
    {
        var end = await session.Ended.ConfigureAwait(false);
        bool reconnect;
        lock (_gate)
        {
            if (!ReferenceEquals(_session, session) || _state == RoomClientState.Closed)
            {
                return;
            }

            reconnect = _options.Reconnect && end.CloseStatus != WebSocketCloseStatus.NormalClosure;
            if (reconnect)
            {
                _state = RoomClientState.Reconnecting;
                _ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        await session.DisposeAsync().ConfigureAwait(false);
        Messaging.OnDisconnected();
        if (reconnect)
        {
            Raise(Disconnected, end, "Disconnected handler");
            lock (_gate)
            {
                if (_state == RoomClientState.Reconnecting)
                {
                    _reconnectLoop = Task.Run(() => ReconnectLoopAsync(session.Handshake.ParticipantId), CancellationToken.None);
                }
            }
        }
        else
        {
            EndClient(end);
        }
    }

    private void EndClient(RoomDisconnectedEventArgs end)
    {
        lock (_gate)
        {
            if (_state == RoomClientState.Closed)
            {
                return;
            }

            _state = RoomClientState.Closed;
            _ready.TrySetResult();
        }

        Messaging.OnDisconnected();
        if (_completion.TrySetResult(end))
        {
            Raise(Closed, end, "Closed handler");
        }
    }

    private async Task ReconnectLoopAsync(string previousParticipantId)
    {
        var time = _options.TimeProvider;
        var started = time.GetTimestamp();
        RoomConnectionException? last = null;
        for (var attempt = 0; ; attempt++)
        {
            var delay = ReconnectBackoff.Delay(attempt, _options.ReconnectInitialDelay, _options.ReconnectMaxDelay);
            if (_options.ReconnectTimeout is { } total)
            {
                var left = total - time.GetElapsedTime(started);
                if (left <= TimeSpan.Zero)
                {
                    EndClient(new RoomDisconnectedEventArgs(last?.CloseStatus, last?.CloseDescription, new RoomConnectionException(
                        $"could not reconnect to the room within {total}" + (last is null ? string.Empty : ": " + last.Message), null, null, null, isPermanent: false, last!)));
                    return;
                }

                delay = delay < left ? delay : left;
            }

            try
            {
                await Task.Delay(delay, time, _lifetime.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            RoomSession session;
            try
            {
                session = await RoomSession.OpenAsync(_socketUrl, _options, OnSessionMessage, _lifetime.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_lifetime.IsCancellationRequested)
            {
                return;
            }
            catch (RoomConnectionException ex) when (ex.IsPermanent)
            {
                EndClient(new RoomDisconnectedEventArgs(ex.CloseStatus, ex.CloseDescription, ex));
                return;
            }
            catch (RoomConnectionException ex)
            {
                last = ex;
                continue;
            }

            if (!Install(session))
            {
                await session.DisposeAsync().ConfigureAwait(false);
                return;
            }

            await RestoreAsync().ConfigureAwait(false);
            Raise(Reconnected, new RoomReconnectedEventArgs(session.Handshake.ParticipantId, previousParticipantId), "Reconnected handler");
            return;
        }
    }

    /// <summary>Re-sends the attributes the application set and re-enables messaging after a reconnect.</summary>
    private async Task RestoreAsync()
    {
        JsonObject? attributes = null;
        lock (_gate)
        {
            if (_appliedAttributes.Count > 0)
            {
                attributes = (JsonObject)_appliedAttributes.DeepClone();
            }
        }

        try
        {
            if (attributes is not null)
            {
                await SendOneWayAsync(MessageTypes.SetAttributes, new PackedMessage(attributes).Encode(), _lifetime.Token).ConfigureAwait(false);
            }

            await Messaging.RestoreAsync(_lifetime.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RoomException or TimeoutException or OperationCanceledException or ObjectDisposedException)
        {
            ReportCallbackFailure("restoring attributes and messaging after a reconnect", ex);
        }
    }

    private void OnSessionMessage(RoomSession session, ProtocolMessage message)
    {
        PackedMessage? packed = null;
        try
        {
            packed = PackedMessage.Decode(message.Data);
        }
        catch (ProtocolException)
        {
            // Passed on undecoded.
        }

        switch (message.Type)
        {
            case MessageTypes.MessagingSend when packed is not null:
                Messaging.Handle(packed);
                break;
            case MessageTypes.RequestSecret when packed is not null:
                Secrets.HandleSecretPrompt(packed.Header);
                break;
            case MessageTypes.RequestOAuthToken when packed is not null:
                Secrets.HandleOAuthPrompt(packed.Header);
                break;
            case MessageTypes.RoomStatus when packed is not null:
                Raise(StatusChanged, new RoomStatusEventArgs(
                    RoomSession.OptionalString(packed.Header, "status") ?? string.Empty,
                    RoomSession.OptionalString(packed.Header, "message")), "StatusChanged handler");
                break;
        }

        Raise(MessageReceived, new RoomMessageEventArgs(message, packed), "MessageReceived handler");
    }
}

/// <summary>The reconnect delay schedule: initial·2ⁿ, capped.</summary>
internal static class ReconnectBackoff
{
    public static TimeSpan Delay(int attempt, TimeSpan initial, TimeSpan max)
    {
        if (attempt >= 30)
        {
            return max;
        }

        var ticks = initial.Ticks * (1L << attempt);
        return ticks >= max.Ticks || ticks < 0 ? max : TimeSpan.FromTicks(ticks);
    }
}
