using System.Buffers.Binary;
using System.Text.Json.Nodes;
using static Keyroom.Protocol.Tests.SpecExamples;

namespace Keyroom.Protocol.Tests;

public sealed class MessageAssemblerTests
{
    [Fact]
    public void Push_ResponseExamplePackets_YieldsResponseContent()
    {
        using var assembler = new MessageAssembler();
        var packets = WsMessages("response_exists_true_id_3");

        Assert.False(assembler.Push(packets[0], out var none));
        Assert.Null(none);
        Assert.True(assembler.IsMessageInProgress);
        Assert.True(assembler.Push(packets[1], out var message));

        Assert.Equal(3UL, message.Id);
        Assert.Same(MessageTypes.Response, message.Type);
        Assert.False(assembler.IsMessageInProgress);
        Assert.Equal(new JsonContent(new JsonObject { ["exists"] = true }), Content.Decode(message.Data));
    }

    [Fact]
    public void Push_HeaderWithZeroCount_CompletesImmediatelyWithEmptyData()
    {
        using var assembler = new MessageAssembler();

        Assert.True(assembler.Push(FrameEncoder.Encode(9, "ping", default)[0], out var message));

        Assert.Equal(9UL, message.Id);
        Assert.Equal("ping", message.Type);
        Assert.True(message.Data.IsEmpty);
    }

