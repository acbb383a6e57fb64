using System.Net.WebSockets;

namespace Keyroom.Protocol.Tests;

/// <summary>
/// <see cref="BatchingTransportStream.Framing"/>: the channel writes message frames straight into the transport.
/// Every test reads them with a real <see cref="WebSocket"/> on the other end of a TCP connection, which fails the
/// connection on any framing error (including a server frame that is masked or a client frame that is not).
/// </summary>
public sealed class DirectFramingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<bool, int, int> Sizes => new()
    {
        // masked (client side), data length, chunk size
        { false, 0, 1024 },
        { false, 1, 1024 },
        { false, 113, 1024 },       // header and data packets just under and over the 125-byte short length
        { false, 3000, 1024 },
        { false, 70_000, 64 * 1024 }, // a data frame with a 64-bit length (over 65,535 bytes)
        { false, 300_000, 200_000 },  // data frames larger than a batch: written through in pieces
        { true, 0, 1024 },
        { true, 1, 1024 },
        { true, 113, 1024 },
        { true, 1024 * 1024, 1024 },  // a 1 MiB value in client chunks: 1,025 masked frames over many batches
        { true, 300_000, 200_000 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task SendAsync_DirectFraming_PeerWebSocketReadsEveryPacketExactly(bool masked, int length, int chunkSize)
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        var (sender, receiverSocket) = Connect(pair, masked, chunkSize);
        await using var _ = sender;
        var data = new byte[length];
        new Random(length).NextBytes(data);

        var sending = sender.SendAsync(41, "direct", data, Ct).AsTask();

        // Raw packets first: each must be one binary WebSocket message equal to the reference encoding.
        var expected = FrameEncoder.Encode(41, "direct", data, chunkSize);
        foreach (var packet in expected)
        {
            var received = new System.Buffers.ArrayBufferWriter<byte>();
            Assert.True(await WebSocketPackets.ReceivePacketAsync(receiverSocket, received, 1 << 21, Ct));
            Assert.Equal(packet, received.WrittenSpan.ToArray());
        }

        await sending;
    }

    [Fact]
    public async Task SendAsync_DirectFramingClient_EveryFrameHasItsOwnMaskKey()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        var recording = new BatchingTransportStreamTests.RecordingStream(pair.ClientStream);
        var transport = new BatchingTransportStream(recording, leaveOpen: true) { Framing = TransportFraming.WebSocketClient };
        var socket = WebSocket.CreateFromStream(transport, new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
        await using var client = new WebSocketMessageChannel(socket, new WebSocketMessageChannelOptions { SendChunkSize = 16 }, transport);
        var data = new byte[16 * 100];

        await client.SendAsync(1, "m", data, Ct);

        // 101 frames of a short length: 2 header bytes, then the key. All-zero data makes the masked payload the key itself.
        var bytes = recording.Bytes.ToArray();
        var keys = new HashSet<uint>();
        var offset = 0;
        while (offset < bytes.Length)
        {
            Assert.Equal(0x82, bytes[offset]);
            Assert.Equal(0x80, bytes[offset + 1] & 0x80);
            var payload = bytes[offset + 1] & 0x7F;
            keys.Add(BitConverter.ToUInt32(bytes, offset + 2));
            offset += 6 + payload;
        }

        Assert.Equal(bytes.Length, offset);
        Assert.Equal(101, keys.Count);
    }

    [Fact]
    public async Task SendAsync_DirectFramingWhileWebSocketSendsPings_PeerReadsEveryMessage()
    {
        // The server WebSocket writes keep-alive pings on its own, through the same transport, while messages are
        // framed straight into it: frames must never split each other.
        using var pair = await WebSocketPair.CreateAsync(Ct);
        var transport = new BatchingTransportStream(pair.ServerStream, leaveOpen: true) { Framing = TransportFraming.WebSocketServer };
        var socket = WebSocket.CreateFromStream(transport, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.FromMilliseconds(1) });
        await using var server = new WebSocketMessageChannel(socket, new WebSocketMessageChannelOptions { SendChunkSize = 1024 }, transport);
        await using var client = new WebSocketMessageChannel(pair.Client);
        const int Messages = 300;

        var sending = Task.WhenAll(Enumerable.Range(0, 4).Select(sender => Task.Run(
            async () =>
            {
                for (var i = 0; i < Messages / 4; i++)
                {
                    var id = (ulong)((sender * 1000) + i);
                    await server.SendAsync(id, "p", Payload(id), Ct);
                }
            },
            Ct)));

        for (var i = 0; i < Messages; i++)
        {
            var message = await client.ReceiveAsync(Ct);
            Assert.NotNull(message);
            Assert.Equal(Payload(message.Id), message.Data.ToArray());
        }

        await sending;
    }

    [Fact]
    public async Task SendAsync_DirectFramingAfterClose_ThrowsLikeTheWebSocket()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        var transport = new BatchingTransportStream(pair.ServerStream, leaveOpen: true) { Framing = TransportFraming.WebSocketServer };
        var socket = WebSocket.CreateFromStream(transport, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
        await using var server = new WebSocketMessageChannel(socket, options: null, transport);

        // Close output through the WebSocket itself (as a peer-initiated or owner close would): data frames must stop.
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", Ct);

        await Assert.ThrowsAnyAsync<Exception>(async () => await server.SendAsync(1, "late", new byte[3], Ct));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ApplyMask_AnyLengthAndKeyOffset_MatchesBytewiseXor(int keyOffset)
    {
        byte[] key = [0x12, 0x34, 0x56, 0x78];
        var random = new Random(keyOffset);
        for (var length = 0; length < 70; length++)
        {
            var payload = new byte[length];
            random.NextBytes(payload);
            var expected = payload.Select((b, i) => (byte)(b ^ key[(keyOffset + i) % 4])).ToArray();

            BatchingTransportStream.ApplyMask(payload, key, keyOffset);

            Assert.Equal(expected, payload);
        }
    }

    private static (WebSocketMessageChannel Sender, WebSocket Receiver) Connect(WebSocketPair pair, bool masked, int chunkSize)
    {
        var options = new WebSocketMessageChannelOptions { SendChunkSize = chunkSize };
        if (masked)
        {
            var transport = new BatchingTransportStream(pair.ClientStream, leaveOpen: true) { Framing = TransportFraming.WebSocketClient };
            var socket = WebSocket.CreateFromStream(transport, new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
            return (new WebSocketMessageChannel(socket, options, transport), pair.Server);
        }
        else
        {
            var transport = new BatchingTransportStream(pair.ServerStream, leaveOpen: true) { Framing = TransportFraming.WebSocketServer };
            var socket = WebSocket.CreateFromStream(transport, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
            return (new WebSocketMessageChannel(socket, options, transport), pair.Client);
        }
    }

    private static byte[] Payload(ulong id)
    {
        var payload = new byte[(int)(id % 997) * 7];
        new Random((int)id).NextBytes(payload);
        return payload;
    }
}
