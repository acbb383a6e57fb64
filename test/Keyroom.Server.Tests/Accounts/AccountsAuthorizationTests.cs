using System.Net;
using Keyroom.Core.Auth;

namespace Keyroom.Server.Tests.Accounts;

/// <summary>Who may call what: bearer checks, roles, other projects (404, never 403) and participant JWTs.</summary>
public sealed class AccountsAuthorizationTests : IClassFixture<AccountsServerFixture>
{
    private readonly AccountsServerFixture _fixture;

    public AccountsAuthorizationTests(AccountsServerFixture fixture)
    {
        _fixture = fixture;
    }

    private Support.KeyroomTestServer Server => _fixture.Server;

    private string Project => Api.Project(Server.ProjectId);

    [Theory]
    [InlineData("/secrets")]
    [InlineData("/rooms")]
    [InlineData("/api-keys")]
    [InlineData("/role")]
    public async Task AnyEndpoint_NoBearer_Returns401WithWwwAuthenticate(string path)
    {
        using var client = Server.CreateClient();

        var response = await client.GetApiAsync(Project + path);

        response.AssertProblem(HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.Equal("Bearer", response.Message.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("ma-not-a-key")]
    [InlineData("a.b.c")]
    public async Task Secrets_GarbageBearer_Returns401WithWwwAuthenticate(string bearer)
    {
        using var client = Server.CreateClient(bearer);

        var response = await client.GetApiAsync(Project + "/secrets");

        response.AssertProblem(HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.Equal("Bearer", response.Message.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task Secrets_RealKeyIdWithWrongSecret_Returns401AndDoesNotEchoTheKey()
    {
        var forged = Server.AdminApiKey + "x";
        using var client = Server.CreateClient(forged);

        var response = await client.GetApiAsync(Project + "/secrets");

        response.AssertProblem(HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.DoesNotContain(Api.SecretOf(forged), response.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(Api.SecretOf(forged), Server.Logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProjectSecrets_MemberKey_Returns403AndStoresNothing()
    {
        using var member = Server.CreateClient(await Server.CreateApiKeyAsync(Server.ProjectId, ProjectRole.Member, "member"));
        using var admin = Server.CreateClient(Server.AdminApiKey);
        var id = await admin.CreateSecretAsync(Server.ProjectId, "keys", """{"A":"b"}""");
        var name = Api.Unique("refused");

        var create = await member.PostApiAsync(Project + "/secrets", new { name, type = "keys", data_base64 = Api.B64("""{"A":"b"}""") });
        var list = await member.GetApiAsync(Project + "/secrets");
        var get = await member.GetApiAsync(Project + "/secrets/" + id);
        var delete = await member.DeleteApiAsync(Project + "/secrets/" + id);

        create.AssertProblem(HttpStatusCode.Forbidden, "permission_denied");
        list.AssertProblem(HttpStatusCode.Forbidden, "permission_denied");
        get.AssertProblem(HttpStatusCode.Forbidden, "permission_denied");
        delete.AssertProblem(HttpStatusCode.Forbidden, "permission_denied");
        var all = await admin.GetApiAsync(Project + "/secrets");
        Assert.DoesNotContain(all.Body["secrets"]!.AsArray(), s => s!["name"]!.GetValue<string>() == name);
    }

    [Fact]
    public async Task ProjectSecrets_DeveloperKey_CanCreateAndRead()
    {
        using var developer = Server.CreateClient(await Server.CreateApiKeyAsync(Server.ProjectId, ProjectRole.Developer, "dev"));

        var id = await developer.CreateSecretAsync(Server.ProjectId, "text/plain", "dev value");

        Assert.Equal("dev value", await developer.ReadSecretTextAsync(Server.ProjectId, id));
    }

    [Fact]
    public async Task ThisProjectsResources_OtherProjectsAdminKey_Returns404()
    {
        using var admin = Server.CreateClient(Server.AdminApiKey);
        var secretId = await admin.CreateSecretAsync(Server.ProjectId, "keys", """{"A":"b"}""");
        var room = await admin.CreateRoomAsync(Server.ProjectId, Api.Unique("xproj"));
        var (_, otherKey) = await Server.CreateProjectAsync();
        using var other = Server.CreateClient(otherKey);
        var roomName = room["name"]!.GetValue<string>();

        var responses = new[]
        {
            await other.GetApiAsync(Project + "/secrets/" + secretId),
            await other.GetApiAsync(Project + "/secrets"),
            await other.GetApiAsync(Project + "/secrets/" + secretId + "/versions"),
            await other.PutApiAsync(Project + "/secrets/" + secretId, new { name = "x", type = "keys", data_base64 = Api.B64("""{"A":"c"}""") }),
            await other.DeleteApiAsync(Project + "/secrets/" + secretId),
            await other.PostApiAsync(Project + "/secrets", new { name = "x", type = "keys", data_base64 = Api.B64("""{"A":"c"}""") }),
            await other.GetApiAsync(Project + "/rooms"),
            await other.GetApiAsync(Project + "/rooms/" + roomName),
            await other.PutApiAsync(Project + "/rooms/" + roomName, new { name = roomName }),
            await other.DeleteApiAsync(Project + "/rooms/" + roomName),
            await other.PostApiAsync(Project + "/rooms", new { name = Api.Unique("intruder") }),
            await other.PostApiAsync(Project + "/rooms/" + roomName + "/connect", new { }),
            await other.GetApiAsync(Project + "/rooms/" + roomName + "/secrets"),
            await other.PostApiAsync(Project + "/rooms/" + roomName + "/secrets", new { data_base64 = "AQID" }),
            await other.GetApiAsync(Project + "/api-keys"),
            await other.PostApiAsync(Project + "/api-keys", new { name = "intruder" }),
            await other.DeleteApiAsync(Project + "/api-keys/" + Api.IdOf(Server.AdminApiKey)),
            await other.GetApiAsync(Project + "/role"),
        };

        Assert.All(responses, r => r.AssertProblem(HttpStatusCode.NotFound, "not_found"));
        Assert.Equal("""{"A":"b"}""", await admin.ReadSecretTextAsync(Server.ProjectId, secretId));
        (await admin.GetApiAsync(Project + "/rooms/" + roomName)).AssertStatus(HttpStatusCode.OK);
        (await admin.GetApiAsync(Project + "/role")).AssertStatus(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData(ProjectRole.Admin, "admin")]
    [InlineData(ProjectRole.Developer, "developer")]
    [InlineData(ProjectRole.Member, "member")]
    public async Task Role_EachKeyRole_ReturnsThatRole(ProjectRole role, string expected)
    {
        using var client = Server.CreateClient(await Server.CreateApiKeyAsync(Server.ProjectId, role, "role-" + expected));

        var response = await client.GetApiAsync(Project + "/role");

        response.AssertStatus(HttpStatusCode.OK);
        Assert.Equal(expected, response.Body["role"]!.GetValue<string>());
    }

    [Fact]
    public async Task ProjectSecrets_JwtFromDeveloperConnect_CanReadButNotManageKeys()
    {
        using var admin = Server.CreateClient(Server.AdminApiKey);
        var id = await admin.CreateSecretAsync(Server.ProjectId, "text/plain", "readable by token");
        using var developer = Server.CreateClient(await Server.CreateApiKeyAsync(Server.ProjectId, ProjectRole.Developer, "dev-jwt"));
        var (jwt, _) = await developer.ConnectAsync(Server.ProjectId, Api.Unique("jwt-room"));
        using var token = Server.CreateClient(jwt);

        var text = await token.ReadSecretTextAsync(Server.ProjectId, id);
        var role = await token.GetApiAsync(Project + "/role");
        var keys = await token.GetApiAsync(Project + "/api-keys");

        Assert.Equal("readable by token", text);
        Assert.Equal("developer", role.Body["role"]!.GetValue<string>());
        keys.AssertProblem(HttpStatusCode.Forbidden, "permission_denied");
    }

    [Fact]
    public async Task ProjectSecrets_JwtWithSecretsGrantSignedByMemberKey_Returns403()
    {
        using var admin = Server.CreateClient(Server.AdminApiKey);
        var id = await admin.CreateSecretAsync(Server.ProjectId, "text/plain", "not for members");
        var memberKey = await Server.CreateApiKeyAsync(Server.ProjectId, ProjectRole.Member, "member-jwt");
        var token = new ParticipantToken("member-agent") { KeyId = Api.IdOf(memberKey), ProjectId = Server.ProjectId }
            .AddRoomGrant("any").AddApiGrant(ApiScope.AgentDefault());
        using var client = Server.CreateClient(token.Sign(Api.SecretOf(memberKey)));

        var response = await client.GetApiAsync(Project + "/secrets/" + id);

        response.AssertProblem(HttpStatusCode.Forbidden, "permission_denied");
    }

    [Fact]
    public async Task ProjectSecrets_JwtWithoutSecretsGrant_Returns403()
    {
        using var admin = Server.CreateClient(Server.AdminApiKey);
        var id = await admin.CreateSecretAsync(Server.ProjectId, "text/plain", "needs api.secrets");
        var roomName = Api.Unique("member-room");
        await admin.CreateRoomAsync(Server.ProjectId, roomName);
        using var member = Server.CreateClient(await Server.CreateApiKeyAsync(Server.ProjectId, ProjectRole.Member, "member-connect"));
        var (memberJwt, _) = await member.ConnectAsync(Server.ProjectId, roomName);
        var adminJwt = new ParticipantToken("no-secrets") { KeyId = Api.IdOf(Server.AdminApiKey), ProjectId = Server.ProjectId }
            .AddRoomGrant(roomName).AddApiGrant(ApiScope.AgentDefault().Without("secrets"))
            .Sign(Api.SecretOf(Server.AdminApiKey));
        using var memberToken = Server.CreateClient(memberJwt);
        using var adminToken = Server.CreateClient(adminJwt);

        var byMember = await memberToken.GetApiAsync(Project + "/secrets/" + id);
        var byAdminSigned = await adminToken.GetApiAsync(Project + "/secrets/" + id);

        byMember.AssertProblem(HttpStatusCode.Forbidden, "permission_denied");
        byAdminSigned.AssertProblem(HttpStatusCode.Forbidden, "permission_denied");
    }

    [Fact]
    public async Task Connect_CallerAuthenticatedByJwt_Returns403()
    {
        using var admin = Server.CreateClient(Server.AdminApiKey);
        var roomName = Api.Unique("jwt-connect");
        var (jwt, _) = await admin.ConnectAsync(Server.ProjectId, roomName);
        using var token = Server.CreateClient(jwt);

        var response = await token.PostApiAsync(Project + "/rooms/" + roomName + "/connect", new { });

        var detail = response.AssertProblem(HttpStatusCode.Forbidden, "permission_denied");
        Assert.Contains("API key", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminOnlyEndpoints_DeveloperKey_Return403()
    {
        using var admin = Server.CreateClient(Server.AdminApiKey);
        var roomName = Api.Unique("admin-only");
        await admin.CreateRoomAsync(Server.ProjectId, roomName);
        using var developer = Server.CreateClient(await Server.CreateApiKeyAsync(Server.ProjectId, ProjectRole.Developer, "dev-admin-only"));

        var responses = new[]
        {
            await developer.PostApiAsync(Project + "/rooms", new { name = Api.Unique("dev-room") }),
            await developer.PutApiAsync(Project + "/rooms/" + roomName, new { name = roomName }),
            await developer.DeleteApiAsync(Project + "/rooms/" + roomName),
            await developer.GetApiAsync(Project + "/api-keys"),
            await developer.PostApiAsync(Project + "/api-keys", new { name = "escalate", role = "admin" }),
        };

        Assert.All(responses, r => r.AssertProblem(HttpStatusCode.Forbidden, "permission_denied"));
    }

    [Fact]
    public async Task ReadOnlyRoomEndpoints_MemberKey_AreAllowed()
    {
        using var admin = Server.CreateClient(Server.AdminApiKey);
        var roomName = Api.Unique("member-read");
        await admin.CreateRoomAsync(Server.ProjectId, roomName);
        using var member = Server.CreateClient(await Server.CreateApiKeyAsync(Server.ProjectId, ProjectRole.Member, "member-read"));

        var list = await member.GetApiAsync(Project + "/rooms?limit=1000");
        var get = await member.GetApiAsync(Project + "/rooms/" + roomName);

        list.AssertStatus(HttpStatusCode.OK);
        Assert.Contains(list.Body["rooms"]!.AsArray(), r => r!["name"]!.GetValue<string>() == roomName);
        get.AssertStatus(HttpStatusCode.OK);
    }
}
