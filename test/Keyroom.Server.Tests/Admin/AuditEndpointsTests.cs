using System.Net;
using Keyroom.Core.Auth;
using Keyroom.Server.Tests.Support;

namespace Keyroom.Server.Tests.Admin;

/// <summary><c>GET /admin/audit/verify</c> and <c>GET /accounts/projects/{p}/audit</c>.</summary>
public sealed class AuditEndpointsTests
{
    private static async Task ActivityAsync(KeyroomTestServer server)
    {
        for (var i = 0; i < 5; i++)
        {
            await server.WriteSecretAsync(server.AdminApiKey, server.ProjectId, "s" + i, "v" + i);
            await server.ReadSecretAsync(server.AdminApiKey, server.ProjectId, "s" + i);
        }

        using var admin = server.CreateClient(server.AdminApiKey);
        await admin.PostJsonAsync("/admin/projects", new { name = "other" });
        using var bad = server.CreateClient("ma-bogus");
        await bad.GetJsonAsync("/admin/projects"); // an auth failure entry
    }

    [Fact]
    public async Task Verify_AfterActivity_Intact()
    {
        await using var server = await KeyroomTestServer.StartAsync();
        await ActivityAsync(server);
        using var admin = server.CreateClient(server.AdminApiKey);

        var (code, result) = await admin.GetJsonAsync("/admin/audit/verify");

        Assert.Equal(HttpStatusCode.OK, code);
        Assert.True(result["intact"]!.GetValue<bool>(), result.ToJsonString());
        Assert.True(result["checked"]!.GetValue<long>() >= 13, result.ToJsonString());
        Assert.Null(result["first_bad_sequence"]);
        Assert.Null(result["problem"]);
        Assert.True(result.ContainsKey("first_bad_sequence"));
        Assert.True(result.ContainsKey("problem"));
    }

