using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Keyroom.Client;
using Keyroom.Client.Rooms;
using Keyroom.Protocol;
using Keyroom.Server.Tests.Support;

namespace Keyroom.Server.Tests.ClientSdk;

/// <summary>One real Keyroom server (Kestrel + SQLite) shared by the SDK scenarios; each test uses its own identities.</summary>
public sealed class SdkServerFixture : IAsyncLifetime
{
    public KeyroomTestServer Server { get; private set; } = null!;

    public string RoomA { get; } = "sdk-a-" + Guid.NewGuid().ToString("N")[..8];

    public string RoomB { get; } = "sdk-b-" + Guid.NewGuid().ToString("N")[..8];

    public async ValueTask InitializeAsync()
    {
        Server = await KeyroomTestServer.StartAsync();
        using var http = Server.CreateClient();
        var accounts = new AccountsClient(http, new KeyroomClientOptions { ApiKey = Server.AdminApiKey });
        await accounts.CreateRoomAsync(new CreateRoomRequest { Name = RoomA, IfNotExists = true });
        await accounts.CreateRoomAsync(new CreateRoomRequest { Name = RoomB, IfNotExists = true });
    }

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// The scenarios of test/compat/room-secrets.test.mjs, run with the .NET room SDK against a real server.
/// </summary>
public sealed class RoomSdkServerTests(SdkServerFixture fixture) : IClassFixture<SdkServerFixture>, IAsyncDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly List<RoomClient> _clients = [];

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private KeyroomTestServer Server => fixture.Server;

