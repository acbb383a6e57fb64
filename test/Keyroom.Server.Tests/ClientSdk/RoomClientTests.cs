using System.Net;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Keyroom.Client.Rooms;
using Keyroom.Protocol;

namespace Keyroom.Server.Tests.ClientSdk;

/// <summary>RoomClient's connection handling, requests and reconnects against a scripted server.</summary>
public sealed class RoomClientTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static RoomClientOptions FastReconnect(TimeSpan? reconnectTimeout = null) => new()
    {
        ReconnectInitialDelay = TimeSpan.FromMilliseconds(50),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(200),
        ReconnectTimeout = reconnectTimeout,
        HandshakeTimeout = TimeSpan.FromSeconds(5),
    };

    [Fact]
    public async Task ConnectAsync_HandshakeInReverseOrder_ExposesParticipantRoomSessionAndAttributes()
    {
        await using var server = await FakeRoomServer.StartAsync();
        server.AutoHandshake = false;
        var connecting = RoomClient.ConnectAsync(server.RoomUrl("room1"), "my.jwt.token", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        Assert.Equal("my.jwt.token", c.Token);
        Assert.Equal("room1", c.Room);

        await c.SendConnectedAsync("p-42", "alice");
        await Task.Delay(100, Cancel);
        Assert.False(connecting.IsCompleted, "ConnectAsync must wait for room_ready too");
        await c.SendRoomReadyAsync("room1", "sess-9");

        await using var room = await connecting.WaitAsync(Wait, Cancel);
        Assert.Equal("p-42", room.ParticipantId);
        Assert.Equal("room1", room.RoomName);
        Assert.Equal("sess-9", room.SessionId);
        Assert.Equal(new Uri("ws://example.host/rooms/room1"), room.RoomUrl);
        Assert.Equal("alice", room.LocalAttributes["name"]!.GetValue<string>());
        Assert.True(room.IsConnected);
        Assert.Equal(RoomClientState.Connected, room.State);
    }

    [Fact]
    public async Task ConnectAsync_HttpUrlWithQuery_UsesWsSchemeAndKeepsOtherParameters()
    {
        await using var server = await FakeRoomServer.StartAsync();
        var url = new Uri(server.BaseUrl, "/rooms/r2?x=1&token=old");
        await using var room = await RoomClient.ConnectAsync(url, "new-token", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        Assert.Equal("new-token", c.Token);
        Assert.Equal("r2", c.Room);
    }

    [Fact]
    public async Task ConnectAsync_OnlyRoomReadyArrives_FailsAfterTheHandshakeTimeout()
    {
        await using var server = await FakeRoomServer.StartAsync();
        server.AutoHandshake = false;
        var options = new RoomClientOptions { HandshakeTimeout = TimeSpan.FromMilliseconds(500) };
        var connecting = RoomClient.ConnectAsync(server.RoomUrl(), "jwt", options, Cancel);
        var c = await server.NextConnectionAsync();
        await c.SendRoomReadyAsync();

        var error = await Assert.ThrowsAsync<RoomConnectionException>(() => connecting.WaitAsync(Wait, Cancel));
        Assert.Contains("handshake", error.Message, StringComparison.Ordinal);
        Assert.False(error.IsPermanent);
    }

    [Fact]
    public async Task ConnectAsync_ConnectedWithoutInitType_IsIgnoredUntilAValidInitArrives()
    {
        await using var server = await FakeRoomServer.StartAsync();
        server.AutoHandshake = false;
        var connecting = RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        await c.SendRoomReadyAsync();
        await c.SendAsync(MessageTypes.Connected, new JsonObject { ["type"] = "other", ["participantId"] = "nope", ["attributes"] = new JsonObject() });
        await c.SendAsync(MessageTypes.Connected, new JsonObject { ["type"] = "init", ["participantId"] = 5, ["attributes"] = new JsonObject() });
        await c.SendConnectedAsync("p-ok", "alice");
        await using var room = await connecting.WaitAsync(Wait, Cancel);
        Assert.Equal("p-ok", room.ParticipantId);
    }

    [Theory]
    [InlineData(403)]
    [InlineData(404)]
    public async Task ConnectAsync_UpgradeRefused_ThrowsPermanentErrorWithTheStatus(int status)
    {
        await using var server = await FakeRoomServer.StartAsync();
        server.RefuseWithStatus = status;
        var error = await Assert.ThrowsAsync<RoomConnectionException>(() => RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel));
        Assert.Equal((HttpStatusCode)status, error.HttpStatusCode);
        Assert.True(error.IsPermanent);
    }

    [Fact]
    public async Task ConnectAsync_ServerClosesWith1000BeforeReady_ThrowsWithTheReason()
    {
        await using var server = await FakeRoomServer.StartAsync();
        server.AutoHandshake = false;
        var connecting = RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        await c.CloseAsync(WebSocketCloseStatus.NormalClosure, "token expired");

        var error = await Assert.ThrowsAsync<RoomConnectionException>(() => connecting.WaitAsync(Wait, Cancel));
        Assert.True(error.IsPermanent);
        Assert.Equal("token expired", error.CloseDescription);
        Assert.Contains("token expired", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvokeAsync_ErrorReply_ThrowsRoomServerExceptionWithTextAndCode()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        var call = room.InvokeAsync("secrets", "list_secrets", new JsonContent([]), Cancel);
        var (message, _) = await c.ReceiveInvokeAsync();
        await c.ReplyAsync(message.Id, new ErrorContent("permission denied: secrets", ErrorCodes.PermissionDenied));

        var error = await Assert.ThrowsAsync<RoomServerException>(() => call.WaitAsync(Wait, Cancel));
        Assert.Equal("permission denied: secrets", error.Message);
        Assert.Equal(1001, error.Code);
    }

    [Fact]
    public async Task InvokeAsync_RepliesOutOfOrder_CompleteTheMatchingRequests()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        var first = room.InvokeAsync("t", "one", new JsonContent([]), Cancel);
        var (m1, _) = await c.ReceiveInvokeAsync();
        var second = room.InvokeAsync("t", "two", new JsonContent([]), Cancel);
        var (m2, _) = await c.ReceiveInvokeAsync();
        Assert.Equal(0UL, m1.Id);
        Assert.Equal(1UL, m2.Id);

        await c.ReplyAsync(m2.Id, new TextContent("second"));
        await c.ReplyAsync(999, new TextContent("nobody asked"));
        await c.ReplyAsync(m1.Id, new TextContent("first"));
        Assert.Equal("first", ((TextContent)await first.WaitAsync(Wait, Cancel)).Text);
        Assert.Equal("second", ((TextContent)await second.WaitAsync(Wait, Cancel)).Text);
    }

    [Fact]
    public async Task InvokeAsync_NoReply_TimesOutAndALateReplyIsIgnored()
    {
        await using var server = await FakeRoomServer.StartAsync();
        var options = new RoomClientOptions { RequestTimeout = TimeSpan.FromMilliseconds(300) };
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", options, Cancel);
        var c = await server.NextConnectionAsync();

        var call = room.InvokeAsync("t", "slow", new JsonContent([]), Cancel);
        var (slow, _) = await c.ReceiveInvokeAsync();
        await Assert.ThrowsAsync<TimeoutException>(() => call.WaitAsync(Wait, Cancel));

        await c.ReplyAsync(slow.Id, EmptyContent.Instance);
        var next = room.InvokeAsync("t", "fast", new JsonContent([]), Cancel);
        var (fast, _) = await c.ReceiveInvokeAsync();
        await c.ReplyAsync(fast.Id, new TextContent("ok"));
        Assert.Equal("ok", ((TextContent)await next.WaitAsync(Wait, Cancel)).Text);
        Assert.True(room.IsConnected);
    }

    [Fact]
    public async Task RequestSecretAsync_ServerTimeoutLongerThanRequestTimeout_WaitsForTheServer()
    {
        await using var server = await FakeRoomServer.StartAsync();
        var options = new RoomClientOptions { RequestTimeout = TimeSpan.FromMilliseconds(200) };
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", options, Cancel);
        var c = await server.NextConnectionAsync();

        var call = room.Secrets.RequestSecretAsync("p-2", "u", "text/plain", TimeSpan.FromSeconds(2), cancellationToken: Cancel);
        var (message, _) = await c.ReceiveInvokeAsync();
        await Task.Delay(600, Cancel);
        await c.ReplyAsync(message.Id, new FileContent(new byte[] { 7 }, "u", "text/plain"));
        Assert.Equal([7], await call.WaitAsync(Wait, Cancel));
    }

    [Fact]
    public async Task InvokeAsync_Cancelled_ThrowsOperationCanceledAndTheConnectionStaysUsable()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        var call = room.InvokeAsync("t", "slow", new JsonContent([]), cts.Token);
        await c.ReceiveInvokeAsync();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(Wait, Cancel));
        Assert.True(room.IsConnected);
    }

    [Fact]
    public async Task InvokeOneWayAsync_SendsAToolCallIdAndDoesNotWait()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        var id = await room.InvokeOneWayAsync("messaging", "enable", new JsonContent([]), Cancel);
        var (_, request) = await c.ReceiveInvokeAsync();
        Assert.Equal(id, request.ToolCallId);
        Assert.Equal("messaging", request.Toolkit);
    }

    [Fact]
    public async Task SendRequestAsync_RawHeader_IsSentAsIsAndTheReplyReturned()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        var call = room.SendRequestAsync(MessageTypes.InvokeTool, new JsonObject { ["arguments"] = new JsonObject { ["type"] = "json", ["json"] = new JsonObject() } }, cancellationToken: Cancel);
        var message = await c.ReceiveAsync();
        Assert.Equal("""{"arguments":{"type":"json","json":{}}}""", System.Text.Encoding.UTF8.GetString(PackedMessage.Split(message.Data).HeaderUtf8.Span));
        await c.ReplyAsync(message.Id, new ErrorContent("toolkit and tool are required", ErrorCodes.InvalidRequest));
        var error = await Assert.ThrowsAsync<RoomServerException>(() => call.WaitAsync(Wait, Cancel));
        Assert.Equal(ErrorCodes.InvalidRequest, error.Code);
    }

    [Fact]
    public async Task SetAttributesAsync_SendsSetAttributesAndMergesLocalAttributes()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        await room.SetAttributesAsync(new JsonObject { ["status"] = "away" }, Cancel);
        var message = await c.ReceiveAsync();
        Assert.Equal(MessageTypes.SetAttributes, message.Type);
        Assert.Equal("""{"status":"away"}""", SdkTestData.CompactText(PackedMessage.Decode(message.Data).Header));
        Assert.Equal("away", room.LocalAttributes["status"]!.GetValue<string>());
        Assert.Equal("alice", room.LocalAttributes["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task ServerMessages_RaiseMessageReceivedAndStatusChanged()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var status = new TaskCompletionSource<RoomStatusEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var custom = new TaskCompletionSource<RoomMessageEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        room.StatusChanged += (_, e) => status.TrySetResult(e);
        room.MessageReceived += (_, e) =>
        {
            if (e.Type == "custom.event")
            {
                custom.TrySetResult(e);
            }
        };
        room.MessageReceived += (_, _) => throw new InvalidOperationException("a broken handler must not break the loop");
        var c = await server.NextConnectionAsync();
        await c.SendAsync(MessageTypes.RoomStatus, new JsonObject { ["status"] = "maintenance", ["message"] = "soon" });
        await c.SendAsync("custom.event", new JsonObject { ["x"] = 1 }, new byte[] { 9 });

        var s = await status.Task.WaitAsync(Wait, Cancel);
        Assert.Equal("maintenance", s.Status);
        Assert.Equal("soon", s.Message);
        var m = await custom.Task.WaitAsync(Wait, Cancel);
        Assert.Equal(1, m.Packed!.Header["x"]!.GetValue<int>());
        Assert.Equal([9], m.Packed.Payload.ToArray());
        Assert.True(room.IsConnected);
    }

    [Fact]
    public async Task ServerClosesWith1000_EndsTheClientWithTheReasonAndFailsPendingRequests()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", FastReconnect(), Cancel);
        var c = await server.NextConnectionAsync();
        var pending = room.InvokeAsync("t", "pending", new JsonContent([]), Cancel);
        await c.ReceiveInvokeAsync();

        await c.CloseAsync(WebSocketCloseStatus.NormalClosure, "room deleted");

        var error = await Assert.ThrowsAsync<RoomConnectionException>(() => pending.WaitAsync(Wait, Cancel));
        Assert.Contains("room deleted", error.Message, StringComparison.Ordinal);
        var end = await room.Completion.WaitAsync(Wait, Cancel);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, end.CloseStatus);
        Assert.Equal("room deleted", end.CloseDescription);
        Assert.Equal(RoomClientState.Closed, room.State);
        var after = await Assert.ThrowsAsync<RoomConnectionException>(() => room.InvokeAsync("t", "after", new JsonContent([]), Cancel));
        Assert.Contains("room deleted", after.Message, StringComparison.Ordinal);

        // No reconnect attempt.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => server.NextConnectionAsync(TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public async Task ConnectionDropped_ReconnectsRestoresAttributesAndMessagingAndFailsInFlightRequests()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", FastReconnect(), Cancel);
        var disconnected = new TaskCompletionSource<RoomDisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reconnected = new TaskCompletionSource<RoomReconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        room.Disconnected += (_, e) => disconnected.TrySetResult(e);
        room.Reconnected += (_, e) => reconnected.TrySetResult(e);
        room.Secrets.SecretRequestHandler = (_, _) => Task.FromResult(SecretRequestResult.Provide(new byte[] { 42 }));
        var c1 = await server.NextConnectionAsync();

        await room.SetAttributesAsync(new JsonObject { ["status"] = "busy" }, Cancel);
        Assert.Equal(MessageTypes.SetAttributes, (await c1.ReceiveAsync()).Type);
        var enable = room.Messaging.EnableAsync(Cancel);
        var (enableMessage, _) = await c1.ReceiveInvokeAsync();
        await c1.ReplyAsync(enableMessage.Id, EmptyContent.Instance);
        await c1.SendAsync(MessageTypes.MessagingSend, new JsonObject
        {
            ["from_participant_id"] = "p-1",
            ["type"] = "messaging.enabled",
            ["message"] = new JsonObject { ["participants"] = new JsonArray(new JsonObject { ["id"] = "p-9", ["role"] = "user", ["attributes"] = new JsonObject { ["name"] = "bob" } }) },
        });
        await enable.WaitAsync(Wait, Cancel);
        Assert.Single(room.Messaging.Participants);

        var inFlight = room.InvokeAsync("t", "in-flight", new JsonContent([]), Cancel);
        await c1.ReceiveInvokeAsync();
        c1.Abort();

        var lost = await Assert.ThrowsAsync<RoomConnectionException>(() => inFlight.WaitAsync(Wait, Cancel));
        Assert.False(lost.IsPermanent);
        Assert.Contains("not replayed", lost.Message, StringComparison.Ordinal);
        await disconnected.Task.WaitAsync(Wait, Cancel);

        var c2 = await server.NextConnectionAsync();
        Assert.Equal("jwt", c2.Token);
        var attributes = await c2.ReceiveAsync();
        Assert.Equal(MessageTypes.SetAttributes, attributes.Type);
        Assert.Equal("busy", PackedMessage.Decode(attributes.Data).Header["status"]!.GetValue<string>());
        Assert.Equal(0UL, attributes.Id);
        var (_, reEnable) = await c2.ReceiveInvokeAsync();
        Assert.Equal("messaging", reEnable.Toolkit);
        Assert.Equal("enable", reEnable.Tool);
        Assert.NotNull(reEnable.ToolCallId);

        var again = await reconnected.Task.WaitAsync(Wait, Cancel);
        Assert.Equal("p-1", again.PreviousParticipantId);
        Assert.Equal("p-2", again.ParticipantId);
        Assert.Equal("p-2", room.ParticipantId);
        Assert.Equal("busy", room.LocalAttributes["status"]!.GetValue<string>());
        Assert.Empty(room.Messaging.Participants);
        Assert.True(room.Messaging.IsEnabled);

        var next = room.InvokeAsync("t", "after", new JsonContent([]), Cancel);
        var (afterMessage, _) = await c2.ReceiveInvokeAsync();
        await c2.ReplyAsync(afterMessage.Id, new TextContent("ok"));
        Assert.Equal("ok", ((TextContent)await next.WaitAsync(Wait, Cancel)).Text);

        // The prompt handler registered before the drop still answers on the new connection.
        await c2.SendAsync(MessageTypes.RequestSecret, new JsonObject
        {
            ["request_id"] = "r-after",
            ["request"] = new JsonObject { ["url"] = "u", ["type"] = "t", ["participant_id"] = "p-2", ["timeout"] = 5, ["delegate_to"] = null },
        });
        var (provide, provideRequest) = await c2.ReceiveInvokeAsync();
        Assert.Equal("provide_secret", provideRequest.Tool);
        Assert.Equal("r-after", ((BinaryContent)provideRequest.Arguments).Headers["request_id"]!.GetValue<string>());
        Assert.Equal([42], provideRequest.Arguments.Data.ToArray());
        await c2.ReplyAsync(provide.Id, EmptyContent.Instance);
    }

    [Fact]
    public async Task ServerClosesWithNon1000_Reconnects()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", FastReconnect(), Cancel);
        var c1 = await server.NextConnectionAsync();
        await c1.CloseAsync(WebSocketCloseStatus.InternalServerError, "restarting");
        var c2 = await server.NextConnectionAsync();
        Assert.Equal(2, c2.Index);
        await WaitUntilAsync(() => room.ParticipantId == "p-2");
    }

    [Fact]
    public async Task RequestDuringReconnect_WaitsForTheNewConnection()
    {
        await using var server = await FakeRoomServer.StartAsync();
        var options = FastReconnect();
        options.ReconnectInitialDelay = TimeSpan.FromMilliseconds(300);
        options.ReconnectMaxDelay = TimeSpan.FromMilliseconds(300);
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", options, Cancel);
        var c1 = await server.NextConnectionAsync();
        c1.Abort();
        await WaitUntilAsync(() => room.State == RoomClientState.Reconnecting);

        var call = room.InvokeAsync("t", "queued", new JsonContent([]), Cancel);
        var c2 = await server.NextConnectionAsync();
        var (message, _) = await c2.ReceiveInvokeAsync();
        await c2.ReplyAsync(message.Id, new TextContent("served"));
        Assert.Equal("served", ((TextContent)await call.WaitAsync(Wait, Cancel)).Text);
    }

    [Fact]
    public async Task Reconnect_RefusedWith403_EndsTheClient()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", FastReconnect(), Cancel);
        var c1 = await server.NextConnectionAsync();
        server.RefuseWithStatus = 403;
        c1.Abort();

        var end = await room.Completion.WaitAsync(Wait, Cancel);
        var error = Assert.IsType<RoomConnectionException>(end.Exception);
        Assert.Equal(HttpStatusCode.Forbidden, error.HttpStatusCode);
        Assert.Equal(RoomClientState.Closed, room.State);
    }

    [Fact]
    public async Task Reconnect_ServerUnavailableBeyondReconnectTimeout_GivesUp()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", FastReconnect(TimeSpan.FromSeconds(1)), Cancel);
        var closed = new TaskCompletionSource<RoomDisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        room.Closed += (_, e) => closed.TrySetResult(e);
        var c1 = await server.NextConnectionAsync();
        server.RefuseWithStatus = 503;
        c1.Abort();

        var end = await closed.Task.WaitAsync(Wait, Cancel);
        Assert.Contains("could not reconnect", end.Exception!.Message, StringComparison.Ordinal);
        Assert.Equal(RoomClientState.Closed, room.State);
    }

    [Fact]
    public async Task Reconnect_Disabled_EndsTheClientOnADrop()
    {
        await using var server = await FakeRoomServer.StartAsync();
        var options = FastReconnect();
        options.Reconnect = false;
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", options, Cancel);
        (await server.NextConnectionAsync()).Abort();
        var end = await room.Completion.WaitAsync(Wait, Cancel);
        Assert.Null(end.CloseStatus);
        Assert.NotNull(end.Exception);
    }

    [Fact]
    public async Task DisposeAsync_ClosesWith1000AndFailsPendingRequests()
    {
        await using var server = await FakeRoomServer.StartAsync();
        var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        var pending = room.InvokeAsync("t", "pending", new JsonContent([]), Cancel);
        await c.ReceiveInvokeAsync();
        var closeStatus = c.ReceiveCloseAsync();

        await room.DisposeAsync();

        Assert.Equal(WebSocketCloseStatus.NormalClosure, await closeStatus.WaitAsync(Wait, Cancel));
        var error = await Assert.ThrowsAsync<RoomConnectionException>(() => pending.WaitAsync(Wait, Cancel));
        Assert.Contains("closed", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => room.InvokeAsync("t", "x", new JsonContent([]), Cancel));
        Assert.Equal(RoomClientState.Closed, room.State);
        await room.DisposeAsync();
    }

    [Fact]
    public async Task ConcurrentRequests_FromManyTasks_AllCompleteWithTheirOwnReplies()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        var echo = Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                var (message, request) = await c.ReceiveInvokeAsync();
                await c.ReplyAsync(message.Id, new TextContent(request.Tool));
            }
        }, Cancel);

        var calls = Enumerable.Range(0, 50).Select(i => Task.Run(() => room.InvokeAsync("t", "tool" + i, new JsonContent([]), Cancel), Cancel)).ToArray();
        var replies = await Task.WhenAll(calls).WaitAsync(Wait, Cancel);
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal("tool" + i, ((TextContent)replies[i]).Text);
        }

        await echo;
    }

    [Theory]
    [InlineData(0, 500)]
    [InlineData(1, 1000)]
    [InlineData(2, 2000)]
    [InlineData(5, 16000)]
    [InlineData(6, 30000)]
    [InlineData(40, 30000)]
    public void ReconnectBackoff_Delay_Is500MsTimesTwoToTheNCappedAt30s(int attempt, int expectedMs)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), ReconnectBackoff.Delay(attempt, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Options_InvalidTimeout_IsRejectedAtConnect()
    {
        var options = new RoomClientOptions { RequestTimeout = TimeSpan.Zero };
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => RoomClient.ConnectAsync(new Uri("ws://127.0.0.1:1/rooms/x"), "jwt", options, Cancel));
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Wait);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("the condition did not become true in time");
            }

            await Task.Delay(20, Cancel);
        }
    }
}
