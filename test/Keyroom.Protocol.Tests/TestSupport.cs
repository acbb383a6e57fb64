using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text.Json.Nodes;

namespace Keyroom.Protocol.Tests;

/// <summary>The spec's example files, copied verbatim into TestData.</summary>
internal static class SpecExamples
{
    public static JsonObject FramesHex { get; } = Load("frames-hex.json");

    public static JsonObject RoomHandshake { get; } = Load("room-handshake.json");

    public static byte[] Hex(string hex) => Convert.FromHexString(hex);

    public static string ToHex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    /// <summary>The WebSocket messages of a frames-hex.json example, as bytes.</summary>
    public static byte[][] WsMessages(string example) =>
        [.. FramesHex[example]!["ws_messages_hex"]!.AsArray().Select(node => Hex(node!.GetValue<string>()))];

    private static JsonObject Load(string name) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", name)))!.AsObject();
}

/// <summary>Two connected WebSockets over a loopback TCP connection (no HTTP upgrade needed).</summary>
internal sealed class WebSocketPair : IDisposable
{
    private readonly TcpClient _serverTcp;
    private readonly TcpClient _clientTcp;

    private WebSocketPair(TcpClient serverTcp, TcpClient clientTcp)
    {
        _serverTcp = serverTcp;
        _clientTcp = clientTcp;
        Server = WebSocket.CreateFromStream(serverTcp.GetStream(), new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
        Client = WebSocket.CreateFromStream(clientTcp.GetStream(), new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
    }

    public WebSocket Server { get; }

    public WebSocket Client { get; }

    /// <summary>The server end's TCP stream, for tests that build their own server WebSocket on it.</summary>
    public Stream ServerStream => _serverTcp.GetStream();

    /// <summary>The client end's TCP stream, for tests that build their own client WebSocket on it.</summary>
    public Stream ClientStream => _clientTcp.GetStream();

    public static async Task<WebSocketPair> CreateAsync(CancellationToken cancellationToken)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var client = new TcpClient { NoDelay = true };
        var connect = client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
        var server = await listener.AcceptTcpClientAsync(cancellationToken);
        await connect;
        server.NoDelay = true;
        return new WebSocketPair(server, client);
    }

    public void Dispose()
    {
        Server.Dispose();
        Client.Dispose();
        _serverTcp.Dispose();
        _clientTcp.Dispose();
    }
}

/// <summary>The boilerplate of a non-seekable test stream: subclasses override the reads and writes they test.</summary>
internal abstract class TestStream : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
