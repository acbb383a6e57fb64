using System.Net.WebSockets;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Keyroom.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Keyroom.Server.Tests.ClientSdk;

/// <summary>
/// A scriptable room server on a loopback port for SDK tests that need exact control of the wire (handshake
/// timing, error replies, drops, closes). Each accepted WebSocket becomes a <see cref="FakeConnection"/> that the
/// test drives; the handler may send the handshake first (the default).
/// </summary>
public sealed class FakeRoomServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Channel<FakeConnection> _connections = Channel.CreateUnbounded<FakeConnection>();
    private readonly System.Collections.Concurrent.ConcurrentBag<FakeConnection> _all = [];
    private int _count;

    private FakeRoomServer(WebApplication app)
    {
        _app = app;
    }

    /// <summary>Sends room_ready and connected automatically on accept (true by default).</summary>
    public bool AutoHandshake { get; set; } = true;

    /// <summary>HTTP status to refuse upgrades with (0 = accept).</summary>
    public int RefuseWithStatus { get; set; }

    public Uri BaseUrl { get; private set; } = null!;

    public Uri RoomUrl(string room = "room1") => new(new Uri(BaseUrl.ToString().Replace("http://", "ws://", StringComparison.Ordinal)), "/rooms/" + room);

    public static async Task<FakeRoomServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        var app = builder.Build();
        var server = new FakeRoomServer(app);
        app.UseWebSockets();
        app.Map("/rooms/{room}", server.AcceptAsync);
        await app.StartAsync();
        server.BaseUrl = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return server;
    }

    /// <summary>Waits for the next connection.</summary>
    public async Task<FakeConnection> NextConnectionAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        return await _connections.Reader.ReadAsync(cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        _connections.Writer.TryComplete();
        foreach (var connection in _all)
        {
            connection.Abort();
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task AcceptAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = 400;
            return;
        }

        if (RefuseWithStatus != 0)
        {
            context.Response.StatusCode = RefuseWithStatus;
            return;
        }

        var socket = await context.WebSockets.AcceptWebSocketAsync();
        var index = Interlocked.Increment(ref _count);
        var connection = new FakeConnection(socket, index, context.Request.Query["token"].ToString(), (string)context.Request.RouteValues["room"]!);
        _all.Add(connection);
        if (AutoHandshake)
        {
            await connection.SendHandshakeAsync("p-" + index, "alice");
        }

        await _connections.Writer.WriteAsync(connection);
        await connection.Done;
    }
}

/// <summary>One accepted connection, driven by the test.</summary>
public sealed class FakeConnection
{
    private readonly WebSocket _socket;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _serverIds = 1_000_000;

    public FakeConnection(WebSocket socket, int index, string token, string room)
    {
        _socket = socket;
        Channel = new WebSocketMessageChannel(socket);
        Index = index;
        Token = token;
        Room = room;
    }

    public WebSocketMessageChannel Channel { get; }

    public int Index { get; }

    public string Token { get; }

    public string Room { get; }

    public Task Done => _done.Task;

    public async Task SendRoomReadyAsync(string room = "room1", string session = "sess-1") =>
        await SendAsync(MessageTypes.RoomReady, new JsonObject { ["room_name"] = room, ["room_url"] = "ws://example.host/rooms/" + room, ["session_id"] = session });

    public async Task SendConnectedAsync(string participantId, string name) =>
        await SendAsync(MessageTypes.Connected, new JsonObject { ["type"] = "init", ["participantId"] = participantId, ["attributes"] = new JsonObject { ["name"] = name } });

    public async Task SendHandshakeAsync(string participantId, string name)
    {
        await SendRoomReadyAsync();
        await SendConnectedAsync(participantId, name);
    }

    public async Task SendAsync(string type, JsonObject header, ReadOnlyMemory<byte> payload = default) =>
        await Channel.SendAsync((ulong)Interlocked.Increment(ref _serverIds), type, new PackedMessage(header, payload).Encode());

    public async Task ReplyAsync(ulong id, Content content) => await Channel.SendAsync(id, MessageTypes.Response, content.Encode());

    /// <summary>Receives the next message (fails the test after the timeout).</summary>
    public async Task<ProtocolMessage> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        return await Channel.ReceiveAsync(cts.Token) ?? throw new InvalidOperationException("the client closed the connection");
    }

    /// <summary>Receives the next message, which must be a room.invoke_tool.</summary>
    public async Task<(ProtocolMessage Message, InvokeToolRequest Request)> ReceiveInvokeAsync(TimeSpan? timeout = null)
    {
        var message = await ReceiveAsync(timeout);
        Assert.Equal(MessageTypes.InvokeTool, message.Type);
        return (message, InvokeToolRequest.Decode(message.Data));
    }

    /// <summary>Receives until the client's close frame; returns its status.</summary>
    public async Task<WebSocketCloseStatus?> ReceiveCloseAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        while (await Channel.ReceiveAsync(cts.Token) is not null)
        {
        }

        var status = Channel.CloseStatus;
        _done.TrySetResult();
        return status;
    }

    public async Task CloseAsync(WebSocketCloseStatus status, string reason)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await Channel.CloseAsync(status, reason, cts.Token);
            while (await Channel.ReceiveAsync(cts.Token) is not null)
            {
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or InvalidOperationException)
        {
        }
        finally
        {
            _done.TrySetResult();
        }
    }

    public void Abort()
    {
        if (_done.Task.IsCompleted)
        {
            return; // the request has ended; its socket is gone
        }

        try
        {
            _socket.Abort();
        }
        catch (ObjectDisposedException)
        {
        }

        _done.TrySetResult();
    }
}
