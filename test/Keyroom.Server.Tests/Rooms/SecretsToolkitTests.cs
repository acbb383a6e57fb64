using System.Net;
using System.Text.Json.Nodes;
using Keyroom.Core.Auth;
using Keyroom.Protocol;
using Keyroom.Server.Rooms.Toolkits;
using Keyroom.Server.Tests.Accounts;
using Keyroom.Server.Tests.Support;

namespace Keyroom.Server.Tests.Rooms;

public sealed class SecretsToolkitTests : IClassFixture<RoomsFixture>
{
    private readonly RoomsFixture _fixture;

    public SecretsToolkitTests(RoomsFixture fixture)
    {
        _fixture = fixture;
    }

    private KeyroomTestServer Server => _fixture.Server;

    [Fact]
    public async Task GetSecret_TokenSignedByMemberKeyWithFullScope_IsDeniedAndCannotReadOthers()
    {
        // A member key can sign a token claiming any name and Full(); the grants must be capped by its role.
        var room = RoomTesting.Unique("escalation");
        await using var alice = await Server.JoinAsync("alice", room);
        Assert.IsType<EmptyContent>(await alice.SetSecretAsync("alice-only", RoomTesting.Utf8("not for members")));

        var memberKey = await Server.CreateApiKeyAsync(Server.ProjectId, ProjectRole.Member, "member");
        var forgedAsAlice = await Server.MintAsync("alice", room, ApiScope.Full(), apiKey: memberKey);
        await using var mallory = await RawRoomClient.ConnectAsync(Server.BaseUrl, room, forgedAsAlice, TestContext.Current.CancellationToken);

        (await mallory.GetSecretAsync("alice-only")).AssertError(ErrorCodes.PermissionDenied);
        (await mallory.SecretsAsync("list_secrets", [])).AssertError(ErrorCodes.PermissionDenied);
        (await mallory.SetSecretAsync("planted", RoomTesting.Utf8("x"))).AssertError(ErrorCodes.PermissionDenied);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1024)]
    [InlineData(64 * 1024)]
    [InlineData(1024 * 1024)]
    public async Task SetGetExistsListDelete_BinaryValue_RoundTrips(int size)
    {
        var room = RoomTesting.Unique("crud");
        await using var alice = await Server.JoinAsync("alice", room);
        var data = RoomTesting.RandomBytes(size);

        Assert.IsType<EmptyContent>(await alice.SetSecretAsync("blob", data, name: "blob-name"));
        Assert.True(await alice.ExistsAsync("blob"));

        var file = Assert.IsType<FileContent>(await alice.GetSecretAsync("blob"));
        Assert.Equal(data, file.Data.ToArray());
        Assert.Equal("blob-name", file.Name);
        Assert.Equal("application/octet-stream", file.MimeType);

        var item = Assert.Single(await alice.ListSecretsAsync())!;
        Assert.Equal("""{"id":"blob","name":"blob-name","type":"application/octet-stream","delegated_to":null}""", item.ToJsonString());

        Assert.IsType<EmptyContent>(await alice.DeleteSecretAsync("blob"));
        Assert.False(await alice.ExistsAsync("blob"));
        Assert.IsType<EmptyContent>(await alice.GetSecretAsync("blob"));
        Assert.Empty(await alice.ListSecretsAsync());
    }

    [Fact]
    public async Task SetSecret_OverTheRoomSecretLimit_Error1002AndNothingStored()
    {
        var room = RoomTesting.Unique("crud");
        await using var alice = await Server.JoinAsync("alice", room);

        var text = (await alice.SetSecretAsync("big", new byte[(1024 * 1024) + 1])).AssertError(ErrorCodes.InvalidRequest);

        Assert.Contains("at most 1048576 bytes", text, StringComparison.Ordinal);
        Assert.False(await alice.ExistsAsync("big"));
    }

    [Fact]
    public async Task SetSecret_ExistingId_ReplacesTheValue()
    {
        var room = RoomTesting.Unique("crud");
        await using var alice = await Server.JoinAsync("alice", room);

        await alice.SetSecretAsync("s", RoomTesting.Utf8("first"), type: "text/plain", name: "v");
        await alice.SetSecretAsync("s", RoomTesting.Utf8("second"), type: "text/plain", name: "v");

        Assert.Equal("second", System.Text.Encoding.UTF8.GetString(Assert.IsType<FileContent>(await alice.GetSecretAsync("s")).Data.Span));
        Assert.Single(await alice.ListSecretsAsync());
    }

    [Fact]
    public async Task SetSecret_UpdateByIdWithoutNameOrType_KeepsTheStoredNameAndType()
    {
        var room = RoomTesting.Unique("crud");
        await using var alice = await Server.JoinAsync("alice", room);
        await alice.SetSecretAsync("s", RoomTesting.Utf8("first"), type: "text/plain", name: "openai");

        await alice.SetSecretAsync("s", RoomTesting.Utf8("second"), type: null, name: null);

        var file = Assert.IsType<FileContent>(await alice.GetSecretAsync("s"));
        Assert.Equal("second", System.Text.Encoding.UTF8.GetString(file.Data.Span));
        Assert.Equal("openai", file.Name);
        Assert.Equal("text/plain", file.MimeType);
        var listed = Assert.Single(await alice.ListSecretsAsync())!.AsObject();
        Assert.Equal("openai", (string?)listed["name"]);
        Assert.Equal("text/plain", (string?)listed["type"]);

        // A type given on update replaces the stored one; the name is still kept.
        await alice.SetSecretAsync("s", RoomTesting.Utf8("third"), type: "application/json", name: null);
        var after = Assert.Single(await alice.ListSecretsAsync())!.AsObject();
        Assert.Equal("openai", (string?)after["name"]);
        Assert.Equal("application/json", (string?)after["type"]);
    }

    [Fact]
    public async Task SetSecret_NullTypeAndName_DefaultsToOctetStreamAndTheId()
    {
        var room = RoomTesting.Unique("crud");
        await using var alice = await Server.JoinAsync("alice", room);

        await alice.SetSecretAsync("s", [1, 2, 3], type: null);

        var file = Assert.IsType<FileContent>(await alice.GetSecretAsync("s"));
        Assert.Equal(SecretsToolkit.DefaultType, file.MimeType);
        Assert.Equal("s", file.Name);
    }

    [Fact]
    public async Task SetSecret_NoIdButName_UpsertsOnTypeAndNameWithAGeneratedId()
    {
        var room = RoomTesting.Unique("crud");
        await using var alice = await Server.JoinAsync("alice", room);

        await alice.SetSecretAsync(null, RoomTesting.Utf8("v1"), type: "text/plain", name: "api-token");
        await alice.SetSecretAsync(null, RoomTesting.Utf8("v2"), type: "text/plain", name: "api-token");
        await alice.SetSecretAsync(null, RoomTesting.Utf8("other type"), type: "application/json", name: "api-token");

        var list = await alice.ListSecretsAsync();
        Assert.Equal(2, list.Count);
        Assert.All(list, s => Assert.True(Guid.TryParse(s!["id"]!.GetValue<string>(), out _)));
        var byName = Assert.IsType<FileContent>(await alice.GetSecretAsync(null, type: "text/plain", name: "api-token"));
        Assert.Equal("v2", System.Text.Encoding.UTF8.GetString(byName.Data.Span));
    }

    [Fact]
    public async Task SetSecret_NoIdAndNoName_Error1002()
    {
        var room = RoomTesting.Unique("crud");
        await using var alice = await Server.JoinAsync("alice", room);

        var text = (await alice.SetSecretAsync(null, [1], name: null)).AssertError(ErrorCodes.InvalidRequest);

        Assert.Contains("secret_id", text, StringComparison.Ordinal);
        Assert.Empty(await alice.ListSecretsAsync());
    }

    [Fact]
    public async Task SetSecret_IdThatCannotBeAUrlSegment_Error1002()
    {
        var room = RoomTesting.Unique("crud");
        await using var alice = await Server.JoinAsync("alice", room);

        (await alice.SetSecretAsync("a/b", [1])).AssertError(ErrorCodes.InvalidRequest);
    }

    [Fact]
    public async Task GetSecret_ByNameOrByNameAndType_FindsIt()
    {
        var room = RoomTesting.Unique("crud");
        await using var alice = await Server.JoinAsync("alice", room);
        await alice.SetSecretAsync("by-name", RoomTesting.Utf8("found"), type: "text/plain", name: "the-name");

        Assert.Equal("found", System.Text.Encoding.UTF8.GetString(Assert.IsType<FileContent>(await alice.GetSecretAsync(null, name: "the-name")).Data.Span));
        Assert.IsType<FileContent>(await alice.GetSecretAsync(null, type: "text/plain", name: "the-name"));
        Assert.IsType<FileContent>(await alice.GetSecretAsync(null, type: "text/plain"));
        Assert.IsType<EmptyContent>(await alice.GetSecretAsync(null, type: "text/html", name: "the-name"));
    }

    [Fact]
    public async Task GetSecret_NoIdTypeOrName_Error1002()
    {
        var room = RoomTesting.Unique("crud");
        await using var alice = await Server.JoinAsync("alice", room);

        (await alice.GetSecretAsync(null)).AssertError(ErrorCodes.InvalidRequest);
    }

    [Fact]
    public async Task GetSecret_UnknownId_EmptyAndExistsFalse()
    {
        var room = RoomTesting.Unique("crud");
        await using var alice = await Server.JoinAsync("alice", room);

        Assert.IsType<EmptyContent>(await alice.GetSecretAsync("nope"));
        Assert.False(await alice.ExistsAsync("nope"));
    }

    [Fact]
    public async Task DeleteSecret_UnknownId_Error1003()
    {
        var room = RoomTesting.Unique("crud");
        await using var alice = await Server.JoinAsync("alice", room);

        (await alice.DeleteSecretAsync("nope")).AssertError(ErrorCodes.NotFound);
    }

    [Fact]
    public async Task DelegatedTo_IsASecondKeyDimension()
    {
        var room = RoomTesting.Unique("deleg");
        await using var alice = await Server.JoinAsync("alice", room);
        await alice.SetSecretAsync("s", RoomTesting.Utf8("delegated"), delegatedTo: "agent");
        await alice.SetSecretAsync("s", RoomTesting.Utf8("own"));

        var list = await alice.ListSecretsAsync();
        Assert.Equal(2, list.Count);
        Assert.Contains(list, s => s!["delegated_to"]?.GetValue<string>() == "agent");
        Assert.Contains(list, s => s!["delegated_to"] is null);
        Assert.Equal("delegated", System.Text.Encoding.UTF8.GetString(Assert.IsType<FileContent>(await alice.GetSecretAsync("s", delegatedTo: "agent")).Data.Span));
        Assert.Equal("own", System.Text.Encoding.UTF8.GetString(Assert.IsType<FileContent>(await alice.GetSecretAsync("s")).Data.Span));
        Assert.True(await alice.ExistsAsync("s", delegatedTo: "agent"));

        await alice.DeleteSecretAsync("s", delegatedTo: "agent");
        Assert.False(await alice.ExistsAsync("s", delegatedTo: "agent"));
        Assert.True(await alice.ExistsAsync("s"));
    }

    [Fact]
    public async Task ForIdentity_WithoutAdmin_Error1001AuditedAndNothingStored()
    {
        var room = RoomTesting.Unique("forid");
        await using var alice = await Server.JoinAsync("alice", room);

        (await alice.SetSecretAsync("s", [1], forIdentity: "carol")).AssertError(ErrorCodes.PermissionDenied);
        (await alice.SecretsAsync("exists", new JsonObject { ["secret_id"] = "s", ["for_identity"] = "carol" })).AssertError(ErrorCodes.PermissionDenied);
        (await alice.SetSecretAsync(null, [1], name: "n", forIdentity: "carol")).AssertError(ErrorCodes.PermissionDenied);

        await using var carol = await Server.JoinAsync("carol", room);
        Assert.Empty(await carol.ListSecretsAsync());
        var audit = await Server.ReadAuditTextAsync();
        Assert.Contains($"secret.write room:{room}/owner/carol/secret/s denied", audit, StringComparison.Ordinal);
        Assert.Contains($"secret.exists room:{room}/owner/carol/secret/s denied", audit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ForIdentity_WithAdmin_StoresForThatIdentityOnly()
    {
        var room = RoomTesting.Unique("forid");
        await using var admin = await Server.JoinAsync("root", room, ApiScope.Full());
        var data = RoomTesting.RandomBytes(2048);

        Assert.IsType<EmptyContent>(await admin.SetSecretAsync("for-carol", data, forIdentity: "carol"));
        Assert.True(await admin.ExistsAsync("for-carol", forIdentity: "carol"));
        Assert.Empty(await admin.ListSecretsAsync());

        await using var carol = await Server.JoinAsync("carol", room);
        Assert.Equal(data, Assert.IsType<FileContent>(await carol.GetSecretAsync("for-carol")).Data.ToArray());
        Assert.Single(await carol.ListSecretsAsync());
    }

    [Fact]
    public async Task ForIdentity_TheCallersOwnIdentity_NeedsNoAdmin()
    {
        var room = RoomTesting.Unique("forid");
        await using var alice = await Server.JoinAsync("alice", room);

        Assert.IsType<EmptyContent>(await alice.SetSecretAsync("s", [1], forIdentity: "alice"));
        Assert.True(await alice.ExistsAsync("s", forIdentity: "alice"));
    }

    public static TheoryData<string> GrantlessTokens => ["no-secrets", "no-api", "messaging-only"];

    [Theory]
    [MemberData(nameof(GrantlessTokens))]
    public async Task AnyTool_WithoutTheSecretsGrant_Error1001AndAuditedAsDenied(string kind)
    {
        var room = RoomTesting.Unique("grant");
        var identity = RoomTesting.Unique("nosecrets");
        await using var client = kind switch
        {
            "no-secrets" => await Server.JoinAsync(identity, room, ApiScope.AgentDefault().Without("secrets")),
            "no-api" => await Server.JoinAsync(identity, room, withoutApi: true),
            _ => await Server.JoinAsync(identity, room, ApiScope.FromJson(new JsonObject { ["messaging"] = new JsonObject() })),
        };

        Assert.StartsWith("permission denied", (await client.SecretsAsync("list_secrets", [])).AssertError(ErrorCodes.PermissionDenied), StringComparison.Ordinal);
        (await client.SetSecretAsync("s", [1])).AssertError(ErrorCodes.PermissionDenied);
        (await client.GetSecretAsync("s")).AssertError(ErrorCodes.PermissionDenied);
        (await client.SecretsAsync("request_secret", new JsonObject { ["url"] = "u", ["type"] = "t", ["participant_id"] = "p" })).AssertError(ErrorCodes.PermissionDenied);

        var audit = await Server.ReadAuditTextAsync();
        Assert.Contains($"token:{identity}@", audit, StringComparison.Ordinal);
        Assert.Contains($"room.secrets.list_secrets room/{room} denied", audit, StringComparison.Ordinal);
        Assert.Contains($"room.secrets.set_secret room/{room} denied", audit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Secrets_OfAnotherIdentity_AreInvisibleAndUntouchable()
    {
        var room = RoomTesting.Unique("iso");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);
        await alice.SetSecretAsync("private", RoomTesting.Utf8("alice only"));

        Assert.Empty(await bob.ListSecretsAsync());
        Assert.False(await bob.ExistsAsync("private"));
        Assert.IsType<EmptyContent>(await bob.GetSecretAsync("private"));
        (await bob.DeleteSecretAsync("private")).AssertError(ErrorCodes.NotFound);
        Assert.IsType<FileContent>(await alice.GetSecretAsync("private"));
    }

    [Fact]
    public async Task Secrets_OfAnotherRoom_AreInvisible()
    {
        var roomA = RoomTesting.Unique("iso-a");
        var roomB = RoomTesting.Unique("iso-b");
        await using var inA = await Server.JoinAsync("alice", roomA);
        await using var inB = await Server.JoinAsync("alice", roomB);
        await inA.SetSecretAsync("scoped", RoomTesting.Utf8("room A"));

        Assert.Empty(await inB.ListSecretsAsync());
        Assert.False(await inB.ExistsAsync("scoped"));
        Assert.IsType<EmptyContent>(await inB.GetSecretAsync("scoped"));
        Assert.True(await inA.ExistsAsync("scoped"));
    }

    [Fact]
    public async Task RoomSecrets_RestAndToolkit_ShareOneStore()
    {
        var room = RoomTesting.Unique("rest");
        await using var alice = await Server.JoinAsync("alice", room);
        using var rest = Server.CreateClient(Server.AdminApiKey);
        var path = $"{Api.Project(Server.ProjectId)}/rooms/{room}/secrets";
        var data = RoomTesting.RandomBytes(4096);

        await alice.SetSecretAsync("shared", data, type: "application/x-test", name: "shared-name");
        var got = await rest.GetApiAsync(path + "/shared?for_identity=alice");
        got.AssertStatus(HttpStatusCode.OK);
        Assert.Equal(Convert.ToBase64String(data), got.Body["data_base64"]!.GetValue<string>());
        Assert.Equal("shared-name", got.Body["name"]!.GetValue<string>());
        Assert.Equal("application/x-test", got.Body["type"]!.GetValue<string>());

        var created = await rest.PostApiAsync(path, new { data_base64 = Api.B64("from rest"), secret_id = "from-rest", name = "rest-name", type = "text/plain", for_identity = "alice" });
        created.AssertStatus(HttpStatusCode.Created);
        var file = Assert.IsType<FileContent>(await alice.GetSecretAsync("from-rest"));
        Assert.Equal("from rest", System.Text.Encoding.UTF8.GetString(file.Data.Span));
        Assert.Equal("rest-name", file.Name);

        await alice.DeleteSecretAsync("shared");
        (await rest.GetApiAsync(path + "/shared?for_identity=alice")).AssertStatus(HttpStatusCode.NotFound);
        (await rest.DeleteApiAsync(path + "/from-rest?for_identity=alice")).AssertStatus(HttpStatusCode.NoContent);
        Assert.False(await alice.ExistsAsync("from-rest"));
    }

    [Fact]
    public async Task Secrets_ReadAndWrite_AreAuditedWithoutValues()
    {
        var room = RoomTesting.Unique("audit");
        await using var alice = await Server.JoinAsync("alice", room);
        await alice.SetSecretAsync("audited", RoomTesting.Utf8("value"));
        await alice.GetSecretAsync("audited");

        var audit = await Server.ReadAuditTextAsync();
        Assert.Contains($"secret.write room:{room}/owner/alice/secret/audited ok", audit, StringComparison.Ordinal);
        Assert.Contains($"secret.read room:{room}/owner/alice/secret/audited ok", audit, StringComparison.Ordinal);
        Assert.Contains($"room.join room/{room} ok", audit, StringComparison.Ordinal);
    }
}
