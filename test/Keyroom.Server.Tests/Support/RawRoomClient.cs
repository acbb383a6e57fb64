using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Keyroom.Protocol;

namespace Keyroom.Server.Tests.Support;

/// <summary>
/// A protocol-level fake peer for room tests (in the spirit of Npgsql's PgServerMock): a raw
/// <see cref="ClientWebSocket"/> with Keyroom.Protocol framing, full control over what goes on the wire
/// (including broken packets and text frames), and strict checking of what comes back: every incoming packet
/// goes through a <see cref="MessageAssembler"/>, so an interleaved or malformed server message is recorded in
/// <see cref="ReceiveFailure"/>.
/// </summary>
public sealed class RawRoomClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    private readonly ClientWebSocket _socket;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly MessageAssembler _assembler = new(new MessageAssemblerOptions { MaxMessageSize = 8 * 1024 * 1024, MaxPacketsPerMessage = 1 << 20 });
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<ProtocolMessage>> _pending = new();
    private readonly List<ProtocolMessage> _pushes = [];
    private readonly List<ProtocolMessage> _received = [];
    private readonly SemaphoreSlim _pushArrived = new(0);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _reader;
    private long _nextId = -1;

    private RawRoomClient(ClientWebSocket socket)
    {
        _socket = socket;
        _reader = Task.Run(ReadLoopAsync);
    }

    /// <summary>room_ready, once the handshake completed.</summary>
    public ProtocolMessage RoomReady { get; private set; } = null!;

    /// <summary>connected/init, once the handshake completed.</summary>
    public ProtocolMessage Connected { get; private set; } = null!;

    /// <summary>The participant id from connected/init.</summary>
    public string ParticipantId { get; private set; } = string.Empty;

    /// <summary>Set when the server sent something the assembler rejects (for example interleaved messages).</summary>
    public Exception? ReceiveFailure { get; private set; }

    /// <summary>The close status the server sent, once the connection closed.</summary>
    public WebSocketCloseStatus? CloseStatus { get; private set; }

    public string? CloseDescription { get; private set; }

    /// <summary>Completes when the connection has ended (close frame, abort or failure).</summary>
    public Task Closed => _closed.Task;

    public WebSocketState State => _socket.State;

    /// <summary>Opens the WebSocket without waiting for the handshake.</summary>
    public static async Task<RawRoomClient> OpenAsync(Uri baseUrl, string room, string? jwt, CancellationToken cancellationToken = default)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        var builder = new UriBuilder(baseUrl) { Scheme = baseUrl.Scheme == "https" ? "wss" : "ws", Path = "/rooms/" + room };
        if (jwt is not null)
        {
            builder.Query = "token=" + Uri.EscapeDataString(jwt);
        }

        await socket.ConnectAsync(builder.Uri, cancellationToken);
        return new RawRoomClient(socket);
    }

    /// <summary>Opens the WebSocket and waits for room_ready and connected/init.</summary>
    public static async Task<RawRoomClient> ConnectAsync(Uri baseUrl, string room, string jwt, CancellationToken cancellationToken = default)
    {
        var client = await OpenAsync(baseUrl, room, jwt, cancellationToken);
        try
        {
            client.RoomReady = await client.NextPushAsync(MessageTypes.RoomReady);
            client.Connected = await client.NextPushAsync(MessageTypes.Connected);
            client.ParticipantId = PackedMessage.Decode(client.Connected.Data).Header["participantId"]!.GetValue<string>();
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>A new message id (the official client counts from 0).</summary>
    public ulong NextId() => (ulong)Interlocked.Increment(ref _nextId);

    /// <summary>Invokes a tool and returns the reply content.</summary>
    public async Task<Content> InvokeAsync(string toolkit, string tool, Content arguments, string? toolCallId = null, TimeSpan? timeout = null)
    {
        var request = new InvokeToolRequest(toolkit, tool, arguments) { ToolCallId = toolCallId };
        var reply = await RequestAsync(MessageTypes.InvokeTool, request.Encode(), timeout);
        return Content.Decode(reply.Data);
    }

    /// <summary>Invokes a tool with json input.</summary>
    public Task<Content> InvokeJsonAsync(string toolkit, string tool, JsonObject input, TimeSpan? timeout = null) =>
        InvokeAsync(toolkit, tool, new JsonContent(input), timeout: timeout);

    /// <summary>Invokes a secrets tool with json input.</summary>
    public Task<Content> SecretsAsync(string tool, JsonObject input, TimeSpan? timeout = null) => InvokeJsonAsync("secrets", tool, input, timeout);

    /// <summary>Sends a message of any type with a new id and waits for the <c>__response__</c> carrying that id.</summary>
    public async Task<ProtocolMessage> RequestAsync(string type, ReadOnlyMemory<byte> data, TimeSpan? timeout = null, int chunkSize = FrameEncoder.ClientChunkSize)
    {
        var id = NextId();
        var reply = ExpectResponse(id);
        await SendAsync(id, type, data, chunkSize);
        return await reply.WaitAsync(timeout ?? DefaultTimeout);
    }

    /// <summary>Registers interest in the response to <paramref name="id"/> (before sending it).</summary>
    public Task<ProtocolMessage> ExpectResponse(ulong id)
    {
        var completion = new TaskCompletionSource<ProtocolMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = completion;
        if (_closed.Task.IsCompleted)
        {
            completion.TrySetException(new IOException("the connection is closed"));
        }

        return completion.Task;
    }

    /// <summary>Sends one logical message in <paramref name="chunkSize"/> chunks (atomically with respect to other sends).</summary>
    public async Task SendAsync(ulong id, string type, ReadOnlyMemory<byte> data, int chunkSize = FrameEncoder.ClientChunkSize)
    {
        await _sendLock.WaitAsync();
        try
        {
            await WebSocketPackets.SendMessageAsync(_socket, id, type, data, chunkSize, CancellationToken.None);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Sends one raw WebSocket message (a packet, or anything else).</summary>
    public async Task SendPacketAsync(ReadOnlyMemory<byte> packet, WebSocketMessageType type = WebSocketMessageType.Binary)
    {
        await _sendLock.WaitAsync();
        try
        {
            await _socket.SendAsync(packet, type, endOfMessage: true, CancellationToken.None);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Waits for the next server-initiated message of a type (earlier ones of other types stay available).</summary>
    public async Task<ProtocolMessage> NextPushAsync(string type, TimeSpan? timeout = null, Func<JsonObject, bool>? where = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            lock (_pushes)
            {
                var index = _pushes.FindIndex(m => m.Type == type && (where is null || where(PackedMessage.Decode(m.Data).Header)));
                if (index >= 0)
                {
                    var message = _pushes[index];
                    _pushes.RemoveAt(index);
                    return message;
                }
            }

            try
            {
                await _pushArrived.WaitAsync(TimeSpan.FromMilliseconds(50), deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no {type} message arrived (close status {CloseStatus?.ToString() ?? "none"}, failure {ReceiveFailure?.Message ?? "none"})");
            }
        }
    }

    /// <summary>The header of the next <c>messaging.send</c> envelope of a messaging type (for example <c>participant.enabled</c>).</summary>
    public async Task<JsonObject> NextMessagingAsync(string messagingType, TimeSpan? timeout = null)
    {
        var message = await NextPushAsync(MessageTypes.MessagingSend, timeout, h => h["type"]?.GetValue<string>() == messagingType);
        return PackedMessage.Decode(message.Data).Header;
    }

    /// <summary>Server-initiated messages received and not yet taken.</summary>
    public IReadOnlyList<ProtocolMessage> PendingPushes()
    {
        lock (_pushes)
        {
            return [.. _pushes];
        }
    }

    /// <summary>Every message received so far, in arrival order (responses included).</summary>
    public IReadOnlyList<ProtocolMessage> Received()
    {
        lock (_received)
        {
            return [.. _received];
        }
    }

    /// <summary>Waits until the connection ends and returns the server's close status.</summary>
    public async Task<WebSocketCloseStatus?> WaitForCloseAsync(TimeSpan? timeout = null)
    {
        await _closed.Task.WaitAsync(timeout ?? DefaultTimeout);
        return CloseStatus;
    }

    /// <summary>Closes normally (1000) and waits for the server's answer.</summary>
    public async Task CloseAsync()
    {
        await _sendLock.WaitAsync();
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
            }
        }
        catch (WebSocketException)
        {
        }
        finally
        {
            _sendLock.Release();
        }

        await _closed.Task.WaitAsync(DefaultTimeout);
    }

    /// <summary>Drops the TCP connection without a close handshake.</summary>
    public void Abort() => _socket.Abort();

    public async ValueTask DisposeAsync()
    {
        _socket.Abort();
        await _reader.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _socket.Dispose();
        _assembler.Dispose();
        _sendLock.Dispose();
        _pushArrived.Dispose();
    }

    private async Task ReadLoopAsync()
    {
        var packet = new ArrayBufferWriter<byte>();
        try
        {
            while (true)
            {
                packet.ResetWrittenCount();
                if (!await WebSocketPackets.ReceivePacketAsync(_socket, packet, 16 * 1024 * 1024, CancellationToken.None))
                {
                    CloseStatus = _socket.CloseStatus;
                    CloseDescription = _socket.CloseStatusDescription;
                    try
                    {
                        await _sendLock.WaitAsync();
                        try
                        {
                            if (_socket.State == WebSocketState.CloseReceived)
                            {
                                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                            }
                        }
                        finally
                        {
                            _sendLock.Release();
                        }
                    }
                    catch (WebSocketException)
                    {
                    }

                    return;
                }

                if (_assembler.Push(packet.WrittenSpan, out var message))
                {
                    Route(message);
                }
            }
        }
        catch (ProtocolException ex)
        {
            ReceiveFailure = ex;
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            _closed.TrySetResult();
            foreach (var (_, pending) in _pending)
            {
                pending.TrySetException(new IOException($"the connection closed (status {CloseStatus?.ToString() ?? "none"})"));
            }
        }
    }

    private void Route(ProtocolMessage message)
    {
        lock (_received)
        {
            _received.Add(message);
        }

        if (message.Type == MessageTypes.Response && _pending.TryRemove(message.Id, out var pending))
        {
            pending.TrySetResult(message);
            return;
        }

        lock (_pushes)
        {
            _pushes.Add(message);
        }

        _pushArrived.Release();
    }
}
