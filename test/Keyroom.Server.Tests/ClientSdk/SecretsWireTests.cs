using System.Text;
using System.Text.Json.Nodes;
using Keyroom.Client.Rooms;
using Keyroom.Protocol;

namespace Keyroom.Server.Tests.ClientSdk;

/// <summary>
/// The secrets toolkit's requests and reply handling against the captured examples of the official client
/// (examples/secrets-toolkit.json, secrets-prompts.json, frames-hex.json), through a scripted server.
/// </summary>
public sealed class SecretsWireTests
{
    private static readonly JsonObject Operations = SdkTestData.Load("secrets-toolkit.json")["operations"]!.AsObject();
    private static readonly JsonObject Prompts = SdkTestData.Load("secrets-prompts.json");

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static byte[] Bytes(int length, byte seed) => [.. Enumerable.Range(0, length).Select(i => (byte)(i * 7 + seed))];

    private static string HeaderText(ProtocolMessage message) =>
        Encoding.UTF8.GetString(PackedMessage.Split(message.Data).HeaderUtf8.Span);

    private static ReadOnlyMemory<byte> Payload(ProtocolMessage message) => PackedMessage.Split(message.Data).Payload;

    /// <summary>Runs a call, checks its request against an example operation and answers with the example reply.</summary>
    private static async Task<T> ExpectAsync<T>(FakeConnection connection, string operation, Func<Task<T>> call, byte[]? expectedPayload = null, byte[]? replyPayload = null)
    {
        var task = call();
        var (message, _) = await connection.ReceiveInvokeAsync();
        var example = Operations[operation]!;
        Assert.Equal(SdkTestData.CompactText(example["request"]!["header"]!), HeaderText(message));
        Assert.Equal(example["request"]!["binary_payload_bytes"]!.GetValue<int>(), Payload(message).Length);
        if (expectedPayload is not null)
        {
            Assert.Equal(expectedPayload, Payload(message).ToArray());
        }

        var response = example["response"]!;
        var replyBytes = replyPayload ?? new byte[response["binary_payload_bytes"]!.GetValue<int>()];
        await connection.ReplyAsync(message.Id, Content.Parse(response["header"]!.AsObject(), replyBytes));
        return await task.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
    }

    private static Task<int> Void(Func<Task> call) => call().ContinueWith(static t => { t.GetAwaiter().GetResult(); return 0; }, TaskScheduler.Default);

    [Fact]
    public async Task SecretsClient_EveryTool_SendsTheOfficialRequestAndParsesTheExampleReply()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        var secrets = room.Secrets;
        var big = Bytes(5000, 1);

        await ExpectAsync(c, "set_secret", () => Void(() => secrets.SetSecretAsync("s1", big, type: "application/octet-stream", name: "big", cancellationToken: Cancel)), big);

        var list = await ExpectAsync(c, "list_secrets", () => secrets.ListSecretsAsync(Cancel));
        Assert.Equal([new RoomSecretInfo("s1", "big", "application/octet-stream", null)], list);

        Assert.True(await ExpectAsync(c, "exists", () => secrets.ExistsAsync("s1", cancellationToken: Cancel)));
        Assert.False(await ExpectAsync(c, "exists#2", () => secrets.ExistsAsync("nope", cancellationToken: Cancel)));

        var file = await ExpectAsync(c, "get_secret", () => secrets.GetSecretAsync("s1", cancellationToken: Cancel), replyPayload: big);
        Assert.NotNull(file);
        Assert.Equal(big, file.Data.ToArray());
        Assert.Equal("big", file.Name);
        Assert.Equal("application/octet-stream", file.MimeType);
        Assert.DoesNotContain("\u0001", file.ToString(), StringComparison.Ordinal);

        Assert.Null(await ExpectAsync(c, "get_secret#2", () => secrets.GetSecretAsync("zzz", cancellationToken: Cancel)));

        const string target = "ca062e9a-c7b8-4cd7-9b3e-00eecc47efd5";
        var provided = Bytes(3000, 9);
        var got = await ExpectAsync(c, "request_secret", () => secrets.RequestSecretAsync(target, "https://example.com/key", "text/plain", TimeSpan.FromSeconds(5), cancellationToken: Cancel), replyPayload: provided);
        Assert.Equal(provided, got);

