using System.Text.Json.Nodes;
using Keyroom.Core.Auth;
using Keyroom.Protocol;
using Keyroom.Server.Rooms.Toolkits;
using Keyroom.Server.Tests.Support;

namespace Keyroom.Server.Tests.Rooms;

public sealed class MessagingTests : IClassFixture<RoomsFixture>
{
    private readonly RoomsFixture _fixture;

    public MessagingTests(RoomsFixture fixture)
    {
        _fixture = fixture;
    }

    private KeyroomTestServer Server => _fixture.Server;

    /// <summary>messaging.enable exactly as the official client sends it: one-way, with a tool_call_id.</summary>
    private static Task<Content> EnableAsync(RawRoomClient client) =>
        client.InvokeAsync("messaging", "enable", new JsonContent([]), toolCallId: Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Enable_TwoParticipants_EachSeesTheOtherWithIdRoleAndAttributes()
    {
        var room = RoomTesting.Unique("msg");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);

        Assert.IsType<EmptyContent>(await EnableAsync(alice));
        var aliceEnabled = await alice.NextMessagingAsync("messaging.enabled");
        Assert.Equal(alice.ParticipantId, aliceEnabled["from_participant_id"]!.GetValue<string>());
        Assert.Equal("""{"participants":[]}""", aliceEnabled["message"]!.ToJsonString());

        // The reply comes before messaging.enabled on the wire.
        var order = alice.Received().Select(m => m.Type).ToList();
        Assert.True(order.IndexOf(MessageTypes.Response) < order.IndexOf(MessageTypes.MessagingSend));

        Assert.IsType<EmptyContent>(await EnableAsync(bob));
        var bobEnabled = await bob.NextMessagingAsync("messaging.enabled");
        var listed = Assert.Single(bobEnabled["message"]!["participants"]!.AsArray())!;
        Assert.Equal($$$"""{"id":"{{{alice.ParticipantId}}}","role":"user","attributes":{"name":"alice"}}""", listed.ToJsonString());

        var joined = await alice.NextMessagingAsync("participant.enabled");
        Assert.Equal(bob.ParticipantId, joined["from_participant_id"]!.GetValue<string>());
        Assert.Equal($$$"""{"id":"{{{bob.ParticipantId}}}","role":"user","attributes":{"name":"bob"}}""", joined["message"]!.ToJsonString());
    }

    [Fact]
    public async Task Disconnect_OfAMessagingParticipant_SendsParticipantDisabled()
    {
        var room = RoomTesting.Unique("msg");
        await using var alice = await Server.JoinAsync("alice", room);
        var bob = await Server.JoinAsync("bob", room);
        await EnableAsync(alice);
        await EnableAsync(bob);
        await alice.NextMessagingAsync("participant.enabled");

        var bobId = bob.ParticipantId;
        bob.Abort();
        await bob.DisposeAsync();

        var left = await alice.NextMessagingAsync("participant.disabled");
        Assert.Equal(bobId, left["from_participant_id"]!.GetValue<string>());
        Assert.Equal($$"""{"id":"{{bobId}}"}""", left["message"]!.ToJsonString());
    }

    [Fact]
    public async Task Disable_StopsPresenceAndAnnouncesIt()
    {
        var room = RoomTesting.Unique("msg");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);
        await EnableAsync(alice);
        await EnableAsync(bob);
        await alice.NextMessagingAsync("participant.enabled");

        Assert.IsType<EmptyContent>(await alice.InvokeAsync("messaging", "disable", new JsonContent([]), toolCallId: "x"));
        Assert.Equal(alice.ParticipantId, (await bob.NextMessagingAsync("participant.disabled"))["message"]!["id"]!.GetValue<string>());

