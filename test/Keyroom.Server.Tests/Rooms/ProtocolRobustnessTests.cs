using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Keyroom.Protocol;
using Keyroom.Server.Tests.Support;

namespace Keyroom.Server.Tests.Rooms;

/// <summary>Framing violations, malformed calls and random input: the offender gets an error or a clean close, nobody else notices.</summary>
public sealed class ProtocolRobustnessTests : IClassFixture<RoomsFixture>
{
    private readonly RoomsFixture _fixture;

    public ProtocolRobustnessTests(RoomsFixture fixture)
    {
        _fixture = fixture;
    }

    private KeyroomTestServer Server => _fixture.Server;

    private static byte[] HeaderPacket(ulong id, string type, int count)
    {
        var typeUtf8 = Encoding.UTF8.GetBytes(type);
        var packet = new byte[FrameEncoder.HeaderPacketPrefixSize + typeUtf8.Length];
        FrameEncoder.WriteHeaderPacket(packet, id, typeUtf8, count);
        return packet;
    }

    private static byte[] DataPacket(ulong id, int index, ReadOnlySpan<byte> chunk)
    {
        var packet = new byte[FrameEncoder.DataPacketPrefixSize + chunk.Length];
        FrameEncoder.WriteDataPacket(packet, id, index, chunk);
        return packet;
    }

    /// <summary>Two participants: the one that misbehaves and a bystander whose connection must keep working.</summary>
    private async Task<(RawRoomClient Offender, RawRoomClient Bystander)> PairAsync(string room)
    {
        var bystander = await Server.JoinAsync("bystander", room);
        await bystander.SetSecretAsync("kept", RoomTesting.Utf8("still here"));
        return (await Server.JoinAsync("offender", room), bystander);
    }

    private static async Task AssertBystanderWorksAsync(RawRoomClient bystander)
    {
        var file = Assert.IsType<FileContent>(await bystander.GetSecretAsync("kept"));
        Assert.Equal("still here", Encoding.UTF8.GetString(file.Data.Span));
        Assert.Null(bystander.ReceiveFailure);
    }

    [Fact]
    public async Task OversizeMessage_DeclaredPacketCount_ClosedWith1009AndTheRoomKeepsWorking()
    {
        var room = RoomTesting.Unique("big");
        var (offender, bystander) = await PairAsync(room);
        await using (offender)
        await using (bystander)
        {
            // 2 MiB + 1 KiB in 1 KiB chunks: the header already declares more packets than allowed.
            await offender.SendPacketAsync(HeaderPacket(offender.NextId(), MessageTypes.InvokeTool, 2049));

            Assert.Equal(WebSocketCloseStatus.MessageTooBig, await offender.WaitForCloseAsync());
            await AssertBystanderWorksAsync(bystander);
        }
    }

    [Fact]
    public async Task OversizeMessage_OneHugePacket_ClosedWith1009AndTheRoomKeepsWorking()
    {
        var room = RoomTesting.Unique("big");
        var (offender, bystander) = await PairAsync(room);
        await using (offender)
        await using (bystander)
        {
            var id = offender.NextId();
            await offender.SendPacketAsync(HeaderPacket(id, MessageTypes.InvokeTool, 1));
            await offender.SendPacketAsync(DataPacket(id, 1, new byte[(2 * 1024 * 1024) + 1]));

            Assert.Equal(WebSocketCloseStatus.MessageTooBig, await offender.WaitForCloseAsync());
            await AssertBystanderWorksAsync(bystander);
        }
    }

    [Fact]
    public async Task OversizeMessage_ManyOneKiBPacketsAddingUp_ClosedWith1009()
    {
        var room = RoomTesting.Unique("big");
        var (offender, bystander) = await PairAsync(room);
        await using (offender)
        await using (bystander)
        {
            // Within the packet count, but the reassembled size passes 2 MiB.
            var id = offender.NextId();
            await offender.SendPacketAsync(HeaderPacket(id, MessageTypes.InvokeTool, 2048));
            var chunk = new byte[1100];
            for (var i = 1; i <= 2048 && offender.State == WebSocketState.Open; i++)
            {
                try
                {
                    await offender.SendPacketAsync(DataPacket(id, i, chunk));
                }
                catch (WebSocketException)
                {
                    break;
                }
            }

            Assert.Equal(WebSocketCloseStatus.MessageTooBig, await offender.WaitForCloseAsync());
            await AssertBystanderWorksAsync(bystander);
        }
    }

