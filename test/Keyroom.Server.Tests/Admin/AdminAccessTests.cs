using System.Net;
using System.Text.Json.Nodes;
using Keyroom.Core;
using Keyroom.Core.Auth;
using Keyroom.Server.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using static Keyroom.Server.Tests.Admin.AdminTestSupport;

namespace Keyroom.Server.Tests.Admin;

/// <summary>Who may use <c>/admin</c>, and <c>POST/GET /admin/projects</c>.</summary>
public sealed class AdminAccessTests
{
    private static readonly string[] AdminGets = ["/admin/projects", "/admin/master-key", "/admin/audit/verify"];

    private static async Task AssertRefusedEverywhereAsync(HttpClient client, HttpStatusCode status, string code)
    {
        foreach (var path in AdminGets)
        {
            var (actual, body) = await client.GetJsonAsync(path);
            Assert.True(actual == status, $"{path}: {actual} {body.ToJsonString()}");
            Assert.Equal(code, body["code"]!.GetValue<string>());
        }

        foreach (var (path, body) in new (string, object)[] { ("/admin/master-key/rotate", new JsonObject()), ("/admin/projects", new { name = "x" }) })
        {
            var (actual, problem) = await client.PostJsonAsync(path, body);
            Assert.True(actual == status, $"{path}: {actual} {problem.ToJsonString()}");
            Assert.Equal(code, problem["code"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Admin_NoOrBadCredentials_401()
    {
        await using var server = await KeyroomTestServer.StartAsync();
        using var anonymous = server.CreateClient();
        await AssertRefusedEverywhereAsync(anonymous, HttpStatusCode.Unauthorized, "unauthenticated");
        using var garbage = server.CreateClient("ma-garbage");
        await AssertRefusedEverywhereAsync(garbage, HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Theory]
    [InlineData(ProjectRole.Developer)]
    [InlineData(ProjectRole.Member)]
    public async Task Admin_NonAdminKeyOfSystemProject_403(ProjectRole role)
    {
        await using var server = await KeyroomTestServer.StartAsync();
        using var client = server.CreateClient(await server.CreateApiKeyAsync(server.ProjectId, role, "not-admin"));
        await AssertRefusedEverywhereAsync(client, HttpStatusCode.Forbidden, "permission_denied");

        // Nothing was rotated or created, and the refusals were audited.
        Assert.Single((await server.Services.GetRequiredService<Core.Storage.IAccountStore>().ListProjectsAsync(Ct)));
        Assert.Contains("admin.access admin/master-key/rotate denied", await server.ReadAuditTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Admin_AdminKeyOfAnotherProject_404()
    {
        await using var server = await KeyroomTestServer.StartAsync();
        var (_, otherAdmin) = await server.CreateProjectAsync("other");
        using var client = server.CreateClient(otherAdmin);
        await AssertRefusedEverywhereAsync(client, HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Admin_ParticipantToken_NeedsAdminGrant()
    {
        await using var server = await KeyroomTestServer.StartAsync();
        var apiKeys = server.Services.GetRequiredService<ApiKeyService>();
        Assert.True(ApiKeyString.TryParse(server.AdminApiKey, out var adminKey));

        var full = await apiKeys.SignAsync(adminKey.KeyId, new ParticipantToken("ops").AddApiGrant(ApiScope.Full()), Ct);
        using (var client = server.CreateClient(full))
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetJsonAsync("/admin/projects")).Status);
        }

        var agent = await apiKeys.SignAsync(adminKey.KeyId, new ParticipantToken("ops").AddApiGrant(ApiScope.AgentDefault()), Ct);
        using (var client = server.CreateClient(agent))
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await client.GetJsonAsync("/admin/projects")).Status);
        }
    }

    [Fact]
    public async Task Projects_Create_ReturnsWorkingAdminKeyForTheNewProjectOnly()
    {
        await using var server = await KeyroomTestServer.StartAsync();
        await server.WriteSecretAsync(server.AdminApiKey, server.ProjectId, "first-project-secret", "v");
        using var admin = server.CreateClient(server.AdminApiKey);

        var (code, created) = await admin.PostJsonAsync("/admin/projects", new { name = "team-b" });
        Assert.Equal(HttpStatusCode.Created, code);
        var projectId = created["id"]!.GetValue<string>();
        var newKey = created["admin_api_key"]!.GetValue<string>();
        Assert.Equal("team-b", created["name"]!.GetValue<string>());
        Assert.True(Guid.TryParse(projectId, out _));
        Assert.True(ApiKeyString.TryParse(newKey, out var parsed));
        Assert.Equal(projectId, parsed.ProjectId.ToString("D"));

        // The list shows both, with ISO-8601 UTC timestamps.
        var (_, list) = await admin.GetJsonAsync("/admin/projects");
        var projects = list["projects"]!.AsArray().Select(p => p!.AsObject()).ToList();
        Assert.Equal(2, projects.Count);
        Assert.Contains(projects, p => p["id"]!.GetValue<string>() == projectId && p["name"]!.GetValue<string>() == "team-b");
        Assert.All(projects, p => Assert.EndsWith("Z", p["created_at"]!.GetValue<string>(), StringComparison.Ordinal));

        // The new key is an admin of the new project ...
        using var teamB = server.CreateClient(newKey);
        Assert.Equal(HttpStatusCode.OK, (await teamB.GetJsonAsync($"/accounts/projects/{projectId}/audit")).Status);
        var principal = await server.Services.GetRequiredService<ApiKeyService>().AuthenticateAsync(newKey, Ct);
        Assert.Equal(ProjectRole.Admin, principal.Role);
        await server.WriteSecretAsync(newKey, projectId, "b-secret", "b-value");
        Assert.Equal("b-value", await server.ReadSecretAsync(newKey, projectId, "b-secret"));

        // ... and sees nothing of the first project (404, never 403), nor the server admin API.
        Assert.Equal(HttpStatusCode.NotFound, (await teamB.GetJsonAsync($"/accounts/projects/{server.ProjectId}/secrets")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await teamB.GetJsonAsync($"/accounts/projects/{server.ProjectId}/secrets/first-project-secret")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await teamB.GetJsonAsync($"/accounts/projects/{server.ProjectId}/audit")).Status);
        var ex = await Assert.ThrowsAsync<KeyroomException>(() => server.ReadSecretAsync(newKey, server.ProjectId, "first-project-secret"));
        Assert.Equal(KeyroomError.NotFound, ex.Error);
        Assert.Equal(HttpStatusCode.NotFound, (await teamB.GetJsonAsync("/admin/projects")).Status);

        // Creating a project is audited in the system project, without the key.
        var audit = await server.ReadAuditTextAsync();
        Assert.Contains("project.create project/" + projectId + " ok", audit, StringComparison.Ordinal);
        Assert.DoesNotContain(parsed.Secret, audit, StringComparison.Ordinal);
        Assert.DoesNotContain(parsed.Secret, server.Logs.AllText, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public async Task Projects_Create_BadName_400(string name)
    {
        await using var server = await KeyroomTestServer.StartAsync();
        using var admin = server.CreateClient(server.AdminApiKey);
        var (code, problem) = await admin.PostJsonAsync("/admin/projects", new { name });
        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Equal("invalid_request", problem["code"]!.GetValue<string>());
        var (tooLong, _) = await admin.PostJsonAsync("/admin/projects", new { name = new string('x', 201) });
        Assert.Equal(HttpStatusCode.BadRequest, tooLong);
        var (missing, _) = await admin.PostJsonAsync("/admin/projects", new JsonObject());
        Assert.Equal(HttpStatusCode.BadRequest, missing);
    }

    [Fact]
    public async Task SystemProject_IsTheFirstProject_EvenAfterOthersAreCreated()
    {
        await using var server = await KeyroomTestServer.StartAsync();
        using var admin = server.CreateClient(server.AdminApiKey);
        var (_, created) = await admin.PostJsonAsync("/admin/projects", new { name = "later" });
        using var later = server.CreateClient(created["admin_api_key"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await later.GetJsonAsync("/admin/master-key")).Status);

        await server.StopAsync();
        await using var restarted = await KeyroomTestServer.StartAsync(server.DataDirectory);
        using var adminAgain = restarted.CreateClient(server.AdminApiKey);
        Assert.Equal(HttpStatusCode.OK, (await adminAgain.GetJsonAsync("/admin/master-key")).Status);
    }
}
