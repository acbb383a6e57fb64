using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using static Keyroom.Protocol.Tests.SpecExamples;

namespace Keyroom.Protocol.Tests;

public sealed class PackedMessageTests
{
    private static readonly string BinaryExampleHex = FramesHex["packMessage_binary_content_example"]!["hex"]!.GetValue<string>();
    private static readonly string EmptyExampleHex = FramesHex["packMessage_empty_content_hex"]!.GetValue<string>();

    [Fact]
    public void Encode_BinaryContentExample_MatchesSpecHex()
    {
        var header = new JsonObject
        {
            ["type"] = "binary",
            ["headers"] = new JsonObject { ["request_id"] = "r1", ["error"] = null },
        };

        var bytes = new PackedMessage(header, "hunter2"u8.ToArray()).Encode();

        Assert.Equal(BinaryExampleHex, ToHex(bytes));
    }

    [Fact]
    public void Encode_EmptyContentExample_MatchesSpecHex()
    {
        var bytes = new PackedMessage(new JsonObject { ["type"] = "empty" }).Encode();

        Assert.Equal(EmptyExampleHex, ToHex(bytes));
    }

    [Fact]
    public void Decode_BinaryContentExampleHex_YieldsHeaderAndPayload()
    {
        var message = PackedMessage.Decode(Hex(BinaryExampleHex));

        Assert.Equal("""{"type":"binary","headers":{"request_id":"r1","error":null}}""", message.Header.ToJsonString());
        Assert.Equal("hunter2"u8.ToArray(), message.Payload.ToArray());
    }

    [Fact]
    public void Decode_EmptyContentExampleHex_YieldsHeaderAndNoPayload()
    {
        var message = PackedMessage.Decode(Hex(EmptyExampleHex));

        Assert.Equal("""{"type":"empty"}""", message.Header.ToJsonString());
        Assert.True(message.Payload.IsEmpty);
    }

    [Fact]
    public void Decode_ValidEnvelope_PayloadIsSliceOfInputNotCopy()
    {
        var data = Hex(BinaryExampleHex);

        var message = PackedMessage.Decode(data);

        Assert.True(MemoryMarshal.TryGetArray(message.Payload, out var segment));
        Assert.Same(data, segment.Array);
        Assert.Equal(data.Length - 7, segment.Offset);
    }

