using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Keyroom.Protocol.Tests;

public sealed class WebSocketTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SendMessageAsync_ResponseExample_WireMatchesSpecPackets()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        var data = new JsonContent(new JsonObject { ["exists"] = true }).Encode();

        await WebSocketPackets.SendMessageAsync(pair.Server, 3, MessageTypes.Response, data, FrameEncoder.ClientChunkSize, Ct);

        var expected = SpecExamples.WsMessages("response_exists_true_id_3");
        foreach (var packet in expected)
        {
            var buffer = new ArrayBufferWriter<byte>();
            Assert.True(await WebSocketPackets.ReceivePacketAsync(pair.Client, buffer, 1 << 20, Ct));
            Assert.Equal(packet, buffer.WrittenSpan.ToArray());
        }
    }

    [Fact]
    public async Task SendMessageAsync_LargeDataWithClientChunks_EachPacketIsOneBinaryMessage()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        var data = new byte[3000];
        new Random(1).NextBytes(data);

        var send = WebSocketPackets.SendMessageAsync(pair.Client, 5, "t", data, 1024, Ct).AsTask();
        var packets = new List<byte[]>();
        for (int i = 0; i < 4; i++)
        {
            var buffer = new byte[4096];
            var result = await pair.Server.ReceiveAsync(buffer.AsMemory(), Ct);
            Assert.Equal(WebSocketMessageType.Binary, result.MessageType);
            Assert.True(result.EndOfMessage);
            packets.Add(buffer[..result.Count]);
        }

        await send;
        Assert.Equal(FrameEncoder.Encode(5, "t", data, 1024), packets);
    }

    [Fact]
    public async Task ReceivePacketAsync_TextMessage_ThrowsUnsupportedFrame()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        await pair.Client.SendAsync("hello"u8.ToArray(), WebSocketMessageType.Text, true, Ct);

        var ex = await Assert.ThrowsAsync<ProtocolException>(
            async () => await WebSocketPackets.ReceivePacketAsync(pair.Server, new ArrayBufferWriter<byte>(), 1024, Ct));

        Assert.Equal(ProtocolErrorKind.UnsupportedFrame, ex.Kind);
    }

    [Fact]
    public async Task ReceivePacketAsync_MessageOverCap_ThrowsLimitExceeded()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        await pair.Client.SendAsync(new byte[100], WebSocketMessageType.Binary, true, Ct);
        await pair.Client.SendAsync(new byte[101], WebSocketMessageType.Binary, true, Ct);

        var buffer = new ArrayBufferWriter<byte>();
        Assert.True(await WebSocketPackets.ReceivePacketAsync(pair.Server, buffer, 100, Ct));
        Assert.Equal(100, buffer.WrittenCount);
        buffer.ResetWrittenCount();
        var ex = await Assert.ThrowsAsync<ProtocolException>(
            async () => await WebSocketPackets.ReceivePacketAsync(pair.Server, buffer, 100, Ct));

        Assert.Equal(ProtocolErrorKind.LimitExceeded, ex.Kind);
        Assert.Equal(0, buffer.WrittenCount);
    }

    [Fact]
    public async Task ReceivePacketAsync_FragmentedBinaryMessage_ReadsWholeMessage()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        await pair.Client.SendAsync(new byte[] { 1, 2 }, WebSocketMessageType.Binary, false, Ct);
        await pair.Client.SendAsync(new byte[] { 3 }, WebSocketMessageType.Binary, true, Ct);

        var buffer = new ArrayBufferWriter<byte>();
        Assert.True(await WebSocketPackets.ReceivePacketAsync(pair.Server, buffer, 3, Ct));

        Assert.Equal(new byte[] { 1, 2, 3 }, buffer.WrittenSpan.ToArray());
    }

    [Fact]
    public async Task ReceivePacketAsync_PeerCloses_ReturnsFalse()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        await pair.Client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", Ct);

        Assert.False(await WebSocketPackets.ReceivePacketAsync(pair.Server, new ArrayBufferWriter<byte>(), 1024, Ct));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, pair.Server.CloseStatus);
    }

    [Fact]
    public async Task SendAsync_ConcurrentSendersOnOneChannel_PacketsOfMessagesNeverInterleave()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        await using var server = new WebSocketMessageChannel(
            pair.Server,
            new WebSocketMessageChannelOptions { SendChunkSize = 1024, SendQueueCapacity = 4 });
        const int Senders = 32;
        const int MessagesPerSender = 25;

        var sending = Task.WhenAll(Enumerable.Range(0, Senders).Select(sender => Task.Run(
            async () =>
            {
                for (int j = 0; j < MessagesPerSender; j++)
                {
                    var id = (ulong)((sender * 1000) + j);
                    await server.SendAsync(id, "sender-" + sender, PayloadFor(id), Ct);
                }
            },
            Ct)));

        // Read raw packets and check the framing directly: a header, then exactly its N data packets.
        var received = new Dictionary<ulong, byte[]>();
        var buffer = new ArrayBufferWriter<byte>();
        using var assembler = new MessageAssembler();
        while (received.Count < Senders * MessagesPerSender)
        {
            buffer.ResetWrittenCount();
            Assert.True(await WebSocketPackets.ReceivePacketAsync(pair.Client, buffer, 1 << 20, Ct));
            var header = buffer.WrittenSpan.ToArray();
            Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8)));
            var id = BinaryPrimitives.ReadUInt64BigEndian(header);
            var count = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12));
            Assert.Equal("sender-" + (id / 1000), Encoding.UTF8.GetString(header.AsSpan(16)));
            ProtocolMessage? message = null;
            Assert.Equal(count == 0, assembler.Push(header, out message));
            for (uint index = 1; index <= count; index++)
            {
                buffer.ResetWrittenCount();
                Assert.True(await WebSocketPackets.ReceivePacketAsync(pair.Client, buffer, 1 << 20, Ct));
                Assert.Equal(id, BinaryPrimitives.ReadUInt64BigEndian(buffer.WrittenSpan));
                Assert.Equal(index, BinaryPrimitives.ReadUInt32BigEndian(buffer.WrittenSpan[8..]));
                Assert.Equal(index == count, assembler.Push(buffer.WrittenSpan, out message));
            }

            Assert.NotNull(message);
            Assert.True(received.TryAdd(id, message.Data.ToArray()), $"message {id} received twice");
        }

        await sending;
        foreach (var (id, data) in received)
        {
            Assert.Equal(PayloadFor(id), data);
        }
    }

    [Fact]
    public async Task SendAsync_OneSendersMessages_ArriveInSendOrder()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        await using var server = new WebSocketMessageChannel(pair.Server);
        await using var client = new WebSocketMessageChannel(pair.Client);

        for (ulong id = 0; id < 50; id++)
        {
            await server.SendAsync(id, "t", PayloadFor(id), Ct);
        }

        for (ulong id = 0; id < 50; id++)
        {
            var message = await client.ReceiveAsync(Ct);
            Assert.NotNull(message);
            Assert.Equal(id, message.Id);
            Assert.Equal(PayloadFor(id), message.Data.ToArray());
        }
    }

    [Fact]
    public async Task Channel_BothDirectionsThenClose_CompletesCloseHandshake()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        await using var server = new WebSocketMessageChannel(pair.Server, new WebSocketMessageChannelOptions { SendChunkSize = 64 * 1024 });
        await using var client = new WebSocketMessageChannel(pair.Client);
        var request = new InvokeToolRequest("secrets", "list_secrets", new JsonContent([])).Encode();
        var big = new FileContent(new byte[1024 * 1024], "f", "application/octet-stream").Encode();

        await client.SendAsync(0, MessageTypes.InvokeTool, request, Ct);
        var received = await server.ReceiveAsync(Ct);
        Assert.NotNull(received);
        Assert.Equal("list_secrets", InvokeToolRequest.Decode(received.Data).Tool);
        await server.SendAsync(received.Id, MessageTypes.Response, big, Ct);
        var response = await client.ReceiveAsync(Ct);
        Assert.NotNull(response);
        Assert.Equal(big, response.Data.ToArray());

        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", Ct);
        var serverMessages = new List<ProtocolMessage>();
        await foreach (var message in server.ReadAllAsync(Ct))
        {
            serverMessages.Add(message);
        }

        Assert.Empty(serverMessages);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, server.CloseStatus);
        Assert.Equal("done", server.CloseStatusDescription);
        await server.CloseAsync(WebSocketCloseStatus.NormalClosure, null, Ct);
        Assert.Null(await client.ReceiveAsync(Ct));
        Assert.Null(await client.ReceiveAsync(Ct));
        Assert.Equal(WebSocketState.Closed, client.State);
    }

    [Fact]
    public async Task SendAsync_AfterClose_ThrowsInvalidOperation()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        await using var channel = new WebSocketMessageChannel(pair.Server);
        await channel.CloseAsync(WebSocketCloseStatus.NormalClosure, null, Ct);

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await channel.SendAsync(1, "t", default, Ct));
    }

    [Fact]
    public async Task SendAsync_AfterDispose_ThrowsObjectDisposed()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        var channel = new WebSocketMessageChannel(pair.Server);
        await channel.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await channel.SendAsync(1, "t", default, Ct));
        Assert.Equal(WebSocketState.Closed, pair.Server.State);
    }

    [Fact]
    public async Task SendAsync_CancelledBeforeQueued_NothingIsSent()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        await using var server = new WebSocketMessageChannel(pair.Server);
        await using var client = new WebSocketMessageChannel(pair.Client);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await server.SendAsync(1, "dropped", default, cancelled.Token));
        await server.SendAsync(2, "kept", default, Ct);

        var message = await client.ReceiveAsync(Ct);
        Assert.NotNull(message);
        Assert.Equal("kept", message.Type);
    }

    [Fact]
    public async Task SendAsync_InvalidArguments_ThrowBeforeQueueing()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        await using var channel = new WebSocketMessageChannel(pair.Server);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await channel.SendAsync(FrameEncoder.MaxMessageId + 1, "t", default, Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await channel.SendAsync(1, "\uDC00", default, Ct));
    }

    [Fact]
    public async Task ReceiveAsync_TextFrameFromPeer_ThrowsThenReportsFailure()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        await using var server = new WebSocketMessageChannel(pair.Server);
        await pair.Client.SendAsync("{\"json\":true}"u8.ToArray(), WebSocketMessageType.Text, true, Ct);

        var ex = await Assert.ThrowsAsync<ProtocolException>(async () => await server.ReceiveAsync(Ct));
        Assert.Equal(ProtocolErrorKind.UnsupportedFrame, ex.Kind);

        var again = await Assert.ThrowsAsync<InvalidOperationException>(async () => await server.ReceiveAsync(Ct));
        Assert.Same(ex, again.InnerException);
    }

    [Fact]
    public async Task ReceiveAsync_InterleavedPacketsFromPeer_ThrowsOutOfSequence()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        await using var server = new WebSocketMessageChannel(pair.Server);
        var first = FrameEncoder.Encode(1, "a", new byte[2000]);
        var second = FrameEncoder.Encode(2, "b", new byte[10]);
        foreach (var packet in new[] { first[0], first[1], second[0] })
        {
            await pair.Client.SendAsync(packet, WebSocketMessageType.Binary, true, Ct);
        }

        var ex = await Assert.ThrowsAsync<ProtocolException>(async () => await server.ReceiveAsync(Ct));

        Assert.Equal(ProtocolErrorKind.OutOfSequence, ex.Kind);
    }

    [Fact]
    public async Task ReceiveAsync_PacketOverReceiveLimit_ThrowsLimitExceeded()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        await using var server = new WebSocketMessageChannel(
            pair.Server,
            new WebSocketMessageChannelOptions { Receive = new MessageAssemblerOptions { MaxMessageSize = 1000 } });
        foreach (var packet in FrameEncoder.Encode(1, "t", new byte[1001], 4096))
        {
            await pair.Client.SendAsync(packet, WebSocketMessageType.Binary, true, Ct);
        }

        var ex = await Assert.ThrowsAsync<ProtocolException>(async () => await server.ReceiveAsync(Ct));

        Assert.Equal(ProtocolErrorKind.LimitExceeded, ex.Kind);
    }

    [Fact]
    public async Task ReceiveAsync_SecondConcurrentReceive_ThrowsInvalidOperation()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        await using var server = new WebSocketMessageChannel(pair.Server);
        var pending = server.ReceiveAsync(Ct).AsTask();

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await server.ReceiveAsync(Ct));

        await pair.Client.SendAsync(FrameEncoder.Encode(4, "t", default)[0], WebSocketMessageType.Binary, true, Ct);
        var message = await pending;
        Assert.NotNull(message);
        Assert.Equal(4UL, message.Id);
    }

    [Fact]
    public async Task DisposeAsync_WhileReceivePending_PendingReceiveFails()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        var server = new WebSocketMessageChannel(pair.Server);
        var pending = server.ReceiveAsync(Ct).AsTask();

        await server.DisposeAsync();

        await Assert.ThrowsAnyAsync<Exception>(async () => await pending);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await server.ReceiveAsync(Ct));
    }

    [Fact]
    public async Task SendAsync_ManyConcurrentSendersAndPeerReading_AllCompleteAndAllArrive()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        await using var server = new WebSocketMessageChannel(pair.Server, new WebSocketMessageChannelOptions { SendQueueCapacity = 2 });
        await using var client = new WebSocketMessageChannel(pair.Client);
        var ids = new ConcurrentBag<ulong>();

        var reading = Task.Run(
            async () =>
            {
                await foreach (var message in client.ReadAllAsync(Ct))
                {
                    Assert.Equal(PayloadFor(message.Id), message.Data.ToArray());
                    ids.Add(message.Id);
                    if (ids.Count == 400)
                    {
                        return;
                    }
                }
            },
            Ct);
        await Parallel.ForAsync(0, 400, Ct, async (i, token) => await server.SendAsync((ulong)i, "t", PayloadFor((ulong)i), token));
        await reading;

        Assert.Equal(Enumerable.Range(0, 400).Select(i => (ulong)i), ids.Order());
    }

    [Fact]
    public async Task SendAsync_SocketWriteFails_FailsThatSendAndAllLaterSends()
    {
        var socket = WebSocket.CreateFromStream(new FailingWriteStream(), new WebSocketCreationOptions { KeepAliveInterval = TimeSpan.Zero });
        await using var channel = new WebSocketMessageChannel(socket);

        var first = await Assert.ThrowsAnyAsync<Exception>(async () => await channel.SendAsync(1, "t", new byte[10], Ct));
        Assert.IsNotType<OperationCanceledException>(first, exactMatch: false);

        var later = await Assert.ThrowsAsync<WebSocketException>(async () => await channel.SendAsync(2, "t", default, Ct));
        Assert.NotNull(later.InnerException);
        Assert.Equal(WebSocketState.Aborted, channel.State);
    }

    private static byte[] PayloadFor(ulong id)
    {
        var random = new Random((int)(id % int.MaxValue));
        var data = new byte[random.Next(0, 5000)];
        random.NextBytes(data);
        return data;
    }

    /// <summary>A duplex stream whose reads never complete and whose writes always fail.</summary>
    private sealed class FailingWriteStream : TestStream
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }

        public override void Write(byte[] buffer, int offset, int count) => throw new IOException("write failed");

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromException(new IOException("write failed"));
    }
}
