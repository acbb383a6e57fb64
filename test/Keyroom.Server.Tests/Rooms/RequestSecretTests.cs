using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Keyroom.Core.Auth;
using Keyroom.Protocol;
using Keyroom.Server.Rooms;
using Keyroom.Server.Rooms.Toolkits;
using Keyroom.Server.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Keyroom.Server.Tests.Rooms;

public sealed class RequestSecretTests : IClassFixture<RoomsFixture>
{
    private readonly RoomsFixture _fixture;

    public RequestSecretTests(RoomsFixture fixture)
    {
        _fixture = fixture;
    }

    private KeyroomTestServer Server => _fixture.Server;

    private static JsonObject Request(string url, string type, string participantId, double timeout = 10, string? delegateTo = null) => new()
    {
        ["url"] = url,
        ["type"] = type,
        ["participant_id"] = participantId,
        ["timeout"] = timeout,
        ["delegate_to"] = delegateTo,
    };

    private static Task<Content> ProvideAsync(RawRoomClient provider, string requestId, byte[]? data, string? error = null) =>
        provider.InvokeAsync("secrets", "provide_secret", new BinaryContent(data ?? [], new JsonObject { ["request_id"] = requestId, ["error"] = error }));

    private static async Task<(string RequestId, JsonObject Request)> NextPromptAsync(RawRoomClient target)
    {
        var header = (await target.NextPushAsync(MessageTypes.RequestSecret)).Header();
        return (header["request_id"]!.GetValue<string>(), header["request"]!.AsObject());
    }

    [Fact]
    public async Task RequestSecret_ProviderAnswers_RequesterGetsTheBytesAsAFile()
    {
        var room = RoomTesting.Unique("req");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);
        var input = Request("https://example.com/" + RoomTesting.Unique("key"), "application/octet-stream", bob.ParticipantId);
        var payload = RoomTesting.RandomBytes(3000);

        var requested = alice.SecretsAsync("request_secret", input);
        var (requestId, forwarded) = await NextPromptAsync(bob);
        Assert.True(JsonNode.DeepEquals(input, forwarded), "the prompt must carry the requester's input unchanged");
        Assert.IsType<EmptyContent>(await ProvideAsync(bob, requestId, payload));

