using System.Buffers;
using System.Text;
using System.Text.Json.Nodes;
using static Keyroom.Protocol.Tests.SpecExamples;

namespace Keyroom.Protocol.Tests;

public sealed class ContentTests
{
    public static TheoryData<Content, string> HeaderExamples => new()
    {
        { new JsonContent(new JsonObject { ["exists"] = true }), """{"type":"json","json":{"exists":true}}""" },
        { new BinaryContent("x"u8.ToArray(), new JsonObject { ["request_id"] = "r1", ["error"] = null }), """{"type":"binary","headers":{"request_id":"r1","error":null}}""" },
        { new BinaryContent("x"u8.ToArray()), """{"type":"binary","headers":{}}""" },
        { new FileContent("v"u8.ToArray(), "https://example.com/key", "text/plain"), """{"type":"file","name":"https://example.com/key","mime_type":"text/plain"}""" },
        { new TextContent("hello"), """{"type":"text","text":"hello"}""" },
        { new LinkContent("docs", "https://example.com"), """{"type":"link","name":"docs","url":"https://example.com"}""" },
        { EmptyContent.Instance, """{"type":"empty"}""" },
        { new ErrorContent("the participant was not found", ErrorCodes.NotFound), """{"type":"error","text":"the participant was not found","code":1003}""" },
        { new ErrorContent("no code"), """{"type":"error","text":"no code"}""" },
        { ControlContent.Open(), """{"type":"control","method":"open"}""" },
        { ControlContent.Close(), """{"type":"control","method":"close","status_code":1000}""" },
        { ControlContent.Close(1007, "bad"), """{"type":"control","method":"close","status_code":1007,"message":"bad"}""" },
    };

    [Theory]
    [MemberData(nameof(HeaderExamples))]
    public void Encode_EachContentType_WritesClientCompatibleHeader(Content content, string expectedHeader)
    {
        var (header, payload) = PackedMessage.Split(content.Encode());

        Assert.Equal(expectedHeader, Encoding.UTF8.GetString(header.Span));
        Assert.Equal(content.Data.ToArray(), payload.ToArray());
    }

    [Theory]
    [MemberData(nameof(HeaderExamples))]
    public void Decode_EncodedContent_RoundTripsToEqualValue(Content content, string expectedHeader)
    {
        _ = expectedHeader;

        var decoded = Content.Decode(content.Encode());

        Assert.Equal(content, decoded);
        Assert.Equal(content.GetType(), decoded.GetType());
        Assert.Equal(content.GetHashCode(), decoded.GetHashCode());
    }