        var denied = await Assert.ThrowsAsync<RoomServerException>(() =>
            ExpectAsync(c, "request_secret#2", () => secrets.RequestSecretAsync(target, "https://example.com/deny", "text/plain", TimeSpan.FromSeconds(5), cancellationToken: Cancel)));
        Assert.Equal("declined by alice", denied.Message);
        Assert.Equal(1001, denied.Code);

        var oauth = new OAuthClientConfig
        {
            ClientId = "cid",
            AuthorizationEndpoint = "https://auth.example/authorize",
            TokenEndpoint = "https://auth.example/token",
            Scopes = ["repo"],
        };
        Assert.Equal("token-for-CODE123", await ExpectAsync(c, "request_oauth_token", () =>
            secrets.RequestOAuthTokenAsync(target, oauth, "https://app.example/cb", timeout: TimeSpan.FromSeconds(5), cancellationToken: Cancel)));

        var offline = new OAuthClientConfig { ClientId = "cid", AuthorizationEndpoint = "a", TokenEndpoint = "b" };
        Assert.Null(await ExpectAsync(c, "get_offline_oauth_token", () => secrets.GetOfflineOAuthTokenAsync(offline, cancellationToken: Cancel)));

        await ExpectAsync(c, "delete_secret", () => Void(() => secrets.DeleteSecretAsync("s1", cancellationToken: Cancel)));
        await ExpectAsync(c, "delete_requested_secret", () => Void(() => secrets.DeleteRequestedSecretAsync("https://example.com/key", "text/plain", cancellationToken: Cancel)));