    public static TheoryData<string> FramingViolations => ["interleaved", "data-without-header", "out-of-order", "short-packet", "text-frame", "id-over-2^53"];

    [Theory]
    [MemberData(nameof(FramingViolations))]
    public async Task FramingViolation_ClosedWith1002AndTheRoomKeepsWorking(string kind)
    {
        var room = RoomTesting.Unique("frame");
        var (offender, bystander) = await PairAsync(room);
        await using (offender)
        await using (bystander)
        {
            var id = offender.NextId();
            switch (kind)
            {
                case "interleaved":
                    await offender.SendPacketAsync(HeaderPacket(id, MessageTypes.InvokeTool, 3));
                    await offender.SendPacketAsync(DataPacket(id, 1, new byte[10]));
                    await offender.SendPacketAsync(HeaderPacket(id + 1, MessageTypes.InvokeTool, 1));
                    break;
                case "data-without-header":
                    await offender.SendPacketAsync(DataPacket(id, 1, new byte[10]));
                    break;
                case "out-of-order":
                    await offender.SendPacketAsync(HeaderPacket(id, MessageTypes.InvokeTool, 3));
                    await offender.SendPacketAsync(DataPacket(id, 2, new byte[10]));
                    break;
                case "short-packet":
                    await offender.SendPacketAsync(new byte[] { 0, 0, 0, 0, 1 });
                    break;
                case "text-frame":
                    await offender.SendPacketAsync(Encoding.UTF8.GetBytes("{\"hello\":1}"), WebSocketMessageType.Text);
                    break;
                case "id-over-2^53":
                    var packet = HeaderPacket(0, MessageTypes.InvokeTool, 0);
                    BinaryPrimitives.WriteUInt32BigEndian(packet, 0x00300000);
                    await offender.SendPacketAsync(packet);
                    break;
            }

            Assert.Equal(WebSocketCloseStatus.ProtocolError, await offender.WaitForCloseAsync());
            await AssertBystanderWorksAsync(bystander);
        }
    }

    [Fact]
    public async Task TruncatedMessage_ThenNormalClose_ServerAnswers1000()
    {
        var room = RoomTesting.Unique("trunc");
        var (offender, bystander) = await PairAsync(room);
        await using (offender)
        await using (bystander)
        {
            var id = offender.NextId();
            await offender.SendPacketAsync(HeaderPacket(id, MessageTypes.InvokeTool, 5));
            await offender.SendPacketAsync(DataPacket(id, 1, new byte[100]));
            await offender.CloseAsync();

            Assert.Equal(WebSocketCloseStatus.NormalClosure, offender.CloseStatus);
            await AssertBystanderWorksAsync(bystander);
        }
    }

    public static TheoryData<string> MalformedCalls =>
    [
        "header-not-json", "header-json-array", "no-toolkit-and-tool", "arguments-not-object", "unknown-content-type", "empty-payload",
        "declared-length-too-long", "unknown-toolkit", "unknown-tool", "text-input-for-get_secret", "json-input-for-set_secret",
        "binary-without-headers", "wrongly-typed-headers", "exists-without-secret_id", "delete-without-id", "request-without-participant_id",
        "provide_secret-unknown-request", "provide_oauth-unknown-request", "negative-timeout", "routed-to-participant",
    ];

    [Theory]
    [MemberData(nameof(MalformedCalls))]
    public async Task MalformedInvokeTool_GetsAnErrorReplyAndTheConnectionStaysUsable(string kind)
    {
        var room = RoomTesting.Unique("bad");
        await using var client = await Server.JoinAsync("fuzzer", room);

        var reply = Content.Decode((await client.RequestAsync(MessageTypes.InvokeTool, MalformedCall(kind))).Data);

        var error = Assert.IsType<ErrorContent>(reply);
        var expected = kind switch
        {
            "provide_secret-unknown-request" or "provide_oauth-unknown-request" or "routed-to-participant" => ErrorCodes.NotFound,
            _ => ErrorCodes.InvalidRequest,
        };
        Assert.True(error.Code == expected, $"{kind}: expected {expected}, got {error.Code}: {error.Text}");
        Assert.IsType<JsonContent>(await client.SecretsAsync("list_secrets", []));
        Assert.Equal(WebSocketState.Open, client.State);
    }

