using System.Net;
using System.Text;
using Keyroom.Core.Auth;
using Keyroom.Server.Tests.Support;

namespace Keyroom.Server.Tests.Accounts;

public sealed class ApiKeysEndpointsTests : IClassFixture<AccountsServerFixture>
{
    private readonly AccountsServerFixture _fixture;

    public ApiKeysEndpointsTests(AccountsServerFixture fixture)
    {
        _fixture = fixture;
    }

    private KeyroomTestServer Server => _fixture.Server;

    private string Keys => Api.Project(Server.ProjectId) + "/api-keys";

    private HttpClient Admin() => Server.CreateClient(Server.AdminApiKey);

    [Fact]
    public async Task Create_NoRole_Returns201WithADeveloperKeyOfThisProject()
    {
        using var client = Admin();
        var name = Api.Unique("ci");

        var created = await client.PostApiAsync(Keys, new { name, description = "deploy" });

        created.AssertStatus(HttpStatusCode.Created);
        var value = created.Body["value"]!.GetValue<string>();
        Assert.True(ApiKeyString.TryParse(value, out var parsed));
        Assert.Equal(parsed.KeyId.ToString("D"), created.Body["id"]!.GetValue<string>());
        Assert.Equal(Server.ProjectId, parsed.ProjectId.ToString("D"));
        Assert.Equal(name, created.Body["name"]!.GetValue<string>());
        Assert.Equal("deploy", created.Body["description"]!.GetValue<string>());
        Assert.Equal("developer", created.Body["role"]!.GetValue<string>());
        Assert.True(DateTimeOffset.TryParse(created.Body["created_at"]!.GetValue<string>(), out _));
        using var withNewKey = Server.CreateClient(value);
        var role = await withNewKey.GetApiAsync(Api.Project(Server.ProjectId) + "/role");
        Assert.Equal("developer", role.Body["role"]!.GetValue<string>());
        (await withNewKey.GetApiAsync(Api.Project(Server.ProjectId) + "/secrets")).AssertStatus(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("admin")]
    [InlineData("developer")]
    [InlineData("member")]
    public async Task Create_WithRole_KeyActsWithThatRole(string role)
    {
        using var client = Admin();

        var created = await client.PostApiAsync(Keys, new { name = Api.Unique("role"), description = "", role });

        created.AssertStatus(HttpStatusCode.Created);
        Assert.Equal(role, created.Body["role"]!.GetValue<string>());
        using var withNewKey = Server.CreateClient(created.Body["value"]!.GetValue<string>());
        Assert.Equal(role, (await withNewKey.GetApiAsync(Api.Project(Server.ProjectId) + "/role")).Body["role"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"name":"x","role":"owner"}""", "'role'")]
    [InlineData("""{"name":"x","role":"Admin"}""", "'role'")]
    [InlineData("""{"description":"no name"}""", "'name'")]
    [InlineData("""{"name":""}""", "'name'")]
    public async Task Create_InvalidBody_Returns400NamingTheField(string body, string field)
    {
        using var client = Admin();

        var response = await client.PostApiAsync(Keys, body);

        Assert.Contains(field, response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_AfterCreate_ContainsTheKeyWithoutItsValue()
    {
        using var client = Admin();
        var created = await client.PostApiAsync(Keys, new { name = Api.Unique("listed"), description = "d", role = "member" });
        var value = created.Body["value"]!.GetValue<string>();

        var list = await client.GetApiAsync(Keys);

        list.AssertStatus(HttpStatusCode.OK);
        var entry = list.Body["tokens"]!.AsArray().Single(t => t!["id"]!.GetValue<string>() == created.Body["id"]!.GetValue<string>())!;
        Assert.Equal("member", entry["role"]!.GetValue<string>());
        Assert.Equal("d", entry["description"]!.GetValue<string>());
        Assert.False(entry.AsObject().ContainsKey("value"));
        Assert.DoesNotContain(Api.SecretOf(value), list.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(Api.SecretOf(Server.AdminApiKey), list.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_Key_Returns204AndTheKeyAndItsTokensFailAtOnce()
    {
        using var client = Admin();
        var created = await client.PostApiAsync(Keys, new { name = Api.Unique("revoked"), description = "" });
        var id = created.Body["id"]!.GetValue<string>();
        var value = created.Body["value"]!.GetValue<string>();
        using var withKey = Server.CreateClient(value);
        (await withKey.GetApiAsync(Api.Project(Server.ProjectId) + "/secrets")).AssertStatus(HttpStatusCode.OK);
        var (jwt, _) = await withKey.ConnectAsync(Server.ProjectId, Api.Unique("revoked-room"));
        using var withToken = Server.CreateClient(jwt);
        (await withToken.GetApiAsync(Api.Project(Server.ProjectId) + "/role")).AssertStatus(HttpStatusCode.OK);

        var deleted = await client.DeleteApiAsync(Keys + "/" + id);
        var keyAfter = await withKey.GetApiAsync(Api.Project(Server.ProjectId) + "/secrets");
        var tokenAfter = await withToken.GetApiAsync(Api.Project(Server.ProjectId) + "/role");
        var list = await client.GetApiAsync(Keys);

        deleted.AssertStatus(HttpStatusCode.NoContent);
        keyAfter.AssertProblem(HttpStatusCode.Unauthorized, "unauthenticated");
        tokenAfter.AssertProblem(HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.DoesNotContain(list.Body["tokens"]!.AsArray(), t => t!["id"]!.GetValue<string>() == id);
    }

    [Theory]
    [InlineData("not-a-guid")]
    [InlineData("00000000-0000-0000-0000-000000000001")]
    public async Task Delete_UnknownKey_Returns404(string id)
    {
        using var client = Admin();

        var response = await client.DeleteApiAsync(Keys + "/" + id);

        response.AssertProblem(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Delete_KeyOfAnotherProject_Returns404AndKeepsIt()
    {
        var (otherProject, otherKey) = await Server.CreateProjectAsync();
        using var client = Admin();

        var response = await client.DeleteApiAsync(Keys + "/" + Api.IdOf(otherKey));

        response.AssertProblem(HttpStatusCode.NotFound, "not_found");
        using var other = Server.CreateClient(otherKey);
        (await other.GetApiAsync(Api.Project(otherProject) + "/role")).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Delete_LastAdminKey_Returns409AndKeepsItUntilAnotherAdminKeyExists()
    {
        var (project, adminKey) = await Server.CreateProjectAsync();
        using var admin = Server.CreateClient(adminKey);
        var keys = Api.Project(project) + "/api-keys";
        (await admin.PostApiAsync(keys, new { name = "dev", role = "developer" })).AssertStatus(HttpStatusCode.Created);

        // A developer key does not count: the project would have nobody left to administer it.
        var refused = await admin.DeleteApiAsync(keys + "/" + Api.IdOf(adminKey));
        var stillAdmin = await admin.GetApiAsync(Api.Project(project) + "/role");
        var second = await admin.PostApiAsync(keys, new { name = "admin-2", role = "admin" });
        var deleted = await admin.DeleteApiAsync(keys + "/" + Api.IdOf(adminKey));
        using var secondAdmin = Server.CreateClient(second.Body["value"]!.GetValue<string>());
        var lastRefused = await secondAdmin.DeleteApiAsync(keys + "/" + second.Body["id"]!.GetValue<string>());

        refused.AssertProblem(HttpStatusCode.Conflict, "conflict");
        Assert.Contains("last admin API key", refused.Text, StringComparison.Ordinal);
        Assert.Equal("admin", stillAdmin.Body["role"]!.GetValue<string>());
        deleted.AssertStatus(HttpStatusCode.NoContent);
        lastRefused.AssertProblem(HttpStatusCode.Conflict, "conflict");
        (await secondAdmin.GetApiAsync(keys)).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task CreateAndDelete_AreAuditedWithoutTheKeyValue()
    {
        using var client = Admin();
        var created = await client.PostApiAsync(Keys, new { name = Api.Unique("audit"), description = "" });
        var id = created.Body["id"]!.GetValue<string>();
        var value = created.Body["value"]!.GetValue<string>();
        (await client.DeleteApiAsync(Keys + "/" + id)).AssertStatus(HttpStatusCode.NoContent);
        using var developer = Server.CreateClient(await Server.CreateApiKeyAsync(Server.ProjectId, ProjectRole.Developer, "audit-dev"));
        (await developer.PostApiAsync(Keys, new { name = "escalate", role = "admin" })).AssertStatus(HttpStatusCode.Forbidden);

        var audit = await Server.ReadAuditTextAsync();

        Assert.Contains($"api_key.create api-key/{id} ok", audit, StringComparison.Ordinal);
        Assert.Contains($"api_key.delete api-key/{id} ok", audit, StringComparison.Ordinal);
        Assert.Contains("api_key.create api-key denied", audit, StringComparison.Ordinal);
        Assert.DoesNotContain(Api.SecretOf(value), audit, StringComparison.Ordinal);
        Assert.DoesNotContain(Api.SecretOf(value), Server.Logs.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain(Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(Api.SecretOf(value))), Server.Logs.AllText, StringComparison.Ordinal);
    }
}
