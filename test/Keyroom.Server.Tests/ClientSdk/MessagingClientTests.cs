using System.Text.Json.Nodes;
using Keyroom.Client.Rooms;
using Keyroom.Protocol;

namespace Keyroom.Server.Tests.ClientSdk;

/// <summary>Presence and messaging against the captured envelopes (examples/participants-messaging.json).</summary>
public sealed class MessagingClientTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly JsonObject Example = SdkTestData.Load("participants-messaging.json");

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static JsonObject Step(int index) => Example["sequence"]![index]!["header"]!.AsObject();

    [Fact]
    public async Task EnableAsync_SendsOneWayEnableAndCompletesWhenTheListArrives()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();

        var enable = room.Messaging.EnableAsync(Cancel);
        var (message, request) = await c.ReceiveInvokeAsync();
        Assert.Equal("messaging", request.Toolkit);
        Assert.Equal("enable", request.Tool);
        Assert.False(string.IsNullOrEmpty(request.ToolCallId));
        Assert.Equal("""{"type":"json","json":{}}""", SdkTestData.CompactText(request.Arguments.ToHeader()));
        Assert.True(room.Messaging.IsEnabled);
        Assert.False(room.Messaging.IsOnline);

        await c.ReplyAsync(message.Id, EmptyContent.Instance);
        await Task.Delay(100, Cancel);
        Assert.False(enable.IsCompleted, "EnableAsync must wait for messaging.enabled");

        // bob's view in the example: alice is already there.
        await c.SendAsync(MessageTypes.MessagingSend, Step(3));
        await enable.WaitAsync(Wait, Cancel);
        Assert.True(room.Messaging.IsOnline);
        var alice = Assert.Single(room.Messaging.Participants);
        Assert.Equal("ca062e9a-c7b8-4cd7-9b3e-00eecc47efd5", alice.Id);
        Assert.Equal("user", alice.Role);
        Assert.Equal("alice", alice.Name);
        Assert.Same(alice, room.Messaging.GetParticipantByName("alice"));
    }

    [Fact]
    public async Task EnableAsync_ErrorReply_ThrowsAndLeavesMessagingDisabled()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        var enable = room.Messaging.EnableAsync(Cancel);
        var (message, _) = await c.ReceiveInvokeAsync();
        await c.ReplyAsync(message.Id, new ErrorContent("messaging is not granted", ErrorCodes.PermissionDenied));
        var error = await Assert.ThrowsAsync<RoomServerException>(() => enable.WaitAsync(Wait, Cancel));
        Assert.Equal(1001, error.Code);
        Assert.False(room.Messaging.IsEnabled);
    }

    [Fact]
    public async Task PresenceEnvelopes_AddUpdateAndRemoveParticipantsWithEvents()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var added = new List<string>();
        var removed = new List<string>();
        var changed = new List<string>();
        room.Messaging.ParticipantAdded += (_, e) => added.Add(e.Participant.Id);
        room.Messaging.ParticipantRemoved += (_, e) => removed.Add(e.Participant.Id);
        room.Messaging.ParticipantAttributesChanged += (_, e) => changed.Add(e.Participant.GetAttribute("status")!.GetValue<string>());
        var c = await server.NextConnectionAsync();

        var enable = room.Messaging.EnableAsync(Cancel);
        var (message, _) = await c.ReceiveInvokeAsync();
        await c.ReplyAsync(message.Id, EmptyContent.Instance);
        await c.SendAsync(MessageTypes.MessagingSend, Step(1)); // alice's view: nobody yet
        await enable.WaitAsync(Wait, Cancel);
        Assert.Empty(room.Messaging.Participants);

        const string bob = "e6ad7fc9-d545-481e-b051-71e59353b3c2";
        await c.SendAsync(MessageTypes.MessagingSend, Step(4)); // participant.enabled bob
        await RoomClientTests.WaitUntilAsync(() => room.Messaging.GetParticipant(bob) is not null);
        Assert.Equal("bob", room.Messaging.GetParticipant(bob)!.Name);

        await c.SendAsync(MessageTypes.MessagingSend, new JsonObject
        {
            ["from_participant_id"] = bob,
            ["type"] = "participant.attributes",
            ["message"] = new JsonObject { ["attributes"] = new JsonObject { ["status"] = "away" } },
        });
        await RoomClientTests.WaitUntilAsync(() => changed.Count == 1);
        Assert.Equal("away", room.Messaging.GetParticipant(bob)!.GetAttribute("status")!.GetValue<string>());
        Assert.Equal("bob", room.Messaging.GetParticipant(bob)!.Name);

        await c.SendAsync(MessageTypes.MessagingSend, Step(5)); // participant.disabled bob
        await RoomClientTests.WaitUntilAsync(() => removed.Count == 1);
        Assert.Null(room.Messaging.GetParticipant(bob));
        Assert.Equal([bob], added);
        Assert.Equal([bob], removed);
    }

    [Fact]
    public async Task MessagingEnabled_ListContainingSelf_IsNotListedAsRemote()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        var enable = room.Messaging.EnableAsync(Cancel);
        var (message, _) = await c.ReceiveInvokeAsync();
        await c.ReplyAsync(message.Id, EmptyContent.Instance);
        await c.SendAsync(MessageTypes.MessagingSend, new JsonObject
        {
            ["from_participant_id"] = room.ParticipantId,
            ["type"] = "messaging.enabled",
            ["message"] = new JsonObject
            {
                ["participants"] = new JsonArray(
                    new JsonObject { ["id"] = room.ParticipantId, ["role"] = "user", ["attributes"] = new JsonObject { ["name"] = "alice" } },
                    new JsonObject { ["id"] = "p-other", ["role"] = "agent", ["attributes"] = new JsonObject { ["name"] = "bot" } }),
            },
        });
        await enable.WaitAsync(Wait, Cancel);
        var other = Assert.Single(room.Messaging.Participants);
        Assert.Equal("p-other", other.Id);
        Assert.Equal("agent", other.Role);
    }

    [Fact]
    public async Task SendAsync_AndBroadcastAsync_SendTheMessagingTools()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();

        var send = room.Messaging.SendAsync("p-7", "chat", new JsonObject { ["text"] = "hi" }, new byte[] { 1, 2, 3 }, Cancel);
        var (m1, r1) = await c.ReceiveInvokeAsync();
        Assert.Equal("send", r1.Tool);
        Assert.Equal("""{"to_participant_id":"p-7","type":"chat","message_json":"{\"text\":\"hi\"}","attachment_base64":"AQID"}""", SdkTestData.CompactText(((JsonContent)r1.Arguments).Json));
        await c.ReplyAsync(m1.Id, new ErrorContent("the participant was not found", ErrorCodes.NotFound));
        Assert.Equal("the participant was not found", (await Assert.ThrowsAsync<RoomServerException>(() => send.WaitAsync(Wait, Cancel))).Message);

        var broadcast = room.Messaging.BroadcastAsync("chat", new JsonObject { ["text"] = "all" }, cancellationToken: Cancel);
        var (m2, r2) = await c.ReceiveInvokeAsync();
        Assert.Equal("broadcast", r2.Tool);
        Assert.Equal("""{"type":"chat","message_json":"{\"text\":\"all\"}"}""", SdkTestData.CompactText(((JsonContent)r2.Arguments).Json));
        await c.ReplyAsync(m2.Id, EmptyContent.Instance);
        await broadcast.WaitAsync(Wait, Cancel);
    }

    [Fact]
    public async Task IncomingMessage_OtherThanPresence_RaisesMessageReceivedWithTheAttachment()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var received = new TaskCompletionSource<MessagingMessageEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        room.Messaging.MessageReceived += (_, e) => received.TrySetResult(e);
        var c = await server.NextConnectionAsync();
        await c.SendAsync(MessageTypes.MessagingSend, new JsonObject
        {
            ["from_participant_id"] = "p-5",
            ["type"] = "chat",
            ["message"] = new JsonObject { ["text"] = "hello" },
        }, new byte[] { 4, 5 });

        var e = await received.Task.WaitAsync(Wait, Cancel);
        Assert.Equal("p-5", e.FromParticipantId);
        Assert.Equal("chat", e.Type);
        Assert.Equal("hello", e.Message["text"]!.GetValue<string>());
        Assert.Equal([4, 5], e.Attachment.ToArray());
    }

    [Fact]
    public async Task DisableAsync_SendsDisableAndClearsTheList()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        var enable = room.Messaging.EnableAsync(Cancel);
        var (m1, _) = await c.ReceiveInvokeAsync();
        await c.ReplyAsync(m1.Id, EmptyContent.Instance);
        await c.SendAsync(MessageTypes.MessagingSend, Step(3));
        await enable.WaitAsync(Wait, Cancel);

        var disable = room.Messaging.DisableAsync(Cancel);
        var (m2, r2) = await c.ReceiveInvokeAsync();
        Assert.Equal("disable", r2.Tool);
        await c.ReplyAsync(m2.Id, EmptyContent.Instance);
        await disable.WaitAsync(Wait, Cancel);
        Assert.False(room.Messaging.IsEnabled);
        Assert.False(room.Messaging.IsOnline);
        Assert.Empty(room.Messaging.Participants);
    }
}