    [Fact]
    public async Task Verify_OneRowEditedInSqlite_ReportsThatSequence()
    {
        await using var server = await KeyroomTestServer.StartAsync();
        await ActivityAsync(server);
        await server.FlushAuditAsync();
        await server.ExecuteSqlAsync("UPDATE audit SET outcome = 'ok', actor = 'key:someone-else' WHERE seq = 4");
        using var admin = server.CreateClient(server.AdminApiKey);

        var (_, result) = await admin.GetJsonAsync("/admin/audit/verify");

        Assert.False(result["intact"]!.GetValue<bool>());
        Assert.Equal(4, result["first_bad_sequence"]!.GetValue<long>());
        Assert.Equal(3, result["checked"]!.GetValue<long>());
        Assert.Contains("entry 4 was modified", result["problem"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_TailDeletedInSqlite_ReportsEntriesAfterNDeleted()
    {
        await using var server = await KeyroomTestServer.StartAsync();
        await ActivityAsync(server);
        await server.FlushAuditAsync();
        await server.ExecuteSqlAsync("DELETE FROM audit WHERE seq > 6");
        using var admin = server.CreateClient(server.AdminApiKey);

        var (_, result) = await admin.GetJsonAsync("/admin/audit/verify");

        Assert.False(result["intact"]!.GetValue<bool>());
        Assert.Equal(7, result["first_bad_sequence"]!.GetValue<long>());
        Assert.Contains("entries after 6 were deleted", result["problem"]!.GetValue<string>(), StringComparison.Ordinal);

        // Cutting the tail while the server is down is not papered over by a restart either: the chain
        // continues after the recorded head, leaving the gap, and the restart records what it found.
        await server.StopAsync();
        await server.ExecuteSqlAsync("DELETE FROM audit WHERE seq > 3");
        await using var restarted = await KeyroomTestServer.StartAsync(server.DataDirectory);
        using var adminAgain = restarted.CreateClient(server.AdminApiKey);
        var (_, again) = await adminAgain.GetJsonAsync("/admin/audit/verify");
        Assert.False(again["intact"]!.GetValue<bool>());
        Assert.Equal(4, again["first_bad_sequence"]!.GetValue<long>());
        Assert.Contains("entry 4 is missing", again["problem"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("audit.tail_missing audit/after/3 error", await restarted.ReadAuditTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProjectAudit_AdminSeesOwnProjectEntries_Paged()
    {
        await using var server = await KeyroomTestServer.StartAsync();
        await ActivityAsync(server);
        var (otherProject, otherAdmin) = await server.CreateProjectAsync("elsewhere");
        await server.WriteSecretAsync(otherAdmin, otherProject, "x", "y");
        using var admin = server.CreateClient(server.AdminApiKey);
        var path = $"/accounts/projects/{server.ProjectId}/audit";

        var (code, page) = await admin.GetJsonAsync(path + "?after=0&limit=100");
        Assert.Equal(HttpStatusCode.OK, code);
        var entries = page["entries"]!.AsArray().Select(e => e!.AsObject()).ToList();
        Assert.Contains(entries, e => e["action"]!.GetValue<string>() == "secret.write" && e["target"]!.GetValue<string>() == "project/secret/s0");
        Assert.DoesNotContain(entries, e => e["target"]!.GetValue<string>() == "project/secret/x");
        Assert.Contains(entries, e => e["action"]!.GetValue<string>() == "auth.failure"); // server-wide, shown to the system project

        using (var elsewhere = server.CreateClient(otherAdmin))
        {
            var (_, otherPage) = await elsewhere.GetJsonAsync($"/accounts/projects/{otherProject}/audit");
            var otherEntries = otherPage["entries"]!.AsArray().Select(e => e!.AsObject()).ToList();
            Assert.Contains(otherEntries, e => e["target"]!.GetValue<string>() == "project/secret/x");
            Assert.DoesNotContain(otherEntries, e => e["action"]!.GetValue<string>() == "auth.failure");
            Assert.DoesNotContain(otherEntries, e => e["target"]!.GetValue<string>() == "project/secret/s0");
        }
        Assert.All(entries, e =>
        {
            foreach (var field in new[] { "sequence", "at", "actor", "action", "target", "outcome" })
            {
                Assert.True(e.ContainsKey(field), field);
            }

            Assert.EndsWith("Z", e["at"]!.GetValue<string>(), StringComparison.Ordinal);
        });
        var sequences = entries.Select(e => e["sequence"]!.GetValue<long>()).ToList();
        Assert.Equal(sequences.Order(), sequences);

        // Paging: limit, then after the last sequence seen.
        var (_, first) = await admin.GetJsonAsync(path + "?limit=3");
        var firstPage = first["entries"]!.AsArray().Select(e => e!["sequence"]!.GetValue<long>()).ToList();
        Assert.Equal(sequences.Take(3), firstPage);
        var (_, second) = await admin.GetJsonAsync(path + "?limit=3&after=" + firstPage[^1]);
        Assert.Equal(sequences.Skip(3).Take(3), second["entries"]!.AsArray().Select(e => e!["sequence"]!.GetValue<long>()));

        // Bad paging values.
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetJsonAsync(path + "?limit=0")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetJsonAsync(path + "?limit=1001")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetJsonAsync(path + "?after=-1")).Status);
    }

    [Fact]
    public async Task ProjectAudit_NonAdmin403_OtherProject404()
    {
        await using var server = await KeyroomTestServer.StartAsync();
        var path = $"/accounts/projects/{server.ProjectId}/audit";
        using (var developer = server.CreateClient(await server.CreateApiKeyAsync(server.ProjectId, ProjectRole.Developer, "dev")))
        {
            var (code, problem) = await developer.GetJsonAsync(path);
            Assert.Equal(HttpStatusCode.Forbidden, code);
            Assert.Equal("permission_denied", problem["code"]!.GetValue<string>());
        }

        var (_, otherAdmin) = await server.CreateProjectAsync("other");
        using (var other = server.CreateClient(otherAdmin))
        {
            var (code, problem) = await other.GetJsonAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, code);
            Assert.Equal("not_found", problem["code"]!.GetValue<string>());
        }

        using var anonymous = server.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetJsonAsync(path)).Status);
    }

    [Fact]
    public async Task OpenApi_DescribesTheAdminEndpoints()
    {
        await using var server = await KeyroomTestServer.StartAsync();
        using var client = server.CreateClient();
        var (code, document) = await client.GetJsonAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, code);
        var paths = document["paths"]!.AsObject();
        foreach (var path in new[] { "/admin/projects", "/admin/master-key", "/admin/master-key/rotate", "/admin/audit/verify", "/accounts/projects/{projectId}/audit" })
        {
            Assert.True(paths.ContainsKey(path), path);
        }

        Assert.Contains("AdminRotateMasterKey", document.ToJsonString(), StringComparison.Ordinal);
    }
}
