using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Keyroom.Protocol;

namespace Keyroom.Bench;

/// <summary>
/// One room participant speaking the MeshAgent protocol through <see cref="WebSocketMessageChannel"/>: connects
/// with <c>?token=</c>, waits for <c>room_ready</c> and <c>connected</c>, then makes <c>room.invoke_tool</c>
/// calls one at a time. Like a real client it always has a receive pending (a background reader), so the
/// server's WebSocket pings are answered even while the connection is idle; each <c>__response__</c> completes
/// the call waiting for it, and other server messages are skipped.
/// </summary>
internal sealed class RoomConnection : IAsyncDisposable
{
    private readonly WebSocketMessageChannel _channel;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly Task _reader;
    private TaskCompletionSource<Content>? _pending;
    private ulong _pendingId;
    private ulong _nextId;
    private volatile Exception? _readFailure;

    private RoomConnection(WebSocketMessageChannel channel)
    {
        _channel = channel;
        _reader = Task.Run(ReadLoopAsync);
    }

    public WebSocketState State => _channel.State;

    /// <summary>The packed <c>secrets.get_secret</c> request for a secret id (sent unchanged on every call).</summary>
    public static byte[] GetSecretRequest(string secretId) =>
        new InvokeToolRequest("secrets", "get_secret", new Keyroom.Protocol.JsonContent(new JsonObject
        {
            ["secret_id"] = secretId,
            ["type"] = null,
            ["name"] = null,
            ["delegated_to"] = null,
        })).Encode();

    /// <summary>Connects and completes the handshake within <paramref name="timeout"/>.</summary>
    public static async Task<RoomConnection> ConnectAsync(Uri roomUrl, string jwt, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var socket = new ClientWebSocket();
        WebSocketMessageChannel? channel = null;
        try
        {
            var transport = await BatchingClientWebSocket.ConnectAsync(socket, new Uri(roomUrl + "?token=" + Uri.EscapeDataString(jwt)), limit.Token);
            channel = new WebSocketMessageChannel(socket, options: null, transport);
            bool ready = false, connected = false;
            while (!(ready && connected))
            {
                var message = await channel.ReceiveAsync(limit.Token)
                    ?? throw new BenchCheckException($"room closed during the handshake ({channel.CloseStatus} {channel.CloseStatusDescription})");
                ready |= message.Type == MessageTypes.RoomReady;
                connected |= message.Type == MessageTypes.Connected
                    && PackedMessage.Decode(message.Data).Header["participantId"] is JsonValue;
            }

            var connection = new RoomConnection(channel);
            channel = null;
            return connection;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new BenchCheckException($"room connect/handshake took longer than {timeout.TotalSeconds:0} s");
        }
        finally
        {
            if (channel is not null)
            {
                await channel.DisposeAsync();
            }
            else if (socket.State != WebSocketState.Open)
            {
                socket.Dispose();
            }
        }
    }

    /// <summary>Sends a packed tool call and returns the content of its response (one call at a time per connection).</summary>
    public async ValueTask<Content> InvokeAsync(byte[] packedRequest, CancellationToken cancellationToken)
    {
        if (_readFailure is { } failure)
        {
            throw new BenchCheckException("room connection failed: " + failure.Message);
        }

        var id = _nextId++;
        var pending = new TaskCompletionSource<Content>();
        _pendingId = id;
        Volatile.Write(ref _pending, pending);
        await _channel.SendAsync(id, MessageTypes.InvokeTool, packedRequest, cancellationToken);
        using var registration = cancellationToken.UnsafeRegister(static (state, token) => ((TaskCompletionSource<Content>)state!).TrySetCanceled(token), pending);
        return await pending.Task;
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (await _channel.ReceiveAsync(_lifetime.Token) is { } message)
            {
                if (message.Type == MessageTypes.Response && Volatile.Read(ref _pending) is { } pending && message.Id == _pendingId)
                {
                    Volatile.Write(ref _pending, null);
                    pending.TrySetResult(Content.Decode(message.Data));
                }
            }

            _readFailure = new BenchCheckException($"room connection closed ({_channel.CloseStatus} {_channel.CloseStatusDescription})");
        }
        catch (Exception ex)
        {
            _readFailure = ex;
        }

        Volatile.Read(ref _pending)?.TrySetException(new BenchCheckException("room connection failed: " + _readFailure.Message));
    }

    /// <summary>One checked <c>get_secret</c>: a file content whose bytes are the expected value.</summary>
    public async ValueTask GetSecretAsync(byte[] packedRequest, byte[] expectedValue, CancellationToken cancellationToken)
    {
        switch (await InvokeAsync(packedRequest, cancellationToken))
        {
            case FileContent file when file.Data.Span.SequenceEqual(expectedValue):
                return;
            case FileContent:
                throw new BenchCheckException("get_secret: the file bytes differ from the stored value");
            case ErrorContent error:
                throw new BenchCheckException($"get_secret: error {error.Code}: {error.Text}");
            case var other:
                throw new BenchCheckException($"get_secret: unexpected reply {other.Type}");
        }
    }

    /// <summary>Closes normally (1000) within a short time, then releases the socket.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _channel.CloseAsync(WebSocketCloseStatus.NormalClosure, "bench done", limit.Token);
            await _reader.WaitAsync(limit.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException or WebSocketException or InvalidOperationException)
        {
            // Best effort: the dispose below aborts.
        }

        await _lifetime.CancelAsync();
        await _channel.DisposeAsync();
        await _reader.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _lifetime.Dispose();
    }
}
