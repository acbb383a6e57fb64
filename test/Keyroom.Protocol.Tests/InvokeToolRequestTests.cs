using System.Text;
using System.Text.Json.Nodes;
using static Keyroom.Protocol.Tests.SpecExamples;

namespace Keyroom.Protocol.Tests;

public sealed class InvokeToolRequestTests
{
    [Fact]
    public void Encode_ListSecretsExample_FramesMatchSpecHex()
    {
        var request = new InvokeToolRequest("secrets", "list_secrets", new JsonContent([]));

        var packets = FrameEncoder.Encode(0, MessageTypes.InvokeTool, request.Encode(), FrameEncoder.ClientChunkSize);

        Assert.Equal(WsMessages("request_list_secrets_id_0").Select(p => ToHex(p)), packets.Select(p => ToHex(p)));
    }

    [Fact]
    public void Decode_ListSecretsExampleFrames_YieldsRequest()
    {
        using var assembler = new MessageAssembler();
        var packets = WsMessages("request_list_secrets_id_0");
        Assert.False(assembler.Push(packets[0], out _));

        Assert.True(assembler.Push(packets[1], out var message));
        var request = InvokeToolRequest.Decode(message.Data);

        Assert.Equal(0UL, message.Id);
        Assert.Equal(MessageTypes.InvokeTool, message.Type);
        Assert.Equal("secrets", request.Toolkit);
        Assert.Equal("list_secrets", request.Tool);
        Assert.Equal(new JsonContent([]), request.Arguments);
        Assert.Null(request.ParticipantId);
        Assert.Null(request.ToolCallId);
        Assert.True(JsonNode.DeepEquals(FramesHex["request_list_secrets_id_0"]!["packMessage_header_json"], request.ToPacked().Header));
    }

    [Fact]
    public void Encode_OneWayCall_KeyOrderMatchesClient()
    {
        var request = new InvokeToolRequest("messaging", "enable", new JsonContent([])) { ToolCallId = "1795392923919-2a555ef9cb181" };

        var (header, payload) = PackedMessage.Split(request.Encode());

        Assert.Equal(
            """{"toolkit":"messaging","tool":"enable","tool_call_id":"1795392923919-2a555ef9cb181","arguments":{"type":"json","json":{}}}""",
            Encoding.UTF8.GetString(header.Span));
        Assert.True(payload.IsEmpty);
    }

    [Fact]
    public void Decode_BinaryArguments_UsesEnvelopePayloadAsData()
    {
        var headers = new JsonObject { ["request_id"] = "r1", ["error"] = null };
        var encoded = new InvokeToolRequest("secrets", "provide_secret", new BinaryContent("secret bytes"u8.ToArray(), headers)).Encode();

        var request = InvokeToolRequest.Decode(encoded);

        var binary = Assert.IsType<BinaryContent>(request.Arguments);
        Assert.Equal("secret bytes", Encoding.UTF8.GetString(binary.Data.Span));
        Assert.True(JsonNode.DeepEquals(headers, binary.Headers));
    }

    [Fact]
    public void Decode_FileArguments_UsesEnvelopePayloadAsData()
    {
        var encoded = new InvokeToolRequest("storage", "write", new FileContent("abc"u8.ToArray(), "f.txt", "text/plain")).Encode();

        var file = Assert.IsType<FileContent>(InvokeToolRequest.Decode(encoded).Arguments);

        Assert.Equal("abc", Encoding.UTF8.GetString(file.Data.Span));
        Assert.Equal("f.txt", file.Name);
    }

    [Fact]
    public void EncodeDecode_AllOptionalFields_RoundTrip()
    {
        var original = new InvokeToolRequest("tk", "t", new TextContent("x"))
        {
            ParticipantId = "p",
            OnBehalfOfId = "o",
            CallerContext = new JsonObject { ["k"] = new JsonArray(1, "2") },
            ToolCallId = "c",
        };

        var decoded = InvokeToolRequest.Decode(original.Encode());

        Assert.Equal("tk", decoded.Toolkit);
        Assert.Equal("t", decoded.Tool);
        Assert.Equal(new TextContent("x"), decoded.Arguments);
        Assert.Equal("p", decoded.ParticipantId);
        Assert.Equal("o", decoded.OnBehalfOfId);
        Assert.True(JsonNode.DeepEquals(original.CallerContext, decoded.CallerContext));
        Assert.Null(decoded.CallerContext!.Parent);
        Assert.Equal("c", decoded.ToolCallId);
        Assert.Equal(original.Encode(), decoded.Encode());
    }

    [Fact]
    public void Decode_NullOptionalFieldsAndUnknownKeys_Accepted()
    {
        var header = """{"toolkit":"secrets","tool":"exists","participant_id":null,"on_behalf_of_id":null,"caller_context":null,"tool_call_id":null,"extra":[1],"arguments":{"type":"json","json":{"secret_id":"s1","delegated_to":null}}}""";

        var request = InvokeToolRequest.Parse(new PackedMessage(JsonNode.Parse(header)!.AsObject()));

        Assert.Null(request.ParticipantId);
        Assert.Null(request.CallerContext);
        var json = Assert.IsType<JsonContent>(request.Arguments);
        Assert.Equal("s1", json.Json["secret_id"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"tool":"t","arguments":{"type":"empty"}}""")]
    [InlineData("""{"toolkit":"","tool":"t","arguments":{"type":"empty"}}""")]
    [InlineData("""{"toolkit":1,"tool":"t","arguments":{"type":"empty"}}""")]
    [InlineData("""{"toolkit":"k","arguments":{"type":"empty"}}""")]
    [InlineData("""{"toolkit":"k","tool":null,"arguments":{"type":"empty"}}""")]
    [InlineData("""{"toolkit":"k","tool":"t"}""")]
    [InlineData("""{"toolkit":"k","tool":"t","arguments":"x"}""")]
    [InlineData("""{"toolkit":"k","tool":"t","arguments":{"type":"nope"}}""")]
    [InlineData("""{"toolkit":"k","tool":"t","arguments":{"type":"json"}}""")]
    [InlineData("""{"toolkit":"k","tool":"t","participant_id":5,"arguments":{"type":"empty"}}""")]
    [InlineData("""{"toolkit":"k","tool":"t","on_behalf_of_id":{},"arguments":{"type":"empty"}}""")]
    [InlineData("""{"toolkit":"k","tool":"t","caller_context":"x","arguments":{"type":"empty"}}""")]
    [InlineData("""{"toolkit":"k","tool":"t","tool_call_id":true,"arguments":{"type":"empty"}}""")]
    public void Parse_MalformedHeader_ThrowsProtocolException(string header)
    {
        var message = new PackedMessage(JsonNode.Parse(header)!.AsObject());

        Assert.Throws<ProtocolException>(() => InvokeToolRequest.Parse(message));
    }

    [Fact]
    public void Constructor_EmptyToolkit_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => new InvokeToolRequest("", "t", EmptyContent.Instance));
    }
}