    [Fact]
    public void WriteTo_ArrayBufferWriter_MatchesEncode()
    {
        var message = new PackedMessage(new JsonObject { ["a"] = 1, ["b"] = new JsonArray(1, 2) }, new byte[] { 1, 2, 3 });
        var writer = new ArrayBufferWriter<byte>(1);

        writer.Write("xy"u8);
        message.WriteTo(writer);

        Assert.Equal([.. "xy"u8.ToArray(), .. message.Encode()], writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void Write_PreSerializedHeader_WritesPrefixHeaderAndPayload()
    {
        var writer = new ArrayBufferWriter<byte>();

        PackedMessage.Write(writer, """{"type":"empty"}"""u8, "zz"u8);

        Assert.Equal(EmptyExampleHex + "7a7a", ToHex(writer.WrittenSpan));
    }

    [Fact]
    public void Encode_NonAsciiAndHtmlCharacters_WrittenUnescapedLikeJsonStringify()
    {
        var bytes = new PackedMessage(new JsonObject { ["name"] = "é<&>'" }).Encode();

        Assert.Equal("""{"name":"é<&>'"}""", Encoding.UTF8.GetString(bytes.AsSpan(8)));
    }

    [Fact]
    public void Encode_NullValues_KeptInHeader()
    {
        var bytes = new PackedMessage(new JsonObject { ["error"] = null }).Encode();

        Assert.Equal("""{"error":null}""", Encoding.UTF8.GetString(bytes.AsSpan(8)));
    }

    [Fact]
    public void Split_ValidEnvelope_ReturnsHeaderBytesAndPayloadSlices()
    {
        var (header, payload) = PackedMessage.Split(Hex(BinaryExampleHex));

        Assert.Equal("""{"type":"binary","headers":{"request_id":"r1","error":null}}""", Encoding.UTF8.GetString(header.Span));
        Assert.Equal("hunter2", Encoding.UTF8.GetString(payload.Span));
    }

    [Fact]
    public void EncodeDecode_RoomHandshakeExamples_RoundTrip()
    {
        foreach (var example in RoomHandshake["messages"]!.AsArray())
        {
            var header = example!["header"]!.AsObject().DeepClone().AsObject();

            var decoded = PackedMessage.Decode(new PackedMessage(header).Encode());

            Assert.True(JsonNode.DeepEquals(header, decoded.Header));
            Assert.True(decoded.Payload.IsEmpty);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    public void Decode_ShorterThanLengthPrefix_ThrowsProtocolException(int length)
    {
        var ex = Assert.Throws<ProtocolException>(() => PackedMessage.Decode(new byte[length]));

        Assert.Contains("length prefix", ex.Message, StringComparison.Ordinal);
        Assert.Equal(ProtocolErrorKind.Malformed, ex.Kind);
    }

    [Fact]
    public void Decode_DeclaredLengthBeyondData_ThrowsProtocolException()
    {
        var data = Hex(EmptyExampleHex)[..^1];

        var ex = Assert.Throws<ProtocolException>(() => PackedMessage.Decode(data));

        Assert.Contains("16-byte header", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_HighLengthWordSet_ThrowsProtocolException()
    {
        var data = Hex(EmptyExampleHex);
        data[3] = 1;

        Assert.Throws<ProtocolException>(() => PackedMessage.Decode(data));
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    [InlineData("42")]
    [InlineData("null")]
    [InlineData("true")]
    [InlineData("{")]
    [InlineData("{\"a\":1} x")]
    [InlineData("{\"a\":1,}")]
    [InlineData("{/*c*/\"a\":1}")]
    [InlineData("{\"a\":1,\"a\":2}")]
    [InlineData("{'a':1}")]
    public void Decode_HeaderNotAStrictJsonObject_ThrowsProtocolException(string headerText)
    {
        var data = Envelope(Encoding.UTF8.GetBytes(headerText));

        Assert.Throws<ProtocolException>(() => PackedMessage.Decode(data));
    }

    [Fact]
    public void Decode_InvalidUtf8InHeaderString_ThrowsProtocolException()
    {
        byte[] header = [.. "{\"a\":\""u8.ToArray(), 0xC3, 0x28, .. "\"}"u8.ToArray()];

        Assert.Throws<ProtocolException>(() => PackedMessage.Decode(Envelope(header)));
    }

    [Theory]
    [InlineData("{\"a\":\"\\uD800\"}")]
    [InlineData("{\"\\uDC00x\":1}")]
    [InlineData("{\"a\":[\"\\uD800\\u0041\"]}")]
    public void Decode_UnpairedSurrogateEscape_ThrowsProtocolException(string headerText)
    {
        Assert.Throws<ProtocolException>(() => PackedMessage.Decode(Envelope(Encoding.UTF8.GetBytes(headerText))));
    }

    [Fact]
    public void Decode_InvalidUtf8InPropertyName_ThrowsProtocolException()
    {
        byte[] header = [.. "{\""u8.ToArray(), 0xDE, .. "\":1}"u8.ToArray()];

        Assert.Throws<ProtocolException>(() => PackedMessage.Decode(Envelope(header)));
    }

    [Fact]
    public void Decode_ValidEscapesAndSurrogatePairs_Accepted()
    {
        var message = PackedMessage.Decode(Envelope(Encoding.UTF8.GetBytes("{\"a\":\"\\uD83D\\uDE00 \\n é\"}")));

        Assert.Equal("😀 \n é", message.Header["a"]!.GetValue<string>());
    }

    [Fact]
    public void Decode_HeaderNestedTooDeep_ThrowsProtocolException()
    {
        var text = "{\"a\":" + new string('[', 100) + new string(']', 100) + "}";

        Assert.Throws<ProtocolException>(() => PackedMessage.Decode(Envelope(Encoding.UTF8.GetBytes(text))));
    }

    [Fact]
    public void Decode_InvalidJson_MessageDoesNotQuoteHeaderText()
    {
        var ex = Assert.Throws<ProtocolException>(() => PackedMessage.Decode(Envelope("{\"k\":SECRETVALUE}"u8.ToArray())));

        Assert.DoesNotContain("SECRET", ex.Message, StringComparison.Ordinal);
        Assert.NotNull(ex.InnerException);
    }

    private static byte[] Envelope(byte[] header)
    {
        var writer = new ArrayBufferWriter<byte>();
        PackedMessage.Write(writer, header, default);
        return writer.WrittenSpan.ToArray();
    }
}