    private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..10];

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private Uri RoomUrl(string room) => new(Server.BaseUrl.ToString().Replace("http://", "ws://", StringComparison.Ordinal) + "rooms/" + room);

    private string Mint(string identity, string room, JsonObject? api = null, bool withoutApi = false, DateTimeOffset? expires = null) =>
        ParticipantTokens.Create(Server.AdminApiKey, identity, room, withoutApi ? null : api ?? ApiScopes.AgentDefault(), "user", expires);

    private async Task<RoomClient> ConnectAsync(string identity, string? room = null, JsonObject? api = null, bool withoutApi = false, RoomClientOptions? options = null, string? jwt = null)
    {
        room ??= fixture.RoomA;
        options ??= new RoomClientOptions();
        options.RequestTimeout = TimeSpan.FromSeconds(30);
        options.HandshakeTimeout = TimeSpan.FromSeconds(10);
        var client = await RoomClient.ConnectAsync(RoomUrl(room), jwt ?? Mint(identity, room, api, withoutApi), options, Cancel);
        _clients.Add(client);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Connection
    // ------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task ConnectAsync_MintedToken_CompletesHandshakeWithIdRoomSessionAndName()
    {
        var identity = Unique("alice");
        var room = await ConnectAsync(identity);
        Assert.False(string.IsNullOrEmpty(room.ParticipantId));
        Assert.Equal(identity, room.LocalAttributes["name"]!.GetValue<string>());
        Assert.Equal(fixture.RoomA, room.RoomName);
        Assert.NotNull(room.SessionId);
        Assert.True(room.IsConnected);
        Assert.Empty(await room.Secrets.ListSecretsAsync(Cancel));
    }

    [Fact]
    public async Task ConnectAsync_AccountsConnectRoomResult_JoinsAndUsesTheSecretsToolkit()
    {
        using var http = Server.CreateClient();
        var accounts = new AccountsClient(http, new KeyroomClientOptions { ApiKey = Server.AdminApiKey });
        var connection = await accounts.ConnectRoomAsync(fixture.RoomA, Cancel);
        var room = await RoomClient.ConnectAsync(connection, new RoomClientOptions { HandshakeTimeout = Wait }, Cancel);
        _clients.Add(room);
        Assert.Equal(ParticipantTokens.ReadClaims(connection.Jwt)["name"]!.GetValue<string>(), room.LocalAttributes["name"]!.GetValue<string>());

        var id = Unique("via-connect");
        await room.Secrets.SetSecretAsync(id, Utf8("hello"), type: "text/plain", cancellationToken: Cancel);
        Assert.Equal("hello", Encoding.UTF8.GetString((await room.Secrets.GetSecretAsync(id, cancellationToken: Cancel))!.Data.Span));
        await room.Secrets.DeleteSecretAsync(id, cancellationToken: Cancel);
    }

    [Fact]
    public async Task ConnectAsync_MemberKeyConnectRoomToken_JoinsButCannotUseTheSecretsToolkit()
    {
        var memberKey = await Server.CreateApiKeyAsync(Server.ProjectId, Keyroom.Core.Auth.ProjectRole.Member, "sdk-member");
        using var http = Server.CreateClient();
        var accounts = new AccountsClient(http, new KeyroomClientOptions { ApiKey = memberKey });
        var connection = await accounts.ConnectRoomAsync(fixture.RoomA, Cancel);
        var room = await RoomClient.ConnectAsync(connection, new RoomClientOptions { HandshakeTimeout = Wait }, Cancel);
        _clients.Add(room);
        var error = await Assert.ThrowsAsync<RoomServerException>(() => room.Secrets.ListSecretsAsync(Cancel));
        Assert.Equal(ErrorCodes.PermissionDenied, error.Code);
    }

    [Fact]
    public async Task ConnectAsync_WrongSignature_IsRefusedPermanently()
    {
        var jwt = ParticipantTokens.Create(Server.AdminApiKey + "-wrong", Unique("mallory"), fixture.RoomA, ApiScopes.AgentDefault());
        var error = await Assert.ThrowsAsync<RoomConnectionException>(() => RoomClient.ConnectAsync(RoomUrl(fixture.RoomA), jwt, cancellationToken: Cancel));
        Assert.True(error.IsPermanent, error.Message);
    }

    [Fact]
    public async Task ConnectAsync_ExpiredToken_IsRefusedPermanently()
    {
        var jwt = Mint(Unique("late"), fixture.RoomA, expires: DateTimeOffset.UtcNow.AddHours(-1));
        var error = await Assert.ThrowsAsync<RoomConnectionException>(() => RoomClient.ConnectAsync(RoomUrl(fixture.RoomA), jwt, cancellationToken: Cancel));
        Assert.True(error.IsPermanent, error.Message);
    }

    [Fact]
    public async Task ConnectAsync_TokenForAnotherRoom_IsRefusedPermanently()
    {
        var jwt = Mint(Unique("wanderer"), fixture.RoomA);
        var error = await Assert.ThrowsAsync<RoomConnectionException>(() => RoomClient.ConnectAsync(RoomUrl(fixture.RoomB), jwt, cancellationToken: Cancel));
        Assert.True(error.IsPermanent, error.Message);
    }

    // ------------------------------------------------------------------------------------------------------------
    // CRUD and binary values
    // ------------------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(0)]
    [InlineData(1024)]
    [InlineData(64 * 1024)]
    [InlineData(1024 * 1024)]
    public async Task SecretsCrud_BinaryValue_RoundTrips(int size)
    {
        var room = await ConnectAsync(Unique("alice"));
        var secrets = room.Secrets;
        var id = Unique("bin");
        var name = "blob-" + size;
        var data = RandomBytes(size);

        await secrets.SetSecretAsync(id, data, type: "application/octet-stream", name: name, cancellationToken: Cancel);
        Assert.True(await secrets.ExistsAsync(id, cancellationToken: Cancel));

        var file = await secrets.GetSecretAsync(id, cancellationToken: Cancel);
        Assert.NotNull(file);
        Assert.Equal(data, file.Data.ToArray());
        Assert.Equal(name, file.Name);
        Assert.Equal("application/octet-stream", file.MimeType);

        var listed = Assert.Single(await secrets.ListSecretsAsync(Cancel), s => s.Id == id);
        Assert.Equal(new RoomSecretInfo(id, name, "application/octet-stream", null), listed);

        await secrets.DeleteSecretAsync(id, cancellationToken: Cancel);
        Assert.False(await secrets.ExistsAsync(id, cancellationToken: Cancel));
        Assert.Null(await secrets.GetSecretAsync(id, cancellationToken: Cancel));
        Assert.DoesNotContain(await secrets.ListSecretsAsync(Cancel), s => s.Id == id);
    }

    [Fact]
    public async Task SetSecretAsync_ExistingId_ReplacesTheValue()
    {
        var room = await ConnectAsync(Unique("alice"));
        var id = Unique("replace");
        await room.Secrets.SetSecretAsync(id, Utf8("first"), type: "text/plain", name: "v", cancellationToken: Cancel);
        await room.Secrets.SetSecretAsync(id, Utf8("second"), type: "text/plain", name: "v", cancellationToken: Cancel);
        Assert.Equal("second", Encoding.UTF8.GetString((await room.Secrets.GetSecretAsync(id, cancellationToken: Cancel))!.Data.Span));
        Assert.Single(await room.Secrets.ListSecretsAsync(Cancel), s => s.Id == id);
    }

    [Fact]
    public async Task GetSecretAsync_ByNameAndType_FindsTheSecret()
    {
        var room = await ConnectAsync(Unique("alice"));
        var name = Unique("name");
        await room.Secrets.SetSecretAsync(Unique("byname"), Utf8("found by name"), type: "text/plain", name: name, cancellationToken: Cancel);
        Assert.Equal("found by name", Encoding.UTF8.GetString((await room.Secrets.GetSecretAsync(null, name: name, cancellationToken: Cancel))!.Data.Span));
        Assert.Equal("found by name", Encoding.UTF8.GetString((await room.Secrets.GetSecretAsync(null, type: "text/plain", name: name, cancellationToken: Cancel))!.Data.Span));
    }

    [Fact]
    public async Task GetSecretAsync_UnknownId_ReturnsNullAndExistsIsFalse()
    {
        var room = await ConnectAsync(Unique("alice"));
        var id = Unique("missing");
        Assert.Null(await room.Secrets.GetSecretAsync(id, cancellationToken: Cancel));
        Assert.False(await room.Secrets.ExistsAsync(id, cancellationToken: Cancel));
    }

    [Fact]
    public async Task DelegatedTo_SecretIsListedWithItsDelegateAndReadAndDeletedWithIt()
    {
        var room = await ConnectAsync(Unique("alice"));
        var id = Unique("deleg");
        var delegatedTo = Unique("agent");
        var data = RandomBytes(300);
        await room.Secrets.SetSecretAsync(id, data, type: "application/octet-stream", name: "delegated", delegatedTo: delegatedTo, cancellationToken: Cancel);

        var listed = Assert.Single(await room.Secrets.ListSecretsAsync(Cancel), s => s.Id == id);
        Assert.Equal(delegatedTo, listed.DelegatedTo);
        Assert.Equal(data, (await room.Secrets.GetSecretAsync(id, delegatedTo: delegatedTo, cancellationToken: Cancel))!.Data.ToArray());
        Assert.True(await room.Secrets.ExistsAsync(id, delegatedTo, cancellationToken: Cancel));
        await room.Secrets.DeleteSecretAsync(id, delegatedTo, Cancel);
        Assert.False(await room.Secrets.ExistsAsync(id, delegatedTo, cancellationToken: Cancel));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Grants
    // ------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task ForIdentity_OtherIdentityWithoutAdmin_IsDeniedAndNothingIsStored()
    {
        var room = await ConnectAsync(Unique("alice"));
        var other = Unique("carol");
        var id = Unique("forid");
        var set = await Assert.ThrowsAsync<RoomServerException>(() => room.Secrets.SetSecretAsync(id, Utf8("nope"), type: "text/plain", forIdentity: other, cancellationToken: Cancel));
        Assert.Equal(ErrorCodes.PermissionDenied, set.Code);
        var exists = await Assert.ThrowsAsync<RoomServerException>(() => room.Secrets.ExistsAsync(id, forIdentity: other, cancellationToken: Cancel));
        Assert.Equal(ErrorCodes.PermissionDenied, exists.Code);

        var carol = await ConnectAsync(other);
        Assert.False(await carol.Secrets.ExistsAsync(id, cancellationToken: Cancel));
    }

    [Fact]
    public async Task ForIdentity_WithFullScope_StoresTheSecretForThatIdentity()
    {
        var admin = await ConnectAsync(Unique("admin"), api: ApiScopes.Full());
        var other = Unique("carol");
        var id = Unique("forid");
        var data = RandomBytes(2048);
        await admin.Secrets.SetSecretAsync(id, data, type: "application/octet-stream", name: "for-carol", forIdentity: other, cancellationToken: Cancel);
        Assert.True(await admin.Secrets.ExistsAsync(id, forIdentity: other, cancellationToken: Cancel));
        Assert.DoesNotContain(await admin.Secrets.ListSecretsAsync(Cancel), s => s.Id == id);

        var carol = await ConnectAsync(other);
        Assert.Equal(data, (await carol.Secrets.GetSecretAsync(id, cancellationToken: Cancel))!.Data.ToArray());
        Assert.Contains(await carol.Secrets.ListSecretsAsync(Cancel), s => s.Id == id);
    }

    [Fact]
    public async Task ForIdentity_OwnIdentity_NeedsNoAdmin()
    {
        var identity = Unique("alice");
        var room = await ConnectAsync(identity);
        var id = Unique("self");
        await room.Secrets.SetSecretAsync(id, Utf8("mine"), type: "text/plain", forIdentity: identity, cancellationToken: Cancel);
        Assert.True(await room.Secrets.ExistsAsync(id, forIdentity: identity, cancellationToken: Cancel));
        Assert.Equal("mine", Encoding.UTF8.GetString((await room.Secrets.GetSecretAsync(id, cancellationToken: Cancel))!.Data.Span));
    }

    [Fact]
    public async Task SecretsToolkit_ApiGrantWithoutSecrets_IsDenied()
    {
        var api = ApiScopes.AgentDefault();
        api.Remove("secrets");
        var room = await ConnectAsync(Unique("nosecrets"), api: api);
        Assert.Equal(ErrorCodes.PermissionDenied, (await Assert.ThrowsAsync<RoomServerException>(() => room.Secrets.ListSecretsAsync(Cancel))).Code);
        Assert.Equal(ErrorCodes.PermissionDenied, (await Assert.ThrowsAsync<RoomServerException>(() => room.Secrets.SetSecretAsync(Unique("x"), Utf8("x"), cancellationToken: Cancel))).Code);
        Assert.Equal(ErrorCodes.PermissionDenied, (await Assert.ThrowsAsync<RoomServerException>(() => room.Secrets.GetSecretAsync(Unique("x"), cancellationToken: Cancel))).Code);
    }

    [Fact]
    public async Task SecretsToolkit_TokenWithoutApiGrant_IsDenied()
    {
        var room = await ConnectAsync(Unique("noapi"), withoutApi: true);
        Assert.Equal(ErrorCodes.PermissionDenied, (await Assert.ThrowsAsync<RoomServerException>(() => room.Secrets.ListSecretsAsync(Cancel))).Code);
        Assert.Equal(ErrorCodes.PermissionDenied, (await Assert.ThrowsAsync<RoomServerException>(() => room.Secrets.SetSecretAsync(Unique("x"), Utf8("x"), cancellationToken: Cancel))).Code);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Isolation
    // ------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task SecondIdentity_SameRoom_DoesNotSeeOrDeleteTheFirstIdentitysSecrets()
    {
        var alice = await ConnectAsync(Unique("alice"));
        var bob = await ConnectAsync(Unique("bob"));
        var id = Unique("private");
        await alice.Secrets.SetSecretAsync(id, Utf8("alice only"), type: "text/plain", cancellationToken: Cancel);

        Assert.DoesNotContain(await bob.Secrets.ListSecretsAsync(Cancel), s => s.Id == id);
        Assert.False(await bob.Secrets.ExistsAsync(id, cancellationToken: Cancel));
        Assert.Null(await bob.Secrets.GetSecretAsync(id, cancellationToken: Cancel));
        try
        {
            await bob.Secrets.DeleteSecretAsync(id, cancellationToken: Cancel);
        }
        catch (RoomServerException)
        {
            // Either an error or a no-op is fine; alice's secret must survive.
        }

        Assert.Equal("alice only", Encoding.UTF8.GetString((await alice.Secrets.GetSecretAsync(id, cancellationToken: Cancel))!.Data.Span));
    }

    [Fact]
    public async Task SameIdentity_OtherRoom_DoesNotSeeThisRoomsSecrets()
    {
        var identity = Unique("alice");
        var inA = await ConnectAsync(identity, fixture.RoomA);
        var inB = await ConnectAsync(identity, fixture.RoomB);
        var id = Unique("roomscoped");
        await inA.Secrets.SetSecretAsync(id, Utf8("room A"), type: "text/plain", cancellationToken: Cancel);
        Assert.DoesNotContain(await inB.Secrets.ListSecretsAsync(Cancel), s => s.Id == id);
        Assert.False(await inB.Secrets.ExistsAsync(id, cancellationToken: Cancel));
        Assert.Null(await inB.Secrets.GetSecretAsync(id, cancellationToken: Cancel));
        Assert.True(await inA.Secrets.ExistsAsync(id, cancellationToken: Cancel));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Presence
    // ------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Presence_TwoMessagingClients_SeeEachOtherWithIdRoleAndName()
    {
        var aliceName = Unique("alice");
        var bobName = Unique("bob");
        var alice = await ConnectAsync(aliceName);
        await alice.Messaging.EnableAsync(Cancel);
        var bob = await ConnectAsync(bobName);
        await bob.Messaging.EnableAsync(Cancel);

        await RoomClientTests.WaitUntilAsync(() => alice.Messaging.GetParticipant(bob.ParticipantId) is not null, Wait);
        var bobSeen = alice.Messaging.GetParticipant(bob.ParticipantId)!;
        Assert.Equal(bobName, bobSeen.Name);
        Assert.Equal("user", bobSeen.Role);
        Assert.Equal(bob.ParticipantId, alice.Messaging.GetParticipantByName(bobName)?.Id);

        var aliceSeen = bob.Messaging.GetParticipant(alice.ParticipantId);
        Assert.NotNull(aliceSeen);
        Assert.Equal(aliceName, aliceSeen.Name);
        Assert.Null(bob.Messaging.GetParticipant(bob.ParticipantId));
    }

    [Fact]
    public async Task Presence_DisposedClient_IsRemovedFromTheOthersList()
    {
        var alice = await ConnectAsync(Unique("alice"));
        var removed = new TaskCompletionSource<RemoteParticipant>(TaskCreationOptions.RunContinuationsAsynchronously);
        alice.Messaging.ParticipantRemoved += (_, e) => removed.TrySetResult(e.Participant);
        await alice.Messaging.EnableAsync(Cancel);
        var bob = await ConnectAsync(Unique("bob"));
        await bob.Messaging.EnableAsync(Cancel);
        var bobId = bob.ParticipantId;
        await RoomClientTests.WaitUntilAsync(() => alice.Messaging.GetParticipant(bobId) is not null, Wait);

        await bob.DisposeAsync();
        Assert.Equal(bobId, (await removed.Task.WaitAsync(Wait, Cancel)).Id);
        Assert.Null(alice.Messaging.GetParticipant(bobId));
    }

    [Fact]
    public async Task Messaging_SendAsync_ReachesTheOtherParticipant()
    {
        var alice = await ConnectAsync(Unique("alice"));
        var bob = await ConnectAsync(Unique("bob"));
        var received = new TaskCompletionSource<MessagingMessageEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        bob.Messaging.MessageReceived += (_, e) => received.TrySetResult(e);
        await bob.Messaging.EnableAsync(Cancel);
        await alice.Messaging.EnableAsync(Cancel);

        await alice.Messaging.SendAsync(bob.ParticipantId, "chat", new JsonObject { ["text"] = "hi bob" }, cancellationToken: Cancel);
        var message = await received.Task.WaitAsync(Wait, Cancel);
        Assert.Equal("chat", message.Type);
        Assert.Equal("hi bob", message.Message["text"]!.GetValue<string>());
        Assert.Equal(alice.ParticipantId, message.FromParticipantId);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Reconnect
    // ------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Reconnect_DisposeThenSameJwt_SeesTheSameSecrets()
    {
        var jwt = Mint(Unique("alice"), fixture.RoomA);
        var first = await ConnectAsync("unused", jwt: jwt);
        var id = Unique("persist");
        var data = RandomBytes(5000);
        await first.Secrets.SetSecretAsync(id, data, type: "application/octet-stream", cancellationToken: Cancel);
        await first.DisposeAsync();

        var second = await ConnectAsync("unused", jwt: jwt);
        Assert.False(string.IsNullOrEmpty(second.ParticipantId));
        Assert.Equal(data, (await second.Secrets.GetSecretAsync(id, cancellationToken: Cancel))!.Data.ToArray());
    }

    [Fact]
    public async Task Reconnect_DroppedSocket_ReconnectsWithANewParticipantAndKeepsWorking()
    {
        var options = new RoomClientOptions { ReconnectInitialDelay = TimeSpan.FromMilliseconds(100), ReconnectTimeout = TimeSpan.FromSeconds(10) };
        var room = await ConnectAsync(Unique("alice"), options: options);
        var reconnected = new TaskCompletionSource<RoomReconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        room.Reconnected += (_, e) => reconnected.TrySetResult(e);
        await room.Messaging.EnableAsync(Cancel);
        await room.SetAttributesAsync(new JsonObject { ["status"] = "busy" }, Cancel);
        var id = Unique("survives");
        await room.Secrets.SetSecretAsync(id, Utf8("still here"), type: "text/plain", cancellationToken: Cancel);
        var before = room.ParticipantId;

        room.AbortConnection();

        var again = await reconnected.Task.WaitAsync(Wait, Cancel);
        Assert.Equal(before, again.PreviousParticipantId);
        Assert.Equal(room.ParticipantId, again.ParticipantId);
        Assert.True(room.IsConnected);
        Assert.Equal("still here", Encoding.UTF8.GetString((await room.Secrets.GetSecretAsync(id, cancellationToken: Cancel))!.Data.Span));
        await RoomClientTests.WaitUntilAsync(() => room.Messaging.IsOnline, Wait);
        Assert.Equal("busy", room.LocalAttributes["status"]!.GetValue<string>());
    }

    // ------------------------------------------------------------------------------------------------------------
    // request_secret between two SDK clients, with the SDK's handlers
    // ------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task RequestSecret_ProviderHandlerReturnsBytes_RequesterReceivesThem()
    {
        var payload = RandomBytes(3000);
        var prompts = new List<SecretRequest>();
        var bob = await ConnectAsync(Unique("bob"));
        bob.Secrets.SecretRequestHandler = (request, _) =>
        {
            lock (prompts)
            {
                prompts.Add(request);
            }

            return Task.FromResult(SecretRequestResult.Provide(payload));
        };
        var alice = await ConnectAsync(Unique("alice"));
        var url = "https://example.com/" + Unique("key");

        var bytes = await alice.Secrets.RequestSecretAsync(bob.ParticipantId, url, "application/octet-stream", TimeSpan.FromSeconds(10), cancellationToken: Cancel);

        Assert.Equal(payload, bytes);
        var prompt = Assert.Single(prompts);
        Assert.Equal(url, prompt.Url);
        Assert.Equal("application/octet-stream", prompt.Type);
        Assert.Null(prompt.DelegateTo);
        Assert.Equal(bob.ParticipantId, prompt.ParticipantId);
        Assert.False(string.IsNullOrEmpty(prompt.RequestId));

        await alice.Secrets.DeleteRequestedSecretAsync(url, "application/octet-stream", cancellationToken: Cancel);
    }

    [Fact]
    public async Task RequestSecret_DelegateTo_IsForwardedToTheProvider()
    {
        var seen = new TaskCompletionSource<SecretRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        var bob = await ConnectAsync(Unique("bob"), options: new RoomClientOptions
        {
            SecretRequestHandler = (request, _) =>
            {
                seen.TrySetResult(request);
                return Task.FromResult(SecretRequestResult.Provide(Utf8("for the agent")));
            },
        });
        var alice = await ConnectAsync(Unique("alice"));
        var delegateTo = Unique("agent");
        var bytes = await alice.Secrets.RequestSecretAsync(bob.ParticipantId, "https://example.com/" + Unique("k"), "text/plain", TimeSpan.FromSeconds(10), delegateTo, Cancel);
        Assert.Equal("for the agent", Encoding.UTF8.GetString(bytes));
        Assert.Equal(delegateTo, (await seen.Task.WaitAsync(Wait, Cancel)).DelegateTo);
    }

    [Fact]
    public async Task RequestSecret_ProviderRejects_RequesterGetsTheErrorText()
    {
        var bob = await ConnectAsync(Unique("bob"));
        bob.Secrets.SecretRequestHandler = (_, _) => Task.FromResult(SecretRequestResult.Reject("declined by bob"));
        var alice = await ConnectAsync(Unique("alice"));
        var error = await Assert.ThrowsAsync<RoomServerException>(() =>
            alice.Secrets.RequestSecretAsync(bob.ParticipantId, "https://example.com/deny", "text/plain", TimeSpan.FromSeconds(10), cancellationToken: Cancel));
        Assert.Contains("declined by bob", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequestSecret_ProviderNeverAnswers_FailsAfterTheTimeout()
    {
        var bob = await ConnectAsync(Unique("bob"));
        bob.Secrets.SecretRequestHandler = (_, _) => Task.FromResult(SecretRequestResult.Deferred);
        var alice = await ConnectAsync(Unique("alice"));
        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<RoomServerException>(() =>
            alice.Secrets.RequestSecretAsync(bob.ParticipantId, "https://example.com/nobody", "text/plain", TimeSpan.FromSeconds(1), cancellationToken: Cancel));
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(800), $"failed after {watch.Elapsed}, before the 1 s timeout");
        Assert.Equal(ErrorCodes.Timeout, error.Code);
    }

    [Fact]
    public async Task RequestSecret_UnknownParticipant_FailsWithNotFound()
    {
        var alice = await ConnectAsync(Unique("alice"));
        var error = await Assert.ThrowsAsync<RoomServerException>(() =>
            alice.Secrets.RequestSecretAsync(Guid.NewGuid().ToString(), "https://example.com/x", "text/plain", TimeSpan.FromSeconds(5), cancellationToken: Cancel));
        Assert.Equal(ErrorCodes.NotFound, error.Code);
    }

    [Fact]
    public async Task RequestOAuthToken_ProviderHandler_GetsThePromptAndTheRequestCompletes()
    {
        var seen = new TaskCompletionSource<OAuthAuthorizationRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        var bob = await ConnectAsync(Unique("bob"));
        bob.Secrets.OAuthTokenRequestHandler = (request, _) =>
        {
            seen.TrySetResult(request);
            return Task.FromResult(OAuthAuthorizationResult.Reject("access_denied"));
        };
        var alice = await ConnectAsync(Unique("alice"));
        var oauth = new OAuthClientConfig
        {
            ClientId = Unique("cid"),
            ClientSecret = "client-secret-canary",
            AuthorizationEndpoint = "https://auth.example/" + Unique("authorize"),
            TokenEndpoint = "https://auth.example/token",
            Scopes = ["repo"],
        };

        var error = await Assert.ThrowsAsync<RoomServerException>(() =>
            alice.Secrets.RequestOAuthTokenAsync(bob.ParticipantId, oauth, "https://app.example/cb", timeout: TimeSpan.FromSeconds(10), cancellationToken: Cancel));
        Assert.Contains("access_denied", error.Message, StringComparison.Ordinal);

        var prompt = await seen.Task.WaitAsync(Wait, Cancel);
        Assert.Equal(oauth.AuthorizationEndpoint, prompt.AuthorizationEndpoint);
        Assert.Equal(oauth.TokenEndpoint, prompt.TokenEndpoint);
        Assert.Equal(oauth.ClientId, prompt.ClientId);
        Assert.Equal(["repo"], prompt.Scopes);
        Assert.Equal("https://app.example/cb", prompt.RedirectUri);
        Assert.False(string.IsNullOrEmpty(prompt.Challenge));
        Assert.DoesNotContain("client-secret-canary", prompt.Request.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetOfflineOAuthToken_NothingStored_ReturnsNull()
    {
        var alice = await ConnectAsync(Unique("alice"));
        var oauth = new OAuthClientConfig { ClientId = Unique("cid"), AuthorizationEndpoint = "https://auth.example/" + Unique("a"), TokenEndpoint = "https://auth.example/token" };
        Assert.Null(await alice.Secrets.GetOfflineOAuthTokenAsync(oauth, cancellationToken: Cancel));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Malformed input: an error reply with a code, and the connection stays usable
    // ------------------------------------------------------------------------------------------------------------

    public static TheoryData<string> MalformedCalls => new()
    {
        "set_secret with JSON input",
        "set_secret binary without headers object",
        "set_secret with every header absent",
        "set_secret with wrongly typed headers",
        "get_secret with text input",
        "exists without secret_id",
        "delete_secret without id",
        "request_secret without participant_id",
        "provide_secret for an unknown request",
        "provide_oauth_authorization for an unknown request",
        "unknown secrets tool",
        "unknown toolkit",
        "invoke_tool without toolkit and tool",
    };

    [Theory]
    [MemberData(nameof(MalformedCalls))]
    public async Task MalformedCall_FailsWithRoomServerExceptionAndTheConnectionStaysUsable(string label)
    {
        var room = await ConnectAsync(Unique("fuzzer"));
        Task call = label switch
        {
            "set_secret with JSON input" => room.InvokeAsync("secrets", "set_secret", new JsonContent(new JsonObject { ["secret_id"] = Unique("x"), ["data"] = "abc" }), Cancel),
            "set_secret binary without headers object" => room.SendRequestAsync(MessageTypes.InvokeTool, new JsonObject
            {
                ["toolkit"] = "secrets",
                ["tool"] = "set_secret",
                ["arguments"] = new JsonObject { ["type"] = "binary" },
            }, Utf8("payload"), Cancel),
            "set_secret with every header absent" => room.InvokeAsync("secrets", "set_secret", new BinaryContent(Utf8("payload"), []), Cancel),
            "set_secret with wrongly typed headers" => room.InvokeAsync("secrets", "set_secret", new BinaryContent(Utf8("payload"), new JsonObject
            {
                ["secret_id"] = 42,
                ["type"] = new JsonArray("x"),
                ["name"] = new JsonObject { ["a"] = 1 },
                ["delegated_to"] = 7,
                ["for_identity"] = null,
                ["has_data"] = "yes",
            }), Cancel),
            "get_secret with text input" => room.InvokeAsync("secrets", "get_secret", new TextContent("s1"), Cancel),
            "exists without secret_id" => room.InvokeAsync("secrets", "exists", new JsonContent(new JsonObject { ["delegated_to"] = null }), Cancel),
            "delete_secret without id" => room.InvokeAsync("secrets", "delete_secret", new JsonContent([]), Cancel),
            "request_secret without participant_id" => room.InvokeAsync("secrets", "request_secret", new JsonContent(new JsonObject { ["url"] = "https://x", ["type"] = "text/plain" }), Cancel),
            "provide_secret for an unknown request" => room.Secrets.ProvideSecretAsync(Guid.NewGuid().ToString(), Utf8("unsolicited"), Cancel),
            "provide_oauth_authorization for an unknown request" => room.Secrets.ProvideOAuthAuthorizationAsync(Guid.NewGuid().ToString(), "CODE", Cancel),
            "unknown secrets tool" => room.InvokeAsync("secrets", "no_such_tool", new JsonContent([]), Cancel),
            "unknown toolkit" => room.InvokeAsync("no_such_toolkit", "anything", new JsonContent([]), Cancel),
            _ => room.SendRequestAsync(MessageTypes.InvokeTool, new JsonObject { ["arguments"] = new JsonObject { ["type"] = "json", ["json"] = new JsonObject() } }, cancellationToken: Cancel),
        };

        var error = await Assert.ThrowsAsync<RoomServerException>(() => call);
        Assert.NotNull(error.Code);
        Assert.True(room.IsConnected);
        await room.Secrets.ListSecretsAsync(Cancel);
    }
}