    [Theory]
    [MemberData(nameof(HeaderExamples))]
    public void ToPacked_AnyContent_EncodesLikeEncode(Content content, string expectedHeader)
    {
        Assert.Equal(expectedHeader, content.ToHeader().ToJsonString());
        Assert.Equal(content.Encode(), content.ToPacked().Encode());
        var writer = new ArrayBufferWriter<byte>();
        content.WriteTo(writer);
        Assert.Equal(content.Encode(), writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void Encode_BinaryContentExample_MatchesSpecHex()
    {
        var content = new BinaryContent("hunter2"u8.ToArray(), new JsonObject { ["request_id"] = "r1", ["error"] = null });

        Assert.Equal(FramesHex["packMessage_binary_content_example"]!["hex"]!.GetValue<string>(), ToHex(content.Encode()));
    }

    [Fact]
    public void Decode_BinaryContentExampleHex_YieldsBinaryContent()
    {
        var content = Content.Decode(Hex(FramesHex["packMessage_binary_content_example"]!["hex"]!.GetValue<string>()));

        var binary = Assert.IsType<BinaryContent>(content);
        Assert.Equal("hunter2", Encoding.UTF8.GetString(binary.Data.Span));
        Assert.Equal("r1", binary.Headers["request_id"]!.GetValue<string>());
        Assert.True(binary.Headers.ContainsKey("error"));
        Assert.Null(binary.Headers["error"]);
    }

    [Fact]
    public void EncodeDecode_EmptyContentExampleHex_RoundTrips()
    {
        var hex = FramesHex["packMessage_empty_content_hex"]!.GetValue<string>();

        Assert.Equal(hex, ToHex(EmptyContent.Instance.Encode()));
        Assert.Same(EmptyContent.Instance, Content.Decode(Hex(hex)));
    }

    [Theory]
    [InlineData("1001", 1001)]
    [InlineData("\"1001\"", 1001)]
    [InlineData("\" 1009 \"", 1009)]
    [InlineData("1001.0", 1001)]
    [InlineData("-5", -5)]
    [InlineData("1.5", null)]
    [InlineData("\"abc\"", null)]
    [InlineData("\"\"", null)]
    [InlineData("true", null)]
    [InlineData("null", null)]
    [InlineData("{}", null)]
    [InlineData("1e20", null)]
    public void Parse_ErrorCodeVariants_ReadsIntegerOrNumericString(string codeJson, int? expected)
    {
        var header = JsonNode.Parse($$"""{"type":"error","text":"t","code":{{codeJson}}}""")!.AsObject();

        var error = Assert.IsType<ErrorContent>(Content.Parse(header, default));

        Assert.Equal(expected, error.Code);
        Assert.Equal("t", error.Text);
    }

    [Fact]
    public void Parse_ErrorWithoutCode_CodeIsNull()
    {
        var error = Assert.IsType<ErrorContent>(Content.Parse(Header("""{"type":"error","text":"t"}"""), default));

        Assert.Null(error.Code);
    }

    [Theory]
    [InlineData("""{"type":"binary","headers":"nope"}""")]
    [InlineData("""{"type":"binary","headers":null}""")]
    [InlineData("""{"type":"binary","headers":[1]}""")]
    [InlineData("""{"type":"binary"}""")]
    public void Parse_BinaryHeadersNotObject_UsesEmptyObject(string headerJson)
    {
        var binary = Assert.IsType<BinaryContent>(Content.Parse(Header(headerJson), new byte[] { 9 }));

        Assert.Empty(binary.Headers);
        Assert.Equal(new byte[] { 9 }, binary.Data.ToArray());
    }

    [Theory]
    [InlineData("""{"type":"control","method":"close"}""", 1000)]
    [InlineData("""{"type":"control","method":"close","status_code":"1007"}""", 1007)]
    [InlineData("""{"type":"control","method":"close","status_code":"x"}""", 1000)]
    [InlineData("""{"type":"control","method":"open"}""", null)]
    public void Parse_ControlStatusCode_DefaultsToNormalForClose(string headerJson, int? expected)
    {
        var control = Assert.IsType<ControlContent>(Content.Parse(Header(headerJson), default));

        Assert.Equal(expected, control.StatusCode);
    }

    [Fact]
    public void Parse_ControlMessageNotString_Ignored()
    {
        var control = Assert.IsType<ControlContent>(Content.Parse(Header("""{"type":"control","method":"close","message":5}"""), default));

        Assert.Null(control.Message);
    }

    [Theory]
    [InlineData("""{}""")]
    [InlineData("""{"type":null}""")]
    [InlineData("""{"type":5}""")]
    [InlineData("""{"type":"bogus"}""")]
    [InlineData("""{"type":"JSON","json":{}}""")]
    [InlineData("""{"type":"json"}""")]
    [InlineData("""{"type":"json","json":[]}""")]
    [InlineData("""{"type":"json","json":null}""")]
    [InlineData("""{"type":"file","mime_type":"a/b"}""")]
    [InlineData("""{"type":"file","name":"n","mime_type":1}""")]
    [InlineData("""{"type":"text"}""")]
    [InlineData("""{"type":"text","text":1}""")]
    [InlineData("""{"type":"link","name":"n"}""")]
    [InlineData("""{"type":"error","code":1001}""")]
    [InlineData("""{"type":"control"}""")]
    [InlineData("""{"type":"control","method":"pause"}""")]
    public void Parse_MalformedContentHeader_ThrowsProtocolException(string headerJson)
    {
        Assert.Throws<ProtocolException>(() => Content.Parse(Header(headerJson), default));
    }

    [Fact]
    public void Parse_UnknownType_MessageNamesTheType()
    {
        var ex = Assert.Throws<ProtocolException>(() => Content.Parse(Header("""{"type":"stream"}"""), default));

        Assert.Contains("'stream'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_TypesWithoutBytes_IgnorePayload()
    {
        var content = Content.Parse(Header("""{"type":"text","text":"t"}"""), new byte[] { 1, 2 });

        Assert.True(content.Data.IsEmpty);
    }

    [Fact]
    public void Parse_JsonContent_ResultIsDetachedFromHeader()
    {
        var header = Header("""{"type":"json","json":{"a":{"b":1}}}""");

        var json = Assert.IsType<JsonContent>(Content.Parse(header, default));
        Assert.Null(json.Json.Parent);
        var forwarded = new JsonObject { ["request"] = json.Json };

        Assert.Equal("""{"request":{"a":{"b":1}}}""", forwarded.ToJsonString());
        Assert.Equal("""{"type":"json","json":{"a":{"b":1}}}""", header.ToJsonString());
    }

    [Fact]
    public void Encode_JsonContentWhoseObjectHasParent_Succeeds()
    {
        var inner = new JsonObject { ["x"] = 1 };
        _ = new JsonObject { ["owner"] = inner };
        var content = new JsonContent(inner);

        Assert.Equal("""{"type":"json","json":{"x":1}}""", content.ToHeader().ToJsonString());
        Assert.Equal(content, Content.Decode(content.Encode()));
    }

    [Fact]
    public void Decode_FileContent_DataIsSliceOfInput()
    {
        var encoded = new FileContent("secret"u8.ToArray(), "n", "m").Encode();

        var file = Assert.IsType<FileContent>(Content.Decode(encoded));

        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(file.Data, out var segment));
        Assert.Same(encoded, segment.Array);
    }

    [Fact]
    public void Equals_SameValuesDifferentInstances_AreEqual()
    {
        Assert.Equal(
            new BinaryContent(new byte[] { 1, 2 }, new JsonObject { ["a"] = 1 }),
            new BinaryContent(new byte[] { 1, 2 }, new JsonObject { ["a"] = 1 }));
        Assert.NotEqual(
            new BinaryContent(new byte[] { 1, 2 }, new JsonObject { ["a"] = 1 }),
            new BinaryContent(new byte[] { 1, 3 }, new JsonObject { ["a"] = 1 }));
        Assert.NotEqual<Content>(new TextContent("a"), new ErrorContent("a"));
        Assert.Equal(new ErrorContent("a", 1), new ErrorContent("a", 1));
        Assert.NotEqual(new ErrorContent("a", 1), new ErrorContent("a", 2));
        Assert.NotEqual(new FileContent(new byte[] { 1 }, "n", "m"), new FileContent(new byte[] { 1 }, "n", "x"));
    }

    [Fact]
    public void ToString_ContentsWithValues_DoNotRevealJsonTextOrBytes()
    {
        Content[] contents =
        [
            new JsonContent(new JsonObject { ["code"] = "SECRET" }),
            new BinaryContent("SECRET"u8.ToArray(), new JsonObject { ["k"] = "SECRET" }),
            new FileContent("SECRET"u8.ToArray(), "name", "text/plain"),
            new TextContent("SECRET"),
        ];

        foreach (var content in contents)
        {
            Assert.DoesNotContain("SECRET", content.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Constructor_InvalidControlMethod_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => new ControlContent("pause"));
    }

    private static JsonObject Header(string json) => JsonNode.Parse(json)!.AsObject();
}