    [Fact]
    public void Push_ManyMessagesInSequence_EachReturnedDataStaysIntact()
    {
        using var assembler = new MessageAssembler();
        var results = new List<ProtocolMessage>();
        for (ulong id = 0; id < 5; id++)
        {
            foreach (var packet in FrameEncoder.Encode(id, "t", Enumerable.Repeat((byte)id, 3000).ToArray()))
            {
                if (assembler.Push(packet, out var message))
                {
                    results.Add(message);
                }
            }
        }

        Assert.Equal(5, results.Count);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal((ulong)i, results[i].Id);
            Assert.All(results[i].Data.ToArray(), b => Assert.Equal((byte)i, b));
        }
    }

    [Fact]
    public void Push_EmptyDataChunks_Accepted()
    {
        using var assembler = new MessageAssembler();
        Assert.False(assembler.Push(HeaderPacket(1, 2, "t"u8), out _));
        Assert.False(assembler.Push(DataPacket(1, 1, default), out _));

        Assert.True(assembler.Push(DataPacket(1, 2, default), out var message));

        Assert.True(message.Data.IsEmpty);
    }

    [Fact]
    public void Push_MessageExactlyAtSizeLimit_Accepted()
    {
        using var assembler = new MessageAssembler(new MessageAssemblerOptions { MaxMessageSize = 2048 });

        var message = PushAll(assembler, FrameEncoder.Encode(1, "t", new byte[2048]));

        Assert.Equal(2048, message.Data.Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(11)]
    public void Push_PacketShorterThanPrefix_ThrowsMalformed(int length)
    {
        using var assembler = new MessageAssembler();

        var ex = Assert.Throws<ProtocolException>(() => assembler.Push(new byte[length], out _));

        Assert.Equal(ProtocolErrorKind.Malformed, ex.Kind);
        Assert.Contains("shorter than", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(12)]
    [InlineData(15)]
    public void Push_HeaderPacketShorterThan16Bytes_ThrowsMalformed(int length)
    {
        using var assembler = new MessageAssembler();

        var ex = Assert.Throws<ProtocolException>(() => assembler.Push(new byte[length], out _));

        Assert.Equal(ProtocolErrorKind.Malformed, ex.Kind);
        Assert.Contains("16-byte header prefix", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Push_DataPacketWithNoMessageInProgress_ThrowsOutOfSequence()
    {
        using var assembler = new MessageAssembler();

        var ex = Assert.Throws<ProtocolException>(() => assembler.Push(DataPacket(1, 1, "x"u8), out _));

        Assert.Equal(ProtocolErrorKind.OutOfSequence, ex.Kind);
        Assert.Contains("no message in progress", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Push_HeaderPacketWhileMessageIncomplete_ThrowsOutOfSequence()
    {
        using var assembler = new MessageAssembler();
        assembler.Push(HeaderPacket(1, 2, "t"u8), out _);
        assembler.Push(DataPacket(1, 1, "x"u8), out _);

        var ex = Assert.Throws<ProtocolException>(() => assembler.Push(HeaderPacket(2, 1, "t"u8), out _));

        Assert.Equal(ProtocolErrorKind.OutOfSequence, ex.Kind);
        Assert.Contains("interleaved", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Push_DataPacketWithWrongId_ThrowsOutOfSequence()
    {
        using var assembler = new MessageAssembler();
        assembler.Push(HeaderPacket(1, 2, "t"u8), out _);

        var ex = Assert.Throws<ProtocolException>(() => assembler.Push(DataPacket(2, 1, "x"u8), out _));

        Assert.Equal(ProtocolErrorKind.OutOfSequence, ex.Kind);
        Assert.Contains("message 2", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2u)]
    [InlineData(3u)]
    [InlineData(uint.MaxValue)]
    public void Push_DataPacketIndexOutOfOrder_ThrowsOutOfSequence(uint index)
    {
        using var assembler = new MessageAssembler();
        assembler.Push(HeaderPacket(1, 3, "t"u8), out _);

        var ex = Assert.Throws<ProtocolException>(() => assembler.Push(DataPacket(1, index, "x"u8), out _));

        Assert.Equal(ProtocolErrorKind.OutOfSequence, ex.Kind);
        Assert.Contains("expected packet 1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Push_DataPacketIndexRepeated_ThrowsOutOfSequence()
    {
        using var assembler = new MessageAssembler();
        assembler.Push(HeaderPacket(1, 3, "t"u8), out _);
        assembler.Push(DataPacket(1, 1, "x"u8), out _);

        var ex = Assert.Throws<ProtocolException>(() => assembler.Push(DataPacket(1, 1, "x"u8), out _));

        Assert.Equal(ProtocolErrorKind.OutOfSequence, ex.Kind);
    }

    [Fact]
    public void Push_DeclaredCountOverLimit_ThrowsLimitExceeded()
    {
        using var assembler = new MessageAssembler(new MessageAssemblerOptions { MaxPacketsPerMessage = 10 });
        Assert.False(assembler.Push(HeaderPacket(1, 10, "t"u8), out _));
        assembler.Reset();

        var ex = Assert.Throws<ProtocolException>(() => assembler.Push(HeaderPacket(1, 11, "t"u8), out _));

        Assert.Equal(ProtocolErrorKind.LimitExceeded, ex.Kind);
        Assert.Contains("11 data packets", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Push_DeclaredCountMaxUInt32_ThrowsLimitExceeded()
    {
        using var assembler = new MessageAssembler();

        var ex = Assert.Throws<ProtocolException>(() => assembler.Push(HeaderPacket(1, uint.MaxValue, "t"u8), out _));

        Assert.Equal(ProtocolErrorKind.LimitExceeded, ex.Kind);
    }

    [Fact]
    public void Push_AccumulatedSizeOverLimit_ThrowsLimitExceeded()
    {
        using var assembler = new MessageAssembler(new MessageAssemblerOptions { MaxMessageSize = 2048 });
        var packets = FrameEncoder.Encode(1, "t", new byte[2049]);
        assembler.Push(packets[0], out _);
        assembler.Push(packets[1], out _);
        assembler.Push(packets[2], out _);

        var ex = Assert.Throws<ProtocolException>(() => assembler.Push(packets[3], out _));

        Assert.Equal(ProtocolErrorKind.LimitExceeded, ex.Kind);
        Assert.Contains("2048-byte limit", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Push_SingleDataPacketOverSizeLimit_ThrowsLimitExceeded()
    {
        using var assembler = new MessageAssembler(new MessageAssemblerOptions { MaxMessageSize = 100 });
        assembler.Push(HeaderPacket(1, 1, "t"u8), out _);

        var ex = Assert.Throws<ProtocolException>(() => assembler.Push(DataPacket(1, 1, new byte[101]), out _));

        Assert.Equal(ProtocolErrorKind.LimitExceeded, ex.Kind);
    }

    [Fact]
    public void Push_TypeOverLimit_ThrowsLimitExceeded()
    {
        using var assembler = new MessageAssembler(new MessageAssemblerOptions { MaxTypeLength = 4 });
        Assert.True(assembler.Push(HeaderPacket(1, 0, "abcd"u8), out _));

        var ex = Assert.Throws<ProtocolException>(() => assembler.Push(HeaderPacket(1, 0, "abcde"u8), out _));

        Assert.Equal(ProtocolErrorKind.LimitExceeded, ex.Kind);
    }

    [Theory]
    [InlineData(new byte[] { 0xC3, 0x28 })]
    [InlineData(new byte[] { 0xC0, 0xAF })]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { 0x61, 0xE2, 0x82 })]
    public void Push_InvalidUtf8Type_ThrowsMalformed(byte[] type)
    {
        using var assembler = new MessageAssembler();

        var ex = Assert.Throws<ProtocolException>(() => assembler.Push(HeaderPacket(1, 0, type), out _));

        Assert.Equal(ProtocolErrorKind.Malformed, ex.Kind);
        Assert.Contains("UTF-8", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Push_IdAbove2Pow53_ThrowsMalformed()
    {
        using var assembler = new MessageAssembler();
        Assert.True(assembler.Push(HeaderPacket(FrameEncoder.MaxMessageId, 0, "t"u8), out var ok));
        Assert.Equal(FrameEncoder.MaxMessageId, ok.Id);

        var ex = Assert.Throws<ProtocolException>(() => assembler.Push(HeaderPacket(FrameEncoder.MaxMessageId + 1, 0, "t"u8), out _));

        Assert.Equal(ProtocolErrorKind.Malformed, ex.Kind);
    }

    [Fact]
    public void Push_AfterRejection_DiscardsPartialMessageAndAcceptsNewOne()
    {
        using var assembler = new MessageAssembler();
        assembler.Push(HeaderPacket(1, 2, "t"u8), out _);
        assembler.Push(DataPacket(1, 1, "stale"u8), out _);
        Assert.Throws<ProtocolException>(() => assembler.Push(DataPacket(1, 5, "x"u8), out _));
        Assert.False(assembler.IsMessageInProgress);

        var message = PushAll(assembler, FrameEncoder.Encode(2, "t", "fresh"u8));

        Assert.Equal("fresh"u8.ToArray(), message.Data.ToArray());
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsArgumentOutOfRange()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MessageAssembler(new MessageAssemblerOptions { MaxMessageSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MessageAssembler(new MessageAssemblerOptions { MaxPacketsPerMessage = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MessageAssembler(new MessageAssemblerOptions { MaxTypeLength = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MessageAssembler(new MessageAssemblerOptions { MaxMessageSize = int.MaxValue }));
    }

    [Fact]
    public void Options_Defaults_MatchDocumentedLimits()
    {
        var options = MessageAssemblerOptions.Default;

        Assert.Equal(2 * 1024 * 1024, options.MaxMessageSize);
        Assert.Equal(4096, options.MaxPacketsPerMessage);
        Assert.Equal(256, options.MaxTypeLength);
        Assert.Equal((2 * 1024 * 1024) + 12, options.MaxPacketSize);
    }

    [Fact]
    public void Push_AfterDispose_ThrowsObjectDisposed()
    {
        var assembler = new MessageAssembler();
        assembler.Dispose();

        Assert.Throws<ObjectDisposedException>(() => assembler.Push(HeaderPacket(1, 0, "t"u8), out _));
    }

    internal static byte[] HeaderPacket(ulong id, uint count, ReadOnlySpan<byte> type)
    {
        var packet = new byte[16 + type.Length];
        BinaryPrimitives.WriteUInt64BigEndian(packet, id);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(12), count);
        type.CopyTo(packet.AsSpan(16));
        return packet;
    }

    internal static byte[] DataPacket(ulong id, uint index, ReadOnlySpan<byte> chunk)
    {
        var packet = new byte[12 + chunk.Length];
        BinaryPrimitives.WriteUInt64BigEndian(packet, id);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(8), index);
        chunk.CopyTo(packet.AsSpan(12));
        return packet;
    }

    private static ProtocolMessage PushAll(MessageAssembler assembler, byte[][] packets)
    {
        for (int i = 0; i < packets.Length - 1; i++)
        {
            Assert.False(assembler.Push(packets[i], out _));
        }

        Assert.True(assembler.Push(packets[^1], out var message));
        return message;
    }
}
