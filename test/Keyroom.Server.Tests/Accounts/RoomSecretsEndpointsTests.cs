using System.Net;
using System.Text;
using Keyroom.Core.Auth;
using Keyroom.Server.Tests.Support;

namespace Keyroom.Server.Tests.Accounts;

/// <summary>A server whose room secrets may be at most 1 KiB, to test the limit cheaply.</summary>
public sealed class SmallRoomSecretsFixture : AccountsServerFixture
{
    public const int MaxRoomSecretBytes = 1024;

    protected override IDictionary<string, string?>? Settings =>
        new Dictionary<string, string?> { ["Keyroom:MaxRoomSecretBytes"] = MaxRoomSecretBytes.ToString(System.Globalization.CultureInfo.InvariantCulture) };
}

public sealed class RoomSecretsEndpointsTests : IClassFixture<SmallRoomSecretsFixture>
{
    private readonly SmallRoomSecretsFixture _fixture;

    public RoomSecretsEndpointsTests(SmallRoomSecretsFixture fixture)
    {
        _fixture = fixture;
    }

    private KeyroomTestServer Server => _fixture.Server;

    private string RoomPath(string room) => Api.Project(Server.ProjectId) + "/rooms/" + room;

    private async Task<string> NewRoomAsync()
    {
        using var admin = Server.CreateClient(Server.AdminApiKey);
        var name = Api.Unique("rs");
        await admin.CreateRoomAsync(Server.ProjectId, name);
        return name;
    }

    private static string Text(ApiResponse response) => Encoding.UTF8.GetString(Convert.FromBase64String(response.Body["data_base64"]!.GetValue<string>()));

    [Fact]
    public async Task Create_MinimalBody_ReturnsGeneratedIdAndTheCallerOwnsIt()
    {
        var room = await NewRoomAsync();
        using var client = Server.CreateClient(Server.AdminApiKey);

        var created = await client.PostApiAsync(RoomPath(room) + "/secrets", """{"data_base64":"AQID"}""");

        created.AssertStatus(HttpStatusCode.Created);
        var id = created.Body["id"]!.GetValue<string>();
        Assert.True(Guid.TryParse(id, out _));
        var got = await client.GetApiAsync(RoomPath(room) + "/secrets/" + id);
        got.AssertStatus(HttpStatusCode.OK);
        Assert.Equal("AQID", got.Body["data_base64"]!.GetValue<string>());
        Assert.Equal(id, got.Body["name"]!.GetValue<string>());
        Assert.Equal("application/octet-stream", got.Body["type"]!.GetValue<string>());
        Assert.Null(got.Body["delegated_to"]);
        var list = await client.GetApiAsync(RoomPath(room) + "/secrets");
        Assert.Contains(list.Body["secrets"]!.AsArray(), s => s!["id"]!.GetValue<string>() == id);
    }

    [Fact]
    public async Task ForIdentity_AdminKey_ActsForThatIdentityOnly()
    {
        var room = await NewRoomAsync();
        using var admin = Server.CreateClient(Server.AdminApiKey);
        var path = RoomPath(room) + "/secrets";

        var created = await admin.PostApiAsync(path, new
        {
            data_base64 = Api.B64("replace-me"),
            secret_id = "service-api-token",
            name = "service-api-token",
            type = "text/plain",
            for_identity = "support-agent",
        });
        var asOwner = await admin.GetApiAsync(path + "/service-api-token?for_identity=support-agent");
        var asSelf = await admin.GetApiAsync(path + "/service-api-token");
        var ownerList = await admin.GetApiAsync(path + "?for_identity=support-agent");
        var selfList = await admin.GetApiAsync(path);

        created.AssertStatus(HttpStatusCode.Created);
        Assert.Equal("service-api-token", created.Body["id"]!.GetValue<string>());
        asOwner.AssertStatus(HttpStatusCode.OK);
        Assert.Equal("replace-me", Text(asOwner));
        Assert.Equal("text/plain", asOwner.Body["type"]!.GetValue<string>());
        asSelf.AssertProblem(HttpStatusCode.NotFound, "not_found");
        Assert.Single(ownerList.Body["secrets"]!.AsArray());
        Assert.Empty(selfList.Body["secrets"]!.AsArray());
    }

