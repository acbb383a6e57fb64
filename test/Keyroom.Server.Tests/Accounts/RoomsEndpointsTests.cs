using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Keyroom.Core.Auth;
using Keyroom.Server.Tests.Support;

namespace Keyroom.Server.Tests.Accounts;

public sealed class RoomsEndpointsTests : IClassFixture<AccountsServerFixture>
{
    private readonly AccountsServerFixture _fixture;

    public RoomsEndpointsTests(AccountsServerFixture fixture)
    {
        _fixture = fixture;
    }

    private KeyroomTestServer Server => _fixture.Server;

    private string Rooms => Api.Project(Server.ProjectId) + "/rooms";

    private HttpClient Admin() => Server.CreateClient(Server.AdminApiKey);

    [Fact]
    public async Task Create_NewRoom_Returns201WithIdNameMetadataAndAnnotations()
    {
        using var client = Admin();
        var name = Api.Unique("room");

        var response = await client.PostApiAsync(Rooms, new
        {
            name,
            if_not_exists = false,
            metadata = new { purpose = "test", revision = 1 },
            annotations = new Dictionary<string, string> { ["keyroom.test"] = "rooms" },
            permissions = new Dictionary<string, object> { ["alice"] = new { secrets = new { } } },
        });

        response.AssertStatus(HttpStatusCode.Created);
        Assert.True(Guid.TryParse(response.Body["id"]!.GetValue<string>(), out _));
        Assert.Equal(name, response.Body["name"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"purpose":"test","revision":1}"""), response.Body["metadata"]));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"keyroom.test":"rooms"}"""), response.Body["annotations"]));
        Assert.EndsWith("/rooms/" + name, response.Message.Headers.Location!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_OnlyName_DefaultsToEmptyMetadataAndAnnotations()
    {
        using var client = Admin();

        var room = await client.CreateRoomAsync(Server.ProjectId, Api.Unique("bare"));

        Assert.True(JsonNode.DeepEquals(new JsonObject(), room["metadata"]));
        Assert.True(JsonNode.DeepEquals(new JsonObject(), room["annotations"]));
    }

    [Fact]
    public async Task Create_ExistingNameWithIfNotExists_Returns200WithTheSameRoom()
    {
        using var client = Admin();
        var name = Api.Unique("twice");
        var first = await client.CreateRoomAsync(Server.ProjectId, name);

        var again = await client.PostApiAsync(Rooms, new { name, if_not_exists = true, metadata = new { ignored = true } });

        again.AssertStatus(HttpStatusCode.OK);
        Assert.Equal(first["id"]!.GetValue<string>(), again.Body["id"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(new JsonObject(), again.Body["metadata"]));
    }

    [Fact]
    public async Task Create_ExistingNameWithoutIfNotExists_Returns409()
    {
        using var client = Admin();
        var name = Api.Unique("conflict");
        await client.CreateRoomAsync(Server.ProjectId, name);

        var again = await client.PostApiAsync(Rooms, new { name });

        again.AssertProblem(HttpStatusCode.Conflict, "already_exists");
    }

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("a b")]
    [InlineData("ünïcode")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("semi;colon")]
    [InlineData("trailing-newline\n")]
    public async Task Create_InvalidName_Returns400(string name)
    {
        using var client = Admin();

        var response = await client.PostApiAsync(Rooms, new { name });

        var detail = response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Assert.Contains("'name'", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_NameOf129Characters_Returns400AndOf128Succeeds()
    {
        using var client = Admin();
        var prefix = Guid.NewGuid().ToString("N");

        var tooLong = await client.PostApiAsync(Rooms, new { name = prefix + new string('a', 129 - prefix.Length) });
        var longest = await client.PostApiAsync(Rooms, new { name = prefix + new string('a', 128 - prefix.Length) });

        tooLong.AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        longest.AssertStatus(HttpStatusCode.Created);
    }

    [Theory]
    [InlineData("""{"name":"ok-name","annotations":{"a":1}}""", "annotations")]
    [InlineData("""{"name":"ok-name","annotations":{"a":null}}""", "annotation 'a'")]
    [InlineData("""{"name":"ok-name","metadata":[1]}""", "metadata")]
    [InlineData("""{"name":"ok-name","permissions":{"bob":true}}""", "permissions")]
    [InlineData("""{"if_not_exists":true}""", "'name' is required")]
    public async Task Create_InvalidFields_Returns400NamingTheField(string body, string expected)
    {
        using var client = Admin();

        var response = await client.PostApiAsync(Rooms, body);

        var detail = response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Assert.Contains(expected, detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_ByNameAndById_ReturnsTheRoom()
    {
        using var client = Admin();
        var room = await client.CreateRoomAsync(Server.ProjectId, Api.Unique("lookup"));
        var id = room["id"]!.GetValue<string>();
        var name = room["name"]!.GetValue<string>();

        var byName = await client.GetApiAsync(Rooms + "/" + name);
        var byId = await client.GetApiAsync(Rooms + "/" + id);

        Assert.Equal(id, byName.Body["id"]!.GetValue<string>());
        Assert.Equal(name, byId.Body["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Get_UnknownRoom_Returns404()
    {
        using var client = Admin();

        var response = await client.GetApiAsync(Rooms + "/" + Api.Unique("missing"));

        response.AssertProblem(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task List_LimitAndOffset_PageThroughRoomsOrderedByName()
    {
        await using var server = await KeyroomTestServer.StartAsync();
        using var client = server.CreateClient(server.AdminApiKey);
        foreach (var name in new[] { "c-room", "a-room", "b-room" })
        {
            await client.CreateRoomAsync(server.ProjectId, name);
        }

        var all = await client.GetApiAsync(Api.Project(server.ProjectId) + "/rooms");
        var page = await client.GetApiAsync(Api.Project(server.ProjectId) + "/rooms?limit=1&offset=1&order_by=room_name");

        Assert.Equal(["a-room", "b-room", "c-room"], all.Body["rooms"]!.AsArray().Select(r => r!["name"]!.GetValue<string>()));
        Assert.Equal(["b-room"], page.Body["rooms"]!.AsArray().Select(r => r!["name"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("?limit=0")]
    [InlineData("?limit=1001")]
    [InlineData("?offset=-1")]
    [InlineData("?limit=many")]
    public async Task List_InvalidPaging_Returns400(string query)
    {
        using var client = Admin();

        var response = await client.GetApiAsync(Rooms + query);

        response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task Update_ById_ReplacesMetadataAndAnnotations()
    {
        using var client = Admin();
        var room = await client.CreateRoomAsync(Server.ProjectId, Api.Unique("update"));
        var id = room["id"]!.GetValue<string>();
        var name = room["name"]!.GetValue<string>();

        var updated = await client.PutApiAsync(Rooms + "/" + id, new { name, metadata = new { revision = 2 }, annotations = new Dictionary<string, string> { ["k"] = "v" } });
        var got = await client.GetApiAsync(Rooms + "/" + name);

        updated.AssertStatus(HttpStatusCode.OK);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"revision":2}"""), got.Body["metadata"]));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"k":"v"}"""), got.Body["annotations"]));
    }

    [Fact]
    public async Task Update_OnlyName_KeepsMetadataAndRenames()
    {
        using var client = Admin();
        var oldName = Api.Unique("old");
        var created = await client.PostApiAsync(Rooms, new { name = oldName, metadata = new { keep = true } });
        var newName = Api.Unique("new");

        var renamed = await client.PutApiAsync(Rooms + "/" + oldName, new { name = newName });

        renamed.AssertStatus(HttpStatusCode.OK);
        Assert.Equal(created.Body["id"]!.GetValue<string>(), renamed.Body["id"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"keep":true}"""), renamed.Body["metadata"]));
        (await client.GetApiAsync(Rooms + "/" + newName)).AssertStatus(HttpStatusCode.OK);
        (await client.GetApiAsync(Rooms + "/" + oldName)).AssertProblem(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Update_RenameToATakenName_Returns409()
    {
        using var client = Admin();
        var first = Api.Unique("taken");
        var second = Api.Unique("taker");
        await client.CreateRoomAsync(Server.ProjectId, first);
        await client.CreateRoomAsync(Server.ProjectId, second);

        var response = await client.PutApiAsync(Rooms + "/" + second, new { name = first });

        response.AssertProblem(HttpStatusCode.Conflict, "already_exists");
    }

    [Fact]
    public async Task Update_RenameARoomWithSecrets_Returns409AndKeepsTheSecrets()
    {
        using var client = Admin();
        var name = Api.Unique("has-secrets");
        await client.CreateRoomAsync(Server.ProjectId, name);
        var created = await client.PostApiAsync(Rooms + "/" + name + "/secrets", new { data_base64 = Api.B64("kept") });

        var response = await client.PutApiAsync(Rooms + "/" + name, new { name = Api.Unique("renamed") });

        response.AssertProblem(HttpStatusCode.Conflict, "conflict");
        (await client.GetApiAsync(Rooms + "/" + name + "/secrets/" + created.Body["id"]!.GetValue<string>())).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Update_UnknownRoomOrMissingName_Returns404Or400()
    {
        using var client = Admin();
        var name = Api.Unique("present");
        await client.CreateRoomAsync(Server.ProjectId, name);

        var unknown = await client.PutApiAsync(Rooms + "/" + Api.Unique("absent"), new { name = "x" });
        var noName = await client.PutApiAsync(Rooms + "/" + name, new { metadata = new { } });

        unknown.AssertProblem(HttpStatusCode.NotFound, "not_found");
        noName.AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task Delete_ById_Returns204AndDeletesItsRoomSecrets()
    {
        using var client = Admin();
        var name = Api.Unique("doomed");
        var room = await client.CreateRoomAsync(Server.ProjectId, name);
        var secret = await client.PostApiAsync(Rooms + "/" + name + "/secrets", new { secret_id = "s1", data_base64 = Api.B64("gone soon") });
        secret.AssertStatus(HttpStatusCode.Created);

        var deleted = await client.DeleteApiAsync(Rooms + "/" + room["id"]!.GetValue<string>());
        var again = await client.DeleteApiAsync(Rooms + "/" + name);
        await client.CreateRoomAsync(Server.ProjectId, name);
        var inNewRoom = await client.GetApiAsync(Rooms + "/" + name + "/secrets/s1");

        deleted.AssertStatus(HttpStatusCode.NoContent);
        again.AssertProblem(HttpStatusCode.NotFound, "not_found");
        inNewRoom.AssertProblem(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Connect_AdminKey_ReturnsJwtWithFullGrantsSignedByTheCallersKey()
    {
        using var client = Admin();
        var name = Api.Unique("connect");
        await client.CreateRoomAsync(Server.ProjectId, name);

        var (jwt, body) = await client.ConnectAsync(Server.ProjectId, name);

        Assert.Equal(name, body["room_name"]!.GetValue<string>());
        Assert.Equal(Server.ProjectId, body["project_id"]!.GetValue<string>());
        Assert.Equal($"ws://{Server.BaseUrl.Authority}/rooms/{name}", body["room_url"]!.GetValue<string>());
        var unverified = ParticipantToken.ReadUnverified(jwt)!;
        Assert.True(unverified.Verify(Encoding.UTF8.GetBytes(Api.SecretOf(Server.AdminApiKey)), DateTimeOffset.UtcNow));
        var token = unverified.Token;
        Assert.Equal("admin", token.Name);
        Assert.Equal(Server.ProjectId, token.ProjectId);
        Assert.Equal(Api.IdOf(Server.AdminApiKey), token.KeyId);
        Assert.Equal(name, token.Room);
        Assert.Equal("user", token.Role);
        Assert.Contains(token.Grants, g => g["name"]!.GetValue<string>() == "role" && g["scope"]!.GetValue<string>() == "user");
        Assert.True(JsonNode.DeepEquals(ApiScope.Full().Json, token.Api!.Json));
        Assert.Null(token.ExpiresAt);
    }

    [Fact]
    public async Task Connect_DeveloperKeyAndMissingRoom_CreatesTheRoomWithAgentDefaultGrants()
    {
        var developerKey = await Server.CreateApiKeyAsync(Server.ProjectId, ProjectRole.Developer, "dev-connect");
        using var developer = Server.CreateClient(developerKey);
        var name = Api.Unique("auto");

        var (jwt, _) = await developer.ConnectAsync(Server.ProjectId, name);

        var unverified = ParticipantToken.ReadUnverified(jwt)!;
        Assert.True(unverified.Verify(Encoding.UTF8.GetBytes(Api.SecretOf(developerKey)), DateTimeOffset.UtcNow));
        Assert.Equal("dev-connect", unverified.Token.Name);
        Assert.True(JsonNode.DeepEquals(ApiScope.AgentDefault().Json, unverified.Token.Api!.Json));
        using var admin = Admin();
        (await admin.GetApiAsync(Rooms + "/" + name)).AssertStatus(HttpStatusCode.OK);
        Assert.Contains("room.create room/" + name, await Server.ReadAuditTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_MemberKeyAndExistingRoom_GrantsUserDefaultWithoutSecrets()
    {
        using var admin = Admin();
        var name = Api.Unique("member-join");
        await admin.CreateRoomAsync(Server.ProjectId, name);
        using var member = Server.CreateClient(await Server.CreateApiKeyAsync(Server.ProjectId, ProjectRole.Member, "member-connect"));

        var (jwt, _) = await member.ConnectAsync(Server.ProjectId, name);

        var api = ParticipantToken.ReadUnverified(jwt)!.Token.Api!;
        Assert.True(JsonNode.DeepEquals(ApiScope.UserDefault().Without("secrets").Json, api.Json));
        Assert.Null(api.Secrets);
        Assert.False(api.Json.ContainsKey("llm"));
    }

    [Fact]
    public async Task Connect_MemberKeyAndMissingRoom_Returns404AndCreatesNothing()
    {
        using var member = Server.CreateClient(await Server.CreateApiKeyAsync(Server.ProjectId, ProjectRole.Member, "member-nocreate"));
        var name = Api.Unique("not-created");

        var response = await member.PostApiAsync(Rooms + "/" + name + "/connect", new { });

        response.AssertProblem(HttpStatusCode.NotFound, "not_found");
        using var admin = Admin();
        (await admin.GetApiAsync(Rooms + "/" + name)).AssertProblem(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Connect_InvalidNameForANewRoom_Returns400()
    {
        using var client = Admin();

        var response = await client.PostApiAsync(Rooms + "/bad$name/connect", new { });

        response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task Connect_WithoutBody_Works()
    {
        using var client = Admin();
        using var request = new HttpRequestMessage(HttpMethod.Post, Rooms + "/" + Api.Unique("nobody") + "/connect");

        var response = await Api.ReadAsync(await client.SendAsync(request, TestContext.Current.CancellationToken));

        response.AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Connect_PublicUrlConfigured_ReturnsWssRoomUrl()
    {
        await using var server = await KeyroomTestServer.StartAsync(settings: new Dictionary<string, string?> { ["Keyroom:PublicUrl"] = "https://keyroom.example.com/" });
        using var client = server.CreateClient(server.AdminApiKey);

        var (_, body) = await client.ConnectAsync(server.ProjectId, "public");

        Assert.Equal("wss://keyroom.example.com/rooms/public", body["room_url"]!.GetValue<string>());
    }

    [Fact]
    public async Task CreateAndDelete_AdminKey_AreAuditedWithoutValues()
    {
        using var client = Admin();
        var name = Api.Unique("audited");
        await client.CreateRoomAsync(Server.ProjectId, name);
        (await client.DeleteApiAsync(Rooms + "/" + name)).AssertStatus(HttpStatusCode.NoContent);

        var audit = await Server.ReadAuditTextAsync();

        Assert.Contains($"key:{Api.IdOf(Server.AdminApiKey)} room.create room/{name} ok", audit, StringComparison.Ordinal);
        Assert.Contains($"key:{Api.IdOf(Server.AdminApiKey)} room.delete room/{name} ok", audit, StringComparison.Ordinal);
    }
}