        await ExpectAsync(c, "provide_secret", () => Void(() => secrets.ProvideSecretAsync("d4e6f2b7-d862-497f-a9af-58409fe4975f", provided, Cancel)), provided);
        await ExpectAsync(c, "provide_secret#2", () => Void(() => secrets.RejectSecretAsync("994327e8-9178-4ca3-a4cf-2423b7e89181", "declined by alice", Cancel)));
        await ExpectAsync(c, "provide_oauth_authorization", () => Void(() => secrets.ProvideOAuthAuthorizationAsync("61021ea6-05a4-4b91-aef9-9b7731ffb8fb", "CODE123", Cancel)));
    }

    [Fact]
    public async Task RejectOAuthAuthorizationAsync_SendsTheOfficialRejection()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        var task = room.Secrets.RejectOAuthAuthorizationAsync("61021ea6-05a4-4b91-aef9-9b7731ffb8fb", "access_denied", Cancel);
        var (message, _) = await c.ReceiveInvokeAsync();
        Assert.Equal(SdkTestData.CompactText(Prompts["provider_answers"]!["reject_oauth_authorization"]!), HeaderText(message));
        await c.ReplyAsync(message.Id, EmptyContent.Instance);
        await task.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
    }

    [Fact]
    public async Task InvokeAsync_FirstRequestOnAConnection_HasIdZeroAndMatchesTheFramesExampleByteForByte()
    {
        var example = SdkTestData.Load("frames-hex.json")["request_list_secrets_id_0"]!;
        var packets = example["ws_messages_hex"]!.AsArray().Select(p => Convert.FromHexString(p!.GetValue<string>())).ToArray();
        var expectedData = packets.Skip(1).SelectMany(p => p.Skip(FrameEncoder.DataPacketPrefixSize)).ToArray();

        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        var list = room.Secrets.ListSecretsAsync(Cancel);
        var (message, _) = await c.ReceiveInvokeAsync();

        Assert.Equal(0UL, message.Id);
        Assert.Equal(expectedData, message.Data.ToArray());
        // The whole message re-framed in 1 KiB chunks is the example's WebSocket messages.
        Assert.Equal(packets, FrameEncoder.Encode(message.Id, message.Type, message.Data.Span));

        await c.ReplyAsync(message.Id, new JsonContent(new JsonObject { ["secrets"] = new JsonArray() }));
        Assert.Empty(await list.WaitAsync(TimeSpan.FromSeconds(10), Cancel));

        var exists = room.Secrets.ExistsAsync("x", cancellationToken: Cancel);
        var (second, _) = await c.ReceiveInvokeAsync();
        Assert.Equal(1UL, second.Id);
        await c.ReplyAsync(second.Id, new JsonContent(new JsonObject { ["exists"] = false }));
        Assert.False(await exists.WaitAsync(TimeSpan.FromSeconds(10), Cancel));
    }

    [Fact]
    public void ProvideSecret_PackedArguments_MatchThePackMessageExample()
    {
        var hex = SdkTestData.Load("frames-hex.json")["packMessage_binary_content_example"]!["hex"]!.GetValue<string>();
        var request = SecretsRequests.ProvideSecret("r1", Encoding.UTF8.GetBytes("hunter2"), error: null);
        Assert.Equal(hex, Convert.ToHexStringLower(request.Arguments.Encode()));
    }

    public static TheoryData<string, string> UnexpectedReplies => new()
    {
        { "list_secrets", """{"type":"empty"}""" },
        { "list_secrets", """{"type":"json","json":{}}""" },
        { "list_secrets", """{"type":"json","json":{"secrets":[{"id":"a","name":"b"}]}}""" },
        { "list_secrets", """{"type":"json","json":{"secrets":[{"id":"a","name":"b","type":"t","delegated_to":5}]}}""" },
        { "exists", """{"type":"json","json":{"exists":"yes"}}""" },
        { "exists", """{"type":"empty"}""" },
        { "get_secret", """{"type":"json","json":{}}""" },
        { "get_secret", """{"type":"binary","headers":{}}""" },
        { "set_secret", """{"type":"text","text":"ok"}""" },
        { "delete_secret", """{"type":"file","name":"n","mime_type":"m"}""" },
        { "request_secret", """{"type":"empty"}""" },
        { "request_oauth_token", """{"type":"empty"}""" },
        { "get_offline_oauth_token", """{"type":"json","json":{"access_token":5}}""" },
    };

    [Theory]
    [MemberData(nameof(UnexpectedReplies))]
    public async Task SecretsClient_WrongReplyType_ThrowsUnexpectedReturnType(string tool, string replyHeader)
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        var oauth = new OAuthClientConfig { ClientId = "c", AuthorizationEndpoint = "a", TokenEndpoint = "t" };
        Task call = tool switch
        {
            "list_secrets" => room.Secrets.ListSecretsAsync(Cancel),
            "exists" => room.Secrets.ExistsAsync("x", cancellationToken: Cancel),
            "get_secret" => room.Secrets.GetSecretAsync("x", cancellationToken: Cancel),
            "set_secret" => room.Secrets.SetSecretAsync("x", new byte[] { 1 }, cancellationToken: Cancel),
            "delete_secret" => room.Secrets.DeleteSecretAsync("x", cancellationToken: Cancel),
            "request_secret" => room.Secrets.RequestSecretAsync("p", "u", "t", TimeSpan.FromSeconds(1), cancellationToken: Cancel),
            "request_oauth_token" => room.Secrets.RequestOAuthTokenAsync("p", oauth, "r", cancellationToken: Cancel),
            _ => room.Secrets.GetOfflineOAuthTokenAsync(oauth, cancellationToken: Cancel),
        };
        var (message, request) = await c.ReceiveInvokeAsync();
        Assert.Equal(tool, request.Tool);
        await c.ReplyAsync(message.Id, Content.Parse(JsonNode.Parse(replyHeader)!.AsObject(), new byte[] { 1, 2 }));

        var error = await Assert.ThrowsAsync<RoomServerException>(() => call.WaitAsync(TimeSpan.FromSeconds(10), Cancel));
        Assert.Equal("unexpected return type from secrets." + tool, error.Message);
        Assert.Null(error.Code);
    }

    [Fact]
    public async Task RequestOAuthTokenAsync_EmptyOrMissingAccessToken_ReturnsNull()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        var oauth = new OAuthClientConfig { ClientId = "c", AuthorizationEndpoint = "a", TokenEndpoint = "t" };
        foreach (var json in new[] { new JsonObject { ["access_token"] = "" }, new JsonObject(), new JsonObject { ["access_token"] = 3 } })
        {
            var call = room.Secrets.RequestOAuthTokenAsync("p", oauth, "r", cancellationToken: Cancel);
            var (message, _) = await c.ReceiveInvokeAsync();
            await c.ReplyAsync(message.Id, new JsonContent(json));
            Assert.Null(await call.WaitAsync(TimeSpan.FromSeconds(10), Cancel));
        }
    }

    [Fact]
    public async Task ListSecretsAsync_DelegatedToString_IsReturned()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        var call = room.Secrets.ListSecretsAsync(Cancel);
        var (message, _) = await c.ReceiveInvokeAsync();
        await c.ReplyAsync(message.Id, new JsonContent(JsonNode.Parse("""{"secrets":[{"id":"a","name":"n","type":"t","delegated_to":"agent"},{"id":"b","name":"n2","type":"t2"}]}""")!.AsObject()));
        Assert.Equal(
            [new RoomSecretInfo("a", "n", "t", "agent"), new RoomSecretInfo("b", "n2", "t2", null)],
            await call.WaitAsync(TimeSpan.FromSeconds(10), Cancel));
    }

    [Fact]
    public async Task SecretRequestHandler_RegisteredAfterConnect_ProvidesTheSecretWithTheOfficialRequest()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var c = await server.NextConnectionAsync();
        var seen = new TaskCompletionSource<SecretRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        room.Secrets.SecretRequestHandler = (request, _) =>
        {
            seen.TrySetResult(request);
            return Task.FromResult(SecretRequestResult.Provide(Encoding.UTF8.GetBytes("secret bytes")));
        };

        await c.SendAsync(MessageTypes.RequestSecret, Prompts[MessageTypes.RequestSecret]!.AsObject());
        var (message, _) = await c.ReceiveInvokeAsync();
        Assert.Equal(SdkTestData.CompactText(Prompts["provider_answers"]!["provide_secret"]!.AsObject().Without("_payload")), HeaderText(message));
        Assert.Equal("secret bytes", Encoding.UTF8.GetString(Payload(message).Span));
        await c.ReplyAsync(message.Id, EmptyContent.Instance);

        var request = await seen.Task.WaitAsync(TimeSpan.FromSeconds(5), Cancel);
        Assert.Equal("d4e6f2b7-d862-497f-a9af-58409fe4975f", request.RequestId);
        Assert.Equal("https://example.com/key", request.Url);
        Assert.Equal("text/plain", request.Type);
        Assert.Null(request.DelegateTo);
        Assert.Equal("ca062e9a-c7b8-4cd7-9b3e-00eecc47efd5", request.ParticipantId);
        Assert.Equal(TimeSpan.FromSeconds(300), request.Timeout);
    }

    [Fact]
    public async Task SecretRequestHandler_ReturnsRejection_SendsTheOfficialRejection()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", new RoomClientOptions
        {
            SecretRequestHandler = (_, _) => Task.FromResult(SecretRequestResult.Reject("declined by alice")),
        }, Cancel);
        var c = await server.NextConnectionAsync();

        await c.SendAsync(MessageTypes.RequestSecret, Prompts[MessageTypes.RequestSecret]!.AsObject());
        var (message, _) = await c.ReceiveInvokeAsync();
        Assert.Equal(SdkTestData.CompactText(Prompts["provider_answers"]!["reject_secret"]!.AsObject().Without("_payload")), HeaderText(message));
        Assert.Equal(0, Payload(message).Length);
        await c.ReplyAsync(message.Id, EmptyContent.Instance);
    }

    [Fact]
    public async Task SecretRequestHandler_Throws_RejectsWithAGenericReasonAndReportsTheException()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var reported = new TaskCompletionSource<RoomErrorEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        room.CallbackFailed += (_, e) => reported.TrySetResult(e);
        room.Secrets.SecretRequestHandler = (_, _) => throw new InvalidOperationException("vault path /very/private");
        var c = await server.NextConnectionAsync();

        await c.SendAsync(MessageTypes.RequestSecret, Prompts[MessageTypes.RequestSecret]!.AsObject());
        var (message, request) = await c.ReceiveInvokeAsync();
        var error = ((BinaryContent)request.Arguments).Headers["error"]!.GetValue<string>();
        Assert.DoesNotContain("private", error, StringComparison.Ordinal);
        Assert.NotEmpty(error);
        await c.ReplyAsync(message.Id, EmptyContent.Instance);
        Assert.IsType<InvalidOperationException>((await reported.Task.WaitAsync(TimeSpan.FromSeconds(5), Cancel)).Exception);
    }

    [Fact]
    public async Task SecretRequestHandler_Deferred_SendsNothingAndTheAppAnswersItself()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var prompt = new TaskCompletionSource<SecretRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        room.Secrets.SecretRequestHandler = (request, _) =>
        {
            prompt.TrySetResult(request);
            return Task.FromResult(SecretRequestResult.Deferred);
        };
        var c = await server.NextConnectionAsync();
        await c.SendAsync(MessageTypes.RequestSecret, Prompts[MessageTypes.RequestSecret]!.AsObject());
        var request = await prompt.Task.WaitAsync(TimeSpan.FromSeconds(5), Cancel);

        // Nothing was sent for the prompt: the next message is the app's own list call.
        var list = room.Secrets.ListSecretsAsync(Cancel);
        var (first, firstRequest) = await c.ReceiveInvokeAsync();
        Assert.Equal("list_secrets", firstRequest.Tool);
        await c.ReplyAsync(first.Id, new JsonContent(new JsonObject { ["secrets"] = new JsonArray() }));
        await list.WaitAsync(TimeSpan.FromSeconds(10), Cancel);

        var provide = room.Secrets.ProvideSecretAsync(request.RequestId, new byte[] { 1 }, Cancel);
        var (second, secondRequest) = await c.ReceiveInvokeAsync();
        Assert.Equal("provide_secret", secondRequest.Tool);
        await c.ReplyAsync(second.Id, EmptyContent.Instance);
        await provide.WaitAsync(TimeSpan.FromSeconds(10), Cancel);
    }

    [Fact]
    public async Task OAuthTokenRequestHandler_ReceivesThePromptFieldsAndProvidesTheCode()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", cancellationToken: Cancel);
        var seen = new TaskCompletionSource<OAuthAuthorizationRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        room.Secrets.OAuthTokenRequestHandler = (request, _) =>
        {
            seen.TrySetResult(request);
            return Task.FromResult(OAuthAuthorizationResult.Provide("CODE123"));
        };
        var c = await server.NextConnectionAsync();

        await c.SendAsync(MessageTypes.RequestOAuthToken, Prompts[MessageTypes.RequestOAuthToken]!.AsObject());
        var (message, _) = await c.ReceiveInvokeAsync();
        Assert.Equal(SdkTestData.CompactText(Prompts["provider_answers"]!["provide_oauth_authorization"]!), HeaderText(message));
        await c.ReplyAsync(message.Id, EmptyContent.Instance);

        var request = await seen.Task.WaitAsync(TimeSpan.FromSeconds(5), Cancel);
        Assert.Equal("61021ea6-05a4-4b91-aef9-9b7731ffb8fb", request.RequestId);
        Assert.Equal("https://auth.example/authorize", request.AuthorizationEndpoint);
        Assert.Equal("https://auth.example/token", request.TokenEndpoint);
        Assert.Equal("iHipW_diqnpOMLo7RV7DrJpeHdEpfew7_wS2LiUNblg", request.Challenge);
        Assert.Equal(["repo"], request.Scopes);
        Assert.Equal("cid", request.ClientId);
        Assert.Equal("https://app.example/cb", request.RedirectUri);
        Assert.Equal("ca062e9a-c7b8-4cd7-9b3e-00eecc47efd5", request.ParticipantId);
        Assert.Null(request.DelegateTo);
    }

    [Fact]
    public async Task OAuthTokenRequestHandler_Rejects_SendsTheOfficialRejection()
    {
        await using var server = await FakeRoomServer.StartAsync();
        await using var room = await RoomClient.ConnectAsync(server.RoomUrl(), "jwt", new RoomClientOptions
        {
            OAuthTokenRequestHandler = (_, _) => Task.FromResult(OAuthAuthorizationResult.Reject("access_denied")),
        }, Cancel);
        var c = await server.NextConnectionAsync();

        await c.SendAsync(MessageTypes.RequestOAuthToken, Prompts[MessageTypes.RequestOAuthToken]!.AsObject());
        var (message, _) = await c.ReceiveInvokeAsync();
        Assert.Equal(SdkTestData.CompactText(Prompts["provider_answers"]!["reject_oauth_authorization"]!), HeaderText(message));
        await c.ReplyAsync(message.Id, EmptyContent.Instance);
    }
}

internal static class JsonObjectTestExtensions
{
    /// <summary>A copy without one key (the examples annotate payloads with "_payload").</summary>
    public static JsonObject Without(this JsonObject value, string key)
    {
        var copy = (JsonObject)value.DeepClone();
        copy.Remove(key);
        return copy;
    }
}