        await using var carol = await Server.JoinAsync("carol", room);
        await EnableAsync(carol);
        await bob.NextMessagingAsync("participant.enabled");
        var carolSees = await carol.NextMessagingAsync("messaging.enabled");
        Assert.Single(carolSees["message"]!["participants"]!.AsArray());
        Assert.DoesNotContain(alice.PendingPushes(), m => m.Header()["type"]?.GetValue<string>() == "participant.enabled");
    }

    [Fact]
    public async Task SetAttributes_MergesKeepsTheNameAndTellsMessagingPeers()
    {
        var room = RoomTesting.Unique("msg");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);
        await EnableAsync(alice);
        await EnableAsync(bob);
        await alice.NextMessagingAsync("participant.enabled");

        var setId = bob.NextId();
        await bob.SendAsync(setId, MessageTypes.SetAttributes, new PackedMessage(new JsonObject { ["status"] = "away", ["name"] = "mallory" }).Encode());

        var update = await alice.NextMessagingAsync("participant.attributes");
        Assert.Equal(bob.ParticipantId, update["from_participant_id"]!.GetValue<string>());
        Assert.Equal("""{"attributes":{"name":"bob","status":"away"}}""", update["message"]!.ToJsonString());
        Assert.DoesNotContain(bob.Received(), m => m.Type == MessageTypes.Response && m.Id == setId);

        await using var carol = await Server.JoinAsync("carol", room);
        await EnableAsync(carol);
        var list = (await carol.NextMessagingAsync("messaging.enabled"))["message"]!["participants"]!.AsArray();
        Assert.Contains(list, p => p!["attributes"]!["status"]?.GetValue<string>() == "away");
    }

    [Fact]
    public async Task Send_ToAParticipant_DeliversTheMessageAndAttachment()
    {
        var room = RoomTesting.Unique("msg");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);
        await EnableAsync(bob);

        var reply = await alice.InvokeJsonAsync("messaging", "send", new JsonObject
        {
            ["to_participant_id"] = bob.ParticipantId,
            ["type"] = "chat",
            ["message_json"] = """{"text":"hi"}""",
            ["attachment_base64"] = Convert.ToBase64String([1, 2, 3]),
        });

        Assert.True(reply is EmptyContent, reply.ToString());
        var message = await bob.NextPushAsync(MessageTypes.MessagingSend, where: h => h["type"]?.GetValue<string>() == "chat");
        var envelope = PackedMessage.Decode(message.Data);
        Assert.Equal(alice.ParticipantId, envelope.Header["from_participant_id"]!.GetValue<string>());
        Assert.Equal("""{"text":"hi"}""", envelope.Header["message"]!.ToJsonString());
        Assert.Equal(new byte[] { 1, 2, 3 }, envelope.Payload.ToArray());
    }

    [Fact]
    public async Task Send_ToAnUnknownOrNonMessagingParticipant_ErrorParticipantNotFound()
    {
        var room = RoomTesting.Unique("msg");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);

        foreach (var to in new[] { Guid.NewGuid().ToString(), bob.ParticipantId })
        {
            var reply = await alice.InvokeJsonAsync("messaging", "send", new JsonObject { ["to_participant_id"] = to, ["type"] = "chat", ["message_json"] = "{}" });
            Assert.Equal(MessagingToolkit.ParticipantNotFound, reply.AssertError(ErrorCodes.NotFound));
        }
    }

    [Fact]
    public async Task Broadcast_ReachesEveryMessagingParticipantButTheSender()
    {
        var room = RoomTesting.Unique("msg");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);
        await using var carol = await Server.JoinAsync("carol", room);
        await EnableAsync(alice);
        await EnableAsync(bob);
        await EnableAsync(carol);

        Assert.IsType<EmptyContent>(await alice.InvokeJsonAsync("messaging", "broadcast", new JsonObject { ["type"] = "news", ["message_json"] = "[1]" }));

        await bob.NextMessagingAsync("news");
        await carol.NextMessagingAsync("news");
        await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.DoesNotContain(alice.PendingPushes(), m => m.Header()["type"]?.GetValue<string>() == "news");
    }

    [Fact]
    public async Task Messaging_WithoutTheMessagingGrant_Error1001()
    {
        var room = RoomTesting.Unique("msg");
        await using var client = await Server.JoinAsync("quiet", room, ApiScope.AgentDefault().Without("messaging"));

        Assert.StartsWith("permission denied", (await EnableAsync(client)).AssertError(ErrorCodes.PermissionDenied), StringComparison.Ordinal);
        Assert.DoesNotContain(client.PendingPushes(), m => m.Type == MessageTypes.MessagingSend);
    }

    [Fact]
    public async Task Enable_ManyParticipantsAtOnce_EveryoneEndsWithTheSameConsistentView()
    {
        var room = RoomTesting.Unique("race");
        var clients = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Server.JoinAsync("p" + i, room)));
        try
        {
            await Task.WhenAll(clients.Select(EnableAsync));
            foreach (var client in clients)
            {
                var expected = clients.Where(c => c != client).Select(c => c.ParticipantId).Order().ToList();
                await WaitForViewAsync(client, expected);
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    /// <summary>Replays presence as the official client does (messaging.enabled replaces the list) until it matches.</summary>
    private static async Task WaitForViewAsync(RawRoomClient client, List<string> expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        List<string> view = [];
        while (DateTime.UtcNow < deadline)
        {
            var known = new HashSet<string>(StringComparer.Ordinal);
            foreach (var message in client.Received().Where(m => m.Type == MessageTypes.MessagingSend))
            {
                var header = message.Header();
                switch (header["type"]!.GetValue<string>())
                {
                    case "messaging.enabled":
                        known.Clear();
                        known.UnionWith(header["message"]!["participants"]!.AsArray().Select(p => p!["id"]!.GetValue<string>()));
                        break;
                    case "participant.enabled":
                        known.Add(header["message"]!["id"]!.GetValue<string>());
                        break;
                    case "participant.disabled":
                        known.Remove(header["message"]!["id"]!.GetValue<string>());
                        break;
                }
            }

            view = [.. known.Order()];
            if (view.SequenceEqual(expected))
            {
                return;
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.Equal(expected, view);
    }
}