    private static byte[] MalformedCall(string kind)
    {
        static byte[] Packed(string headerJson, byte[]? payload = null)
        {
            var header = Encoding.UTF8.GetBytes(headerJson);
            var data = new byte[8 + header.Length + (payload?.Length ?? 0)];
            BinaryPrimitives.WriteUInt64BigEndian(data, (ulong)header.Length);
            header.CopyTo(data, 8);
            payload?.CopyTo(data, 8 + header.Length);
            return data;
        }

        static byte[] Invoke(string toolkit, string tool, Content arguments) => new InvokeToolRequest(toolkit, tool, arguments).Encode();

        static byte[] Secrets(string tool, string json) => Invoke("secrets", tool, new JsonContent(JsonNode.Parse(json)!.AsObject()));

        return kind switch
        {
            "header-not-json" => Packed("{not json"),
            "header-json-array" => Packed("[1,2]"),
            "no-toolkit-and-tool" => Packed("""{"arguments":{"type":"json","json":{}}}"""),
            "arguments-not-object" => Packed("""{"toolkit":"secrets","tool":"list_secrets","arguments":"x"}"""),
            "unknown-content-type" => Packed("""{"toolkit":"secrets","tool":"list_secrets","arguments":{"type":"video"}}"""),
            "empty-payload" => [],
            "declared-length-too-long" => [0, 0, 0, 0, 0, 0, 1, 0, (byte)'{', (byte)'}'],
            "unknown-toolkit" => Invoke("no_such_toolkit", "x", new JsonContent([])),
            "unknown-tool" => Secrets("no_such_tool", "{}"),
            "text-input-for-get_secret" => Invoke("secrets", "get_secret", new TextContent("s1")),
            "json-input-for-set_secret" => Secrets("set_secret", """{"secret_id":"x","data":"abc"}"""),
            "binary-without-headers" => Packed("""{"toolkit":"secrets","tool":"set_secret","arguments":{"type":"binary"}}""", [1, 2, 3]),
            "wrongly-typed-headers" => Invoke("secrets", "set_secret", new BinaryContent(
                new byte[] { 1 }, JsonNode.Parse("""{"secret_id":42,"type":["x"],"name":{"a":1},"delegated_to":7,"for_identity":null,"has_data":"yes"}""")!.AsObject())),
            "exists-without-secret_id" => Secrets("exists", """{"delegated_to":null}"""),
            "delete-without-id" => Secrets("delete_secret", "{}"),
            "request-without-participant_id" => Secrets("request_secret", """{"url":"https://x","type":"text/plain"}"""),
            "provide_secret-unknown-request" => Invoke("secrets", "provide_secret", new BinaryContent(new byte[] { 1 }, new JsonObject { ["request_id"] = Guid.NewGuid().ToString(), ["error"] = null })),
            "provide_oauth-unknown-request" => Secrets("provide_oauth_authorization", $$"""{"request_id":"{{Guid.NewGuid()}}","code":"C","error":null}"""),
            "negative-timeout" => Secrets("request_secret", """{"url":"https://x","type":"t","participant_id":"p","timeout":-5}"""),
            "routed-to-participant" => new InvokeToolRequest("secrets", "list_secrets", new JsonContent([])) { ParticipantId = "someone" }.Encode(),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    [Fact]
    public async Task UnknownMessageTypeAndMalformedSetAttributes_AreIgnored()
    {
        var room = RoomTesting.Unique("ignored");
        await using var client = await Server.JoinAsync("alice", room);

        await client.SendAsync(client.NextId(), "no.such.type", new PackedMessage([]).Encode());
        await client.SendAsync(client.NextId(), MessageTypes.SetAttributes, Encoding.UTF8.GetBytes("garbage"));
        await client.SendAsync(client.NextId(), MessageTypes.SetAttributes, new PackedMessage(new JsonObject { ["big"] = new string('x', 70_000) }).Encode());

        Assert.IsType<JsonContent>(await client.SecretsAsync("list_secrets", []));
        Assert.DoesNotContain(client.Received(), m => m.Type == MessageTypes.Response && m.Id < 3);
    }

    [Fact]
    public async Task RandomFrames_ManyConnections_ServerStaysHealthyAndNeverFaults()
    {
        var seed = Environment.TickCount;
        TestContext.Current.TestOutputHelper?.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var room = RoomTesting.Unique("fuzz");
        await using var bystander = await Server.JoinAsync("bystander", room);
        await bystander.SetSecretAsync("kept", RoomTesting.Utf8("still here"));
        var jwt = await Server.MintAsync("fuzzer", room);

        for (var round = 0; round < 40; round++)
        {
            await using var fuzzer = await RawRoomClient.ConnectAsync(Server.BaseUrl, room, jwt, TestContext.Current.CancellationToken);
            var steps = random.Next(1, 6);
            try
            {
                for (var i = 0; i < steps && fuzzer.State == WebSocketState.Open; i++)
                {
                    foreach (var packet in RandomPackets(random, fuzzer))
                    {
                        await fuzzer.SendPacketAsync(packet);
                    }
                }
            }
            catch (WebSocketException)
            {
                // The server closed on us mid-way: fine.
            }

            // Whatever happened, the connection either still answers or was closed cleanly by the server.
            try
            {
                var reply = await fuzzer.SecretsAsync("list_secrets", [], TimeSpan.FromSeconds(5));
                Assert.IsType<JsonContent>(reply);
            }
            catch (Exception ex) when (ex is IOException or WebSocketException or TimeoutException)
            {
                var status = await fuzzer.WaitForCloseAsync(TimeSpan.FromSeconds(10));
                Assert.True(
                    status is WebSocketCloseStatus.ProtocolError or WebSocketCloseStatus.MessageTooBig or null,
                    $"seed {seed}, round {round}: unexpected close {status}");
            }

            Assert.Null(fuzzer.ReceiveFailure);
        }

        await AssertBystanderWorksAsync(bystander);
        Assert.DoesNotContain(Server.Logs.Lines, l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal));
    }

    /// <summary>One random step: garbage, a stray header or data packet, or a complete message with a random payload or request header.</summary>
    private static byte[][] RandomPackets(Random random, RawRoomClient client)
    {
        switch (random.Next(6))
        {
            case 0:
                {
                    var bytes = new byte[random.Next(0, 64)];
                    random.NextBytes(bytes);
                    return [bytes];
                }

            case 1:
                return [HeaderPacket(client.NextId(), random.Next(3) == 0 ? "x" + random.Next() : MessageTypes.InvokeTool, random.Next(0, 4))];
            case 2:
                {
                    var chunk = new byte[random.Next(0, 300)];
                    random.NextBytes(chunk);
                    return [DataPacket((ulong)random.Next(0, 50), random.Next(1, 4), chunk)];
                }

            case 3:
                {
                    // A complete message whose payload is random bytes.
                    var payload = new byte[random.Next(0, 200)];
                    random.NextBytes(payload);
                    var id = client.NextId();
                    return payload.Length == 0
                        ? [HeaderPacket(id, MessageTypes.InvokeTool, 0)]
                        : [HeaderPacket(id, MessageTypes.InvokeTool, 1), DataPacket(id, 1, payload)];
                }

            case 4:
                {
                    // A valid request envelope with a random header object.
                    var keys = new[] { "toolkit", "tool", "arguments", "participant_id", "tool_call_id" };
                    var header = new JsonObject();
                    foreach (var key in keys.Where(_ => random.Next(2) == 0))
                    {
                        header[key] = random.Next(4) switch
                        {
                            0 => "secrets",
                            1 => random.Next(),
                            2 => new JsonObject { ["type"] = random.Next(2) == 0 ? "json" : "binary", ["json"] = new JsonObject() },
                            _ => null,
                        };
                    }

                    var id = client.NextId();
                    var data = new PackedMessage(header).Encode();
                    return [HeaderPacket(id, MessageTypes.InvokeTool, 1), DataPacket(id, 1, data)];
                }

            default:
                {
                    var bytes = new byte[random.Next(12, 40)];
                    random.NextBytes(bytes);
                    BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(8), 0);
                    return [bytes];
                }
        }
    }
}