        var file = Assert.IsType<FileContent>(await requested);
        Assert.Equal(payload, file.Data.ToArray());
        Assert.Equal(input["url"]!.GetValue<string>(), file.Name);
        Assert.Equal("application/octet-stream", file.MimeType);
    }

    [Fact]
    public async Task RequestSecret_ProviderRejects_RequesterGetsTheErrorText()
    {
        var room = RoomTesting.Unique("req");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);

        var requested = alice.SecretsAsync("request_secret", Request("https://example.com/deny", "text/plain", bob.ParticipantId));
        var (requestId, _) = await NextPromptAsync(bob);
        Assert.IsType<EmptyContent>(await ProvideAsync(bob, requestId, null, "declined by bob"));

        Assert.Equal("declined by bob", (await requested).AssertError(ErrorCodes.PermissionDenied));
    }

    [Fact]
    public async Task RequestSecret_NoAnswer_TimesOutWith1009AfterTheTimeout()
    {
        var room = RoomTesting.Unique("req");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);

        var started = Stopwatch.GetTimestamp();
        var reply = await alice.SecretsAsync("request_secret", Request("https://example.com/silence", "text/plain", bob.ParticipantId, timeout: 1));

        Assert.Equal("timed out waiting for secret", reply.AssertError(ErrorCodes.Timeout));
        Assert.True(Stopwatch.GetElapsedTime(started) >= TimeSpan.FromMilliseconds(900));
        Assert.Equal(0, PendingCount(room));

        // A late answer finds nothing.
        var (requestId, _) = await NextPromptAsync(bob);
        (await ProvideAsync(bob, requestId, [1])).AssertError(ErrorCodes.NotFound);
    }

    [Fact]
    public async Task RequestSecret_TargetDisconnects_RequesterGetsAnError()
    {
        var room = RoomTesting.Unique("req");
        await using var alice = await Server.JoinAsync("alice", room);
        var bob = await Server.JoinAsync("bob", room);

        var requested = alice.SecretsAsync("request_secret", Request("https://example.com/gone", "text/plain", bob.ParticipantId, timeout: 30));
        await NextPromptAsync(bob);
        bob.Abort();
        await bob.DisposeAsync();

        Assert.Contains("left the room", (await requested).AssertError(ErrorCodes.NotFound), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequestSecret_RequesterDisconnects_EntryIsDropped()
    {
        var room = RoomTesting.Unique("req");
        var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);

        _ = alice.SecretsAsync("request_secret", Request("https://example.com/orphan", "text/plain", bob.ParticipantId, timeout: 30));
        var (requestId, _) = await NextPromptAsync(bob);
        Assert.Equal(1, PendingCount(room));
        await alice.CloseAsync();
        await alice.DisposeAsync();

        await WaitUntilAsync(() => PendingCount(room) == 0);
        (await ProvideAsync(bob, requestId, [1])).AssertError(ErrorCodes.NotFound);
    }

    [Fact]
    public async Task RequestSecret_UnknownParticipant_Error1003WithTheClientsText()
    {
        var room = RoomTesting.Unique("req");
        await using var alice = await Server.JoinAsync("alice", room);

        var reply = await alice.SecretsAsync("request_secret", Request("https://example.com/x", "text/plain", Guid.NewGuid().ToString()));

        Assert.Equal("the participant was not found", reply.AssertError(ErrorCodes.NotFound));
    }

    [Fact]
    public async Task RequestSecret_ParticipantOfAnotherRoom_IsNotFound()
    {
        var room = RoomTesting.Unique("req");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var elsewhere = await Server.JoinAsync("bob", RoomTesting.Unique("req-other"));

        (await alice.SecretsAsync("request_secret", Request("https://example.com/x", "text/plain", elsewhere.ParticipantId))).AssertError(ErrorCodes.NotFound);
        Assert.Empty(elsewhere.PendingPushes());
    }

    [Fact]
    public async Task ProvideSecret_ByAParticipantThatWasNotAsked_Error1003AndTheRequestStaysOpen()
    {
        var room = RoomTesting.Unique("req");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);
        await using var carol = await Server.JoinAsync("carol", room);

        var requested = alice.SecretsAsync("request_secret", Request("https://example.com/" + RoomTesting.Unique("k"), "text/plain", bob.ParticipantId));
        var (requestId, _) = await NextPromptAsync(bob);
        (await ProvideAsync(carol, requestId, RoomTesting.Utf8("forged"))).AssertError(ErrorCodes.NotFound);
        await ProvideAsync(bob, requestId, RoomTesting.Utf8("genuine"));

        Assert.Equal("genuine", Encoding.UTF8.GetString(Assert.IsType<FileContent>(await requested).Data.Span));
    }

    [Fact]
    public async Task RequestSecret_SameUrlAndTypeAgain_AnsweredFromTheCacheUntilDeleteRequestedSecret()
    {
        var room = RoomTesting.Unique("req");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);
        var url = "https://example.com/" + RoomTesting.Unique("cached");
        var input = Request(url, "text/plain", bob.ParticipantId);

        var first = alice.SecretsAsync("request_secret", input);
        var (requestId, _) = await NextPromptAsync(bob);
        await ProvideAsync(bob, requestId, RoomTesting.Utf8("cached value"));
        Assert.IsType<FileContent>(await first);

        // The second request is served without prompting bob.
        var second = Assert.IsType<FileContent>(await alice.SecretsAsync("request_secret", input));
        Assert.Equal("cached value", Encoding.UTF8.GetString(second.Data.Span));
        Assert.DoesNotContain(bob.PendingPushes(), m => m.Type == MessageTypes.RequestSecret);
        var cached = Assert.Single(await alice.ListSecretsAsync())!;
        Assert.Equal(SecretsToolkit.RequestedSecretId(url, "text/plain"), cached["id"]!.GetValue<string>());
        Assert.Equal(url, cached["name"]!.GetValue<string>());
        Assert.Equal("requested:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"[\"{url}\",\"text/plain\"]"))), cached["id"]!.GetValue<string>());

        // Another identity (or another delegation) has its own cache.
        await using var carol = await Server.JoinAsync("carol", room);
        var carols = carol.SecretsAsync("request_secret", input);
        var (carolRequest, _) = await NextPromptAsync(bob);
        await ProvideAsync(bob, carolRequest, RoomTesting.Utf8("carol's"));
        Assert.Equal("carol's", Encoding.UTF8.GetString(Assert.IsType<FileContent>(await carols).Data.Span));

        Assert.IsType<EmptyContent>(await alice.SecretsAsync("delete_requested_secret", new JsonObject { ["url"] = url, ["type"] = "text/plain", ["delegated_to"] = null }));
        Assert.Empty(await alice.ListSecretsAsync());
        var third = alice.SecretsAsync("request_secret", input);
        var (thirdRequest, _) = await NextPromptAsync(bob);
        await ProvideAsync(bob, thirdRequest, RoomTesting.Utf8("fresh"));
        Assert.Equal("fresh", Encoding.UTF8.GetString(Assert.IsType<FileContent>(await third).Data.Span));

        // Deleting what is not cached is not an error.
        Assert.IsType<EmptyContent>(await alice.SecretsAsync("delete_requested_secret", new JsonObject { ["url"] = "https://nothing", ["type"] = "text/plain" }));
    }

    [Fact]
    public async Task RequestSecret_DelegateTo_IsForwardedAndCachedUnderThatDelegation()
    {
        var room = RoomTesting.Unique("req");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);
        var url = "https://example.com/" + RoomTesting.Unique("deleg");

        var requested = alice.SecretsAsync("request_secret", Request(url, "text/plain", bob.ParticipantId, delegateTo: "agent"));
        var (requestId, forwarded) = await NextPromptAsync(bob);
        Assert.Equal("agent", forwarded["delegate_to"]!.GetValue<string>());
        await ProvideAsync(bob, requestId, RoomTesting.Utf8("for the agent"));
        await requested;

        var cached = Assert.Single(await alice.ListSecretsAsync())!;
        Assert.Equal("agent", cached["delegated_to"]!.GetValue<string>());
    }

    [Fact]
    public async Task RequestOAuthToken_OutsideTheAllowList_Error1001WithoutPrompting()
    {
        var room = RoomTesting.Unique("oauth");
        var api = ApiScope.FromJson(JsonNode.Parse("""
            {"secrets":{"request_oauth_token":[{"endpoint":"https://allowed.example/oauth/*","client_id":"allowed-client"}]}}
            """)!.AsObject());
        await using var alice = await Server.JoinAsync("alice", room, api);
        await using var bob = await Server.JoinAsync("bob", room);

        foreach (var (endpoint, client) in new[] { ("https://denied.example/authorize", "allowed-client"), ("https://allowed.example/oauth/authorize", "other") })
        {
            var oauth = OAuth(client, endpoint);
            (await alice.SecretsAsync("request_oauth_token", OAuthRequest(oauth, bob.ParticipantId))).AssertError(ErrorCodes.PermissionDenied);
            (await alice.SecretsAsync("get_offline_oauth_token", new JsonObject { ["oauth"] = oauth.DeepClone() })).AssertError(ErrorCodes.PermissionDenied);
        }

        Assert.Empty(bob.PendingPushes());
        var allowed = await alice.SecretsAsync("get_offline_oauth_token", new JsonObject { ["oauth"] = OAuth("allowed-client", "https://allowed.example/oauth/authorize") });
        Assert.Equal("""{"access_token":null}""", Assert.IsType<JsonContent>(allowed).Json.ToJsonString());
    }

    [Fact]
    public async Task GetOfflineOAuthToken_ForAnotherIdentity_NeedsAdmin()
    {
        var room = RoomTesting.Unique("oauth");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var root = await Server.JoinAsync("root", room, ApiScope.Full());
        var input = new JsonObject { ["oauth"] = OAuth("cid", "https://auth.example/authorize"), ["delegated_to"] = null, ["delegated_by"] = "carol" };

        (await alice.SecretsAsync("get_offline_oauth_token", input)).AssertError(ErrorCodes.PermissionDenied);
        Assert.IsType<JsonContent>(await root.SecretsAsync("get_offline_oauth_token", (JsonObject)input.DeepClone()));
    }

    [Fact]
    public async Task RequestOAuthToken_Prompt_HasAnS256ChallengeAndNoClientSecret()
    {
        var room = RoomTesting.Unique("oauth");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);
        var input = OAuthRequest(OAuth("cid", "https://auth.example/authorize", clientSecret: "very-secret"), bob.ParticipantId);

        var requested = alice.SecretsAsync("request_oauth_token", input);
        var prompt = (await bob.NextPushAsync(MessageTypes.RequestOAuthToken)).Header();
        Assert.Matches("^[A-Za-z0-9_-]{43}$", prompt["challenge"]!.GetValue<string>());
        var forwarded = prompt["request"]!.AsObject();
        Assert.Null(forwarded["oauth"]!["client_secret"]);
        Assert.True(forwarded["oauth"]!.AsObject().ContainsKey("client_secret"));
        input["oauth"]!["client_secret"] = null;
        Assert.True(JsonNode.DeepEquals(input, forwarded));

        var reply = await bob.SecretsAsync("provide_oauth_authorization", new JsonObject
        {
            ["request_id"] = prompt["request_id"]!.GetValue<string>(),
            ["code"] = null,
            ["error"] = "access_denied",
        });
        Assert.IsType<EmptyContent>(reply);
        Assert.Equal("access_denied", (await requested).AssertError(ErrorCodes.PermissionDenied));
    }

    [Fact]
    public async Task RequestOAuthToken_NoPkce_SendsANullChallenge()
    {
        var room = RoomTesting.Unique("oauth");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);
        var oauth = OAuth("cid", "https://auth.example/authorize");
        oauth["no_pkce"] = true;

        var requested = alice.SecretsAsync("request_oauth_token", OAuthRequest(oauth, bob.ParticipantId, timeout: 1));
        var prompt = (await bob.NextPushAsync(MessageTypes.RequestOAuthToken)).Header();

        Assert.True(prompt.ContainsKey("challenge"));
        Assert.Null(prompt["challenge"]);
        Assert.Equal("timed out waiting for authorization", (await requested).AssertError(ErrorCodes.Timeout));
    }

    [Fact]
    public async Task ProvideOAuthAuthorization_WithACode_AnswersTheProviderAndTheRequesterGetsAReply()
    {
        var room = RoomTesting.Unique("oauth");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);

        var requested = alice.SecretsAsync("request_oauth_token", OAuthRequest(OAuth("cid", "https://auth.example/authorize"), bob.ParticipantId));
        var prompt = (await bob.NextPushAsync(MessageTypes.RequestOAuthToken)).Header();
        Assert.IsType<EmptyContent>(await bob.SecretsAsync("provide_oauth_authorization", new JsonObject
        {
            ["request_id"] = prompt["request_id"]!.GetValue<string>(),
            ["code"] = "CODE",
            ["error"] = null,
        }));

        // With a broker the exchange runs against token_endpoint (unreachable here); either way the requester is answered.
        var reply = await requested;
        Assert.True(reply is JsonContent or ErrorContent, reply.ToString());
    }

    private int PendingCount(string room) =>
        Server.Services.GetRequiredService<RoomHub>().Find(Server.ProjectId, room)?.Pending.Count ?? 0;

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = Stopwatch.GetTimestamp();
        while (!condition())
        {
            Assert.True(Stopwatch.GetElapsedTime(deadline) < TimeSpan.FromSeconds(10), "condition not met within 10 s");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    private static JsonObject OAuth(string clientId, string authorizationEndpoint, string? clientSecret = null) => new()
    {
        ["client_id"] = clientId,
        ["client_secret"] = clientSecret,
        ["authorization_endpoint"] = authorizationEndpoint,
        ["token_endpoint"] = "https://auth.example/token",
        ["no_pkce"] = null,
        ["scopes"] = new JsonArray("repo"),
    };

    private static JsonObject OAuthRequest(JsonObject oauth, string participantId, double timeout = 10) => new()
    {
        ["connector"] = null,
        ["oauth"] = oauth,
        ["redirect_uri"] = "https://app.example/callback",
        ["timeout"] = timeout,
        ["participant_id"] = participantId,
        ["delegate_to"] = null,
    };
}