    [Fact]
    public async Task ForIdentity_DeveloperKey_Returns403()
    {
        var room = await NewRoomAsync();
        using var developer = Server.CreateClient(await Server.CreateApiKeyAsync(Server.ProjectId, ProjectRole.Developer, "rs-dev"));
        var path = RoomPath(room) + "/secrets";

        var create = await developer.PostApiAsync(path, new { data_base64 = "AQID", for_identity = "someone-else" });
        var list = await developer.GetApiAsync(path + "?for_identity=someone-else");
        var get = await developer.GetApiAsync(path + "/x?for_identity=someone-else");
        var own = await developer.PostApiAsync(path, new { data_base64 = "AQID", for_identity = "rs-dev" });

        create.AssertProblem(HttpStatusCode.Forbidden, "permission_denied");
        list.AssertProblem(HttpStatusCode.Forbidden, "permission_denied");
        get.AssertProblem(HttpStatusCode.Forbidden, "permission_denied");
        own.AssertStatus(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Update_DeveloperOwnSecret_KeepsNameAndTypeAndWritesVersion2()
    {
        var room = await NewRoomAsync();
        using var developer = Server.CreateClient(await Server.CreateApiKeyAsync(Server.ProjectId, ProjectRole.Developer, "rs-dev-update"));
        var path = RoomPath(room) + "/secrets";
        var id = (await developer.PostApiAsync(path, new { data_base64 = Api.B64("one"), name = "token", type = "text/plain" })).Body["id"]!.GetValue<string>();

        var updated = await developer.PutApiAsync(path + "/" + id, new { data_base64 = Api.B64("two") });
        var got = await developer.GetApiAsync(path + "/" + id);

        updated.AssertStatus(HttpStatusCode.OK);
        Assert.Equal(2, updated.Body["version"]!.GetValue<int>());
        Assert.Equal("two", Text(got));
        Assert.Equal("token", got.Body["name"]!.GetValue<string>());
        Assert.Equal("text/plain", got.Body["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Create_ExistingSecretId_ReplacesTheValueWith200()
    {
        var room = await NewRoomAsync();
        using var client = Server.CreateClient(Server.AdminApiKey);
        var path = RoomPath(room) + "/secrets";

        var first = await client.PostApiAsync(path, new { secret_id = "same", data_base64 = Api.B64("first") });
        var second = await client.PostApiAsync(path, new { secret_id = "same", data_base64 = Api.B64("second") });

        first.AssertStatus(HttpStatusCode.Created);
        second.AssertStatus(HttpStatusCode.OK);
        Assert.Equal(2, second.Body["version"]!.GetValue<int>());
        Assert.Equal("second", Text(await client.GetApiAsync(path + "/same")));
    }

    [Fact]
    public async Task Update_UnknownSecret_Returns404()
    {
        var room = await NewRoomAsync();
        using var client = Server.CreateClient(Server.AdminApiKey);

        var withoutName = await client.PutApiAsync(RoomPath(room) + "/secrets/absent", new { data_base64 = "AQID" });
        var withName = await client.PutApiAsync(RoomPath(room) + "/secrets/absent", new { data_base64 = "AQID", name = "n", type = "t" });

        withoutName.AssertProblem(HttpStatusCode.NotFound, "not_found");
        withName.AssertProblem(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task DelegatedTo_IsPartOfTheKey()
    {
        var room = await NewRoomAsync();
        using var client = Server.CreateClient(Server.AdminApiKey);
        var path = RoomPath(room) + "/secrets";

        (await client.PostApiAsync(path, new { secret_id = "s1", data_base64 = Api.B64("delegated"), delegated_to = "agent-x" })).AssertStatus(HttpStatusCode.Created);
        var withoutDelegation = await client.GetApiAsync(path + "/s1");
        var withDelegation = await client.GetApiAsync(path + "/s1?delegated_to=agent-x");
        var list = await client.GetApiAsync(path);
        var deleteWrong = await client.DeleteApiAsync(path + "/s1");
        var delete = await client.DeleteApiAsync(path + "/s1?delegated_to=agent-x");

        withoutDelegation.AssertProblem(HttpStatusCode.NotFound, "not_found");
        Assert.Equal("delegated", Text(withDelegation));
        Assert.Equal("agent-x", withDelegation.Body["delegated_to"]!.GetValue<string>());
        Assert.Equal("agent-x", list.Body["secrets"]!.AsArray().Single()!["delegated_to"]!.GetValue<string>());
        deleteWrong.AssertProblem(HttpStatusCode.NotFound, "not_found");
        delete.AssertStatus(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task Delete_OwnSecret_Returns204ThenGet404()
    {
        var room = await NewRoomAsync();
        using var client = Server.CreateClient(Server.AdminApiKey);
        var path = RoomPath(room) + "/secrets";
        var id = (await client.PostApiAsync(path, new { data_base64 = "AQID" })).Body["id"]!.GetValue<string>();

        var deleted = await client.DeleteApiAsync(path + "/" + id);
        var got = await client.GetApiAsync(path + "/" + id);

        deleted.AssertStatus(HttpStatusCode.NoContent);
        got.AssertProblem(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task AnyCall_UnknownRoom_Returns404()
    {
        using var client = Server.CreateClient(Server.AdminApiKey);
        var path = RoomPath(Api.Unique("no-such-room")) + "/secrets";

        var responses = new[]
        {
            await client.PostApiAsync(path, new { data_base64 = "AQID" }),
            await client.GetApiAsync(path),
            await client.GetApiAsync(path + "/x"),
            await client.PutApiAsync(path + "/x", new { data_base64 = "AQID" }),
            await client.DeleteApiAsync(path + "/x"),
        };

        Assert.All(responses, r => r.AssertProblem(HttpStatusCode.NotFound, "not_found"));
    }

    [Fact]
    public async Task AnyCall_MemberKey_Returns403()
    {
        var room = await NewRoomAsync();
        using var member = Server.CreateClient(await Server.CreateApiKeyAsync(Server.ProjectId, ProjectRole.Member, "rs-member"));

        var create = await member.PostApiAsync(RoomPath(room) + "/secrets", new { data_base64 = "AQID" });
        var list = await member.GetApiAsync(RoomPath(room) + "/secrets");

        create.AssertProblem(HttpStatusCode.Forbidden, "permission_denied");
        list.AssertProblem(HttpStatusCode.Forbidden, "permission_denied");
    }

    [Fact]
    public async Task Create_ValueAboveMaxRoomSecretBytes_Returns413()
    {
        var room = await NewRoomAsync();
        using var client = Server.CreateClient(Server.AdminApiKey);

        var tooLarge = await client.PostApiAsync(RoomPath(room) + "/secrets", new { data_base64 = Convert.ToBase64String(new byte[SmallRoomSecretsFixture.MaxRoomSecretBytes + 1]) });
        var largest = await client.PostApiAsync(RoomPath(room) + "/secrets", new { data_base64 = Convert.ToBase64String(new byte[SmallRoomSecretsFixture.MaxRoomSecretBytes]) });
        var hugeBody = await client.PostApiAsync(RoomPath(room) + "/secrets", new { data_base64 = Convert.ToBase64String(new byte[64 * 1024]) });

        tooLarge.AssertProblem(HttpStatusCode.RequestEntityTooLarge, "too_large");
        largest.AssertStatus(HttpStatusCode.Created);
        hugeBody.AssertProblem(HttpStatusCode.RequestEntityTooLarge, "too_large");
    }

    [Fact]
    public async Task Create_MissingOrInvalidData_Returns400()
    {
        var room = await NewRoomAsync();
        using var client = Server.CreateClient(Server.AdminApiKey);

        var missing = await client.PostApiAsync(RoomPath(room) + "/secrets", new { name = "n" });
        var invalid = await client.PostApiAsync(RoomPath(room) + "/secrets", new { data_base64 = "%%%" });
        var badId = await client.PostApiAsync(RoomPath(room) + "/secrets", new { data_base64 = "AQID", secret_id = "a/b" });

        Assert.Contains("'data_base64' is required", missing.AssertProblem(HttpStatusCode.BadRequest, "invalid_request"), StringComparison.Ordinal);
        Assert.Contains("'data_base64'", invalid.AssertProblem(HttpStatusCode.BadRequest, "invalid_request"), StringComparison.Ordinal);
        Assert.Contains("'secret_id'", badId.AssertProblem(HttpStatusCode.BadRequest, "invalid_request"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Jwt_FromConnect_ReachesItsOwnRoomSecretsOnly()
    {
        var room = await NewRoomAsync();
        var otherRoom = await NewRoomAsync();
        using var developer = Server.CreateClient(await Server.CreateApiKeyAsync(Server.ProjectId, ProjectRole.Developer, "rs-jwt"));
        var created = await developer.PostApiAsync(RoomPath(room) + "/secrets", new { secret_id = "shared", data_base64 = Api.B64("same store") });
        created.AssertStatus(HttpStatusCode.Created);
        var (jwt, _) = await developer.ConnectAsync(Server.ProjectId, room);
        using var token = Server.CreateClient(jwt);

        var own = await token.GetApiAsync(RoomPath(room) + "/secrets/shared");
        var elsewhere = await token.GetApiAsync(RoomPath(otherRoom) + "/secrets");
        var forOthers = await token.GetApiAsync(RoomPath(room) + "/secrets?for_identity=someone-else");

        Assert.Equal("same store", Text(own));
        elsewhere.AssertProblem(HttpStatusCode.Forbidden, "permission_denied");
        forOthers.AssertProblem(HttpStatusCode.Forbidden, "permission_denied");
    }
}
