using System.Collections.Concurrent;
using System.Net.WebSockets;

namespace Keyroom.Protocol.Tests;

public sealed class BatchingTransportStreamTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SendAsync_MessageWithThreeDataPackets_LeavesInOneTransportWrite()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        var recording = new RecordingStream(pair.ServerStream);
        var transport = new BatchingTransportStream(recording, leaveOpen: true);
        var socket = WebSocket.CreateFromStream(transport, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
        await using var server = new WebSocketMessageChannel(socket, new WebSocketMessageChannelOptions { SendChunkSize = 1024 }, transport);
        await using var client = new WebSocketMessageChannel(pair.Client);
        var data = new byte[3000];
        new Random(7).NextBytes(data);

        await server.SendAsync(9, "batched", data, Ct);
        var message = await client.ReceiveAsync(Ct);

        var write = Assert.Single(recording.Writes);
        Assert.Equal(FrameEncoder.Encode(9, "batched", data, 1024).Sum(p => p.Length + FrameSize(p.Length, masked: false)), write);
        Assert.NotNull(message);
        Assert.Equal(9ul, message.Id);
        Assert.Equal("batched", message.Type);
        Assert.Equal(data, message.Data.ToArray());
    }

    [Fact]
    public async Task SendAsync_ManyConcurrentSendersOverBatchingTransport_EveryMessageArrivesWhole()
    {
        using var pair = await WebSocketPair.CreateAsync(Ct);
        var transport = new BatchingTransportStream(pair.ServerStream, leaveOpen: true);
        var socket = WebSocket.CreateFromStream(transport, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
        await using var server = new WebSocketMessageChannel(socket, new WebSocketMessageChannelOptions { SendChunkSize = 1024, SendQueueCapacity = 4 }, transport);
        await using var client = new WebSocketMessageChannel(pair.Client);
        const int Senders = 16;
        const int MessagesPerSender = 40;

        var sending = Task.WhenAll(Enumerable.Range(0, Senders).Select(sender => Task.Run(
            async () =>
            {
                for (int j = 0; j < MessagesPerSender; j++)
                {
                    var id = (ulong)((sender * 1000) + j);
                    await server.SendAsync(id, "s" + sender, PayloadFor(id), Ct);
                }
            },
            Ct)));

        var lastBySender = new Dictionary<string, ulong>();
        for (int i = 0; i < Senders * MessagesPerSender; i++)
        {
            var message = await client.ReceiveAsync(Ct);
            Assert.NotNull(message);
            Assert.Equal("s" + (message.Id / 1000), message.Type);
            Assert.Equal(PayloadFor(message.Id), message.Data.ToArray());

            // One sender's messages keep their order.
            if (lastBySender.TryGetValue(message.Type, out var last))
            {
                Assert.True(message.Id > last, $"{message.Id} after {last}");
            }

            lastBySender[message.Type] = message.Id;
        }

        await sending;
    }

    [Fact]
    public async Task WriteAsync_OutsideBatch_PassesStraightThrough()
    {
        var recording = new RecordingStream(Stream.Null);
        await using var transport = new BatchingTransportStream(recording);

        await transport.WriteAsync(new byte[3], Ct);
        await transport.WriteAsync(new byte[5], Ct);

        Assert.Equal([3, 5], recording.Writes);
    }

    [Fact]
    public async Task EndBatchAsync_WritesDuringBatch_OneWriteInOrder()
    {
        var recording = new RecordingStream(Stream.Null);
        await using var transport = new BatchingTransportStream(recording);

        transport.BeginBatch();
        await transport.WriteAsync(new byte[] { 1, 2 }, Ct);
        await transport.FlushAsync(Ct);
        await transport.WriteAsync(new byte[] { 3 }, Ct);
        Assert.Empty(recording.Writes);
        await transport.EndBatchAsync(Ct);

        Assert.Equal([3], recording.Writes);
        Assert.Equal(new byte[] { 1, 2, 3 }, recording.Bytes.ToArray());
    }

    [Fact]
    public async Task WriteAsync_BatchWouldExceedMax_FlushesHeldBytesThenWritesThrough()
    {
        var recording = new RecordingStream(Stream.Null);
        await using var transport = new BatchingTransportStream(recording);
        var big = Enumerable.Repeat((byte)9, BatchingTransportStream.MaxBatchBytes).ToArray();

        transport.BeginBatch();
        await transport.WriteAsync(new byte[] { 1 }, Ct);
        await transport.WriteAsync(big, Ct);
        await transport.WriteAsync(new byte[] { 2 }, Ct);
        await transport.EndBatchAsync(Ct);

        Assert.Equal([1, BatchingTransportStream.MaxBatchBytes, 1], recording.Writes);
        var bytes = recording.Bytes.ToArray();
        Assert.Equal(1, bytes[0]);
        Assert.Equal(2, bytes[^1]);
    }

    [Fact]
    public async Task EndBatchAsync_TransportWriteFails_ThrowsAndLaterWritesStillWork()
    {
        var failing = new RecordingStream(Stream.Null) { FailNextWrite = true };
        await using var transport = new BatchingTransportStream(failing);

        transport.BeginBatch();
        await transport.WriteAsync(new byte[] { 1 }, Ct);
        await Assert.ThrowsAsync<IOException>(async () => await transport.EndBatchAsync(Ct));
        await transport.WriteAsync(new byte[] { 2 }, Ct);

        Assert.Equal([1], failing.Writes);
    }

    [Fact]
    public async Task AbortWrites_WriteStuckOnTransport_IsCancelled()
    {
        await using var transport = new BatchingTransportStream(new StuckWriteStream());
        var stuck = transport.WriteAsync(new byte[10], CancellationToken.None).AsTask();
        await Task.Delay(50, Ct);
        Assert.False(stuck.IsCompleted);

        transport.AbortWrites();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stuck.WaitAsync(TimeSpan.FromSeconds(10), Ct));
    }

    /// <summary>The WebSocket frame header size the server adds to a payload (unmasked, as a server sends).</summary>
    private static int FrameSize(int payload, bool masked) => (payload <= 125 ? 2 : payload <= ushort.MaxValue ? 4 : 10) + (masked ? 4 : 0);

    private static byte[] PayloadFor(ulong id)
    {
        var random = new Random((int)(id % int.MaxValue));
        var data = new byte[random.Next(0, 3000)];
        random.NextBytes(data);
        return data;
    }

    /// <summary>A stream whose writes wait until cancelled (a peer that stopped reading).</summary>
    private sealed class StuckWriteStream : TestStream
    {
        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            await Task.Delay(Timeout.Infinite, cancellationToken);
    }

    /// <summary>Passes writes to an inner stream and records the size of each (reads pass through).</summary>
    internal sealed class RecordingStream(Stream inner) : Stream
    {
        public ConcurrentQueue<int> Writes { get; } = new();

        public MemoryStream Bytes { get; } = new();

        public bool FailNextWrite { get; set; }

        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (FailNextWrite)
            {
                FailNextWrite = false;
                throw new IOException("write failed");
            }

            Writes.Enqueue(buffer.Length);
            lock (Bytes)
            {
                Bytes.Write(buffer.Span);
            }

            await inner.WriteAsync(buffer, cancellationToken);
        }
    }
}
