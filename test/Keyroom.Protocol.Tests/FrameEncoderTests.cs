using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using static Keyroom.Protocol.Tests.SpecExamples;

namespace Keyroom.Protocol.Tests;

public sealed class FrameEncoderTests
{
    [Fact]
    public void Encode_ResponseExample_MatchesSpecHex()
    {
        var content = new JsonContent(new JsonObject { ["exists"] = true });

        var packets = FrameEncoder.Encode(3, MessageTypes.Response, content.Encode());

        Assert.Equal(WsMessages("response_exists_true_id_3").Select(p => ToHex(p)), packets.Select(p => ToHex(p)));
    }

    [Fact]
    public void Encode_RequestExample_MatchesSpecHex()
    {
        var header = FramesHex["request_list_secrets_id_0"]!["packMessage_header_json"]!.DeepClone().AsObject();

        var packets = FrameEncoder.Encode(0, MessageTypes.InvokeTool, new PackedMessage(header).Encode());

        Assert.Equal(WsMessages("request_list_secrets_id_0").Select(p => ToHex(p)), packets.Select(p => ToHex(p)));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(1023, 1)]
    [InlineData(1024, 1)]
    [InlineData(1025, 2)]
    [InlineData(5000, 5)]
    [InlineData(1024 * 1024, 1024)]
    public void Encode_ClientChunkSize_CutsDataIn1024ByteChunks(int length, int expectedDataPackets)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);

        var packets = FrameEncoder.Encode(7, "t", data, FrameEncoder.ClientChunkSize);

        Assert.Equal(expectedDataPackets + 1, packets.Length);
        Assert.Equal(expectedDataPackets, FrameEncoder.GetDataPacketCount(length, 1024));
        Assert.Equal(17, packets[0].Length);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(packets[0].AsSpan(8)));
        Assert.Equal((uint)expectedDataPackets, BinaryPrimitives.ReadUInt32BigEndian(packets[0].AsSpan(12)));
        Assert.Equal("t", Encoding.UTF8.GetString(packets[0].AsSpan(16)));
        using var reassembled = new MemoryStream(length);
        for (int i = 1; i < packets.Length; i++)
        {
            Assert.Equal(7UL, BinaryPrimitives.ReadUInt64BigEndian(packets[i]));
            Assert.Equal((uint)i, BinaryPrimitives.ReadUInt32BigEndian(packets[i].AsSpan(8)));
            var expectedChunk = i < packets.Length - 1 ? 1024 : length - ((i - 1) * 1024);
            Assert.Equal(12 + expectedChunk, packets[i].Length);
            reassembled.Write(packets[i].AsSpan(12));
        }

        Assert.True(data.AsSpan().SequenceEqual(reassembled.ToArray()));
    }

    [Fact]
    public void Encode_ServerChunkSize64KiB_UsesLargePackets()
    {
        var packets = FrameEncoder.Encode(1, "t", new byte[(64 * 1024) + 1], 64 * 1024);

        Assert.Equal(3, packets.Length);
        Assert.Equal(12 + (64 * 1024), packets[1].Length);
        Assert.Equal(13, packets[2].Length);
    }

    [Fact]
    public void Encode_IdAboveUint32_SplitsIntoHighAndLowWords()
    {
        var packets = FrameEncoder.Encode(FrameEncoder.MaxMessageId, "t", new byte[1]);

        Assert.Equal("00200000" + "00000000", ToHex(packets[0].AsSpan(0, 8)));
        Assert.Equal("00200000" + "00000000", ToHex(packets[1].AsSpan(0, 8)));
    }

    [Fact]
    public void Encode_IdAbove2Pow53_ThrowsArgumentOutOfRange()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameEncoder.Encode(FrameEncoder.MaxMessageId + 1, "t", default));
    }

    [Fact]
    public void Encode_TypeWithUnpairedSurrogate_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => FrameEncoder.Encode(1, "bad\uD800", default));
    }

    [Fact]
    public void Encode_NonAsciiType_WritesUtf8()
    {
        var packets = FrameEncoder.Encode(1, "é✓", default);

        Assert.Equal("é✓", Encoding.UTF8.GetString(packets[0].AsSpan(16)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Encode_NonPositiveChunkSize_ThrowsArgumentOutOfRange(int chunkSize)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameEncoder.Encode(1, "t", new byte[3], chunkSize));
    }

    [Fact]
    public void WriteHeaderPacket_DestinationTooSmall_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => FrameEncoder.WriteHeaderPacket(new byte[16], 1, "t"u8, 0));
    }

    [Fact]
    public void WriteDataPacket_IndexZero_ThrowsArgumentOutOfRange()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameEncoder.WriteDataPacket(new byte[20], 1, 0, "x"u8));
    }
}
