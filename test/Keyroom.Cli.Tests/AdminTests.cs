using Keyroom.Cli.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Keyroom.Cli.Tests;

public sealed class AdminTests(LiveServer server) : IClassFixture<LiveServer>
{
    [Fact]
    public async Task AdminAuditVerify_UntouchedChain_Exit0Intact()
    {
        using var cli = KeyroomCli.For(server);
        CliAssert.Succeeded(await cli.RunAsync("secret", "key", "create", "--name", "audited", "--data", "A=1"));

        var human = await cli.RunAsync("admin", "audit", "verify");
        CliAssert.Succeeded(human);
        Assert.Contains("intact", human.Stdout, StringComparison.Ordinal);

        var json = CliAssert.Json(await cli.RunAsync("admin", "audit", "verify", "--json"));
        Assert.True(json.GetProperty("intact").GetBoolean());
        Assert.True(json.GetProperty("checked").GetInt64() > 0);
    }

    [Fact]
    public async Task AdminAuditVerify_TamperedEntry_Exit1()
    {
        await using var tampered = new LiveServer();
        await tampered.InitializeAsync();
        using var cli = KeyroomCli.For(tampered);
        CliAssert.Succeeded(await cli.RunAsync("secret", "key", "create", "--name", "a", "--data", "A=1"));
        CliAssert.Succeeded(await cli.RunAsync("admin", "audit", "verify"));

        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(tampered.DataDirectory, "keyroom.db")};Pooling=False"))
        {
            await connection.OpenAsync(TestContext.Current.CancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE audit SET actor = 'someone-else' WHERE seq = (SELECT MIN(seq) FROM audit)";
            Assert.Equal(1, await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken));
        }

        var result = await cli.RunAsync("admin", "audit", "verify", "--json");

        Assert.Equal(1, result.ExitCode);
        using var json = System.Text.Json.JsonDocument.Parse(result.Stdout);
        Assert.False(json.RootElement.GetProperty("intact").GetBoolean());
        var line = Assert.Single(result.StderrLines);
        Assert.Contains("NOT intact", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminAuditList_AfterActions_ShowsEntries()
    {
        using var cli = KeyroomCli.For(server);
        CliAssert.Succeeded(await cli.RunAsync("secret", "key", "create", "--name", "for-audit", "--data", "A=1"));

        var json = CliAssert.Json(await cli.RunAsync("admin", "audit", "list", "--json"));
        var entries = json.GetProperty("entries").EnumerateArray().ToList();
        Assert.Contains(entries, e => e.GetProperty("action").GetString() == "secret.create");

        var first = entries[0].GetProperty("sequence").GetInt64();
        var page = CliAssert.Json(await cli.RunAsync("admin", "audit", "list", "--after", first.ToString(System.Globalization.CultureInfo.InvariantCulture), "--limit", "1", "--json"));
        var only = Assert.Single(page.GetProperty("entries").EnumerateArray());
        Assert.True(only.GetProperty("sequence").GetInt64() > first);

        var table = await cli.RunAsync("admin", "audit", "list");
        CliAssert.Succeeded(table);
        Assert.StartsWith("SEQ", table.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminProjectCreate_NewProject_ItsAdminKeyWorksInIt()
    {
        using var cli = KeyroomCli.For(server);

        var created = CliAssert.Json(await cli.RunAsync("admin", "project", "create", "--name", "team-b", "--json"));
        var projectId = created.GetProperty("id").GetString()!;
        var key = created.GetProperty("admin_api_key").GetString()!;

        Assert.Contains(projectId, (await cli.RunAsync("admin", "project", "list")).Stdout, StringComparison.Ordinal);
        using var teamB = KeyroomCli.For(server, key);
        var setup = CliAssert.Json(await teamB.RunAsync("setup", "--url", server.BaseUrl.ToString(), "--json"));
        Assert.Equal(projectId, setup.GetProperty("project_id").GetString());
        Assert.Equal("admin", setup.GetProperty("role").GetString());
    }

    [Fact]
    public async Task AdminMasterKey_StatusAndRotate_ReportKeyIds()
    {
        using var cli = KeyroomCli.For(server);
        CliAssert.Succeeded(await cli.RunAsync("secret", "key", "create", "--name", "wrapped", "--data", "A=1"));

        var before = CliAssert.Json(await cli.RunAsync("admin", "master-key", "status", "--json"));
        var rotation = CliAssert.Json(await cli.RunAsync("admin", "rotate-master-key", "--json"));
        var after = CliAssert.Json(await cli.RunAsync("admin", "master-key", "status", "--json"));

        Assert.Equal(before.GetProperty("active_key_id").GetString(), rotation.GetProperty("previous_key_id").GetString());
        Assert.Equal(rotation.GetProperty("active_key_id").GetString(), after.GetProperty("active_key_id").GetString());
        Assert.NotEqual(before.GetProperty("active_key_id").GetString(), after.GetProperty("active_key_id").GetString());
        CliAssert.Succeeded(await cli.RunAsync("admin", "master-key", "status"));
    }

    [Fact]
    public async Task AdminProjectList_NonSystemProjectKey_Exit1()
    {
        using var cli = KeyroomCli.For(server);
        var key = CliAssert.Json(await cli.RunAsync("admin", "project", "create", "--name", "plain", "--json")).GetProperty("admin_api_key").GetString()!;

        using var other = KeyroomCli.For(server, key);
        CliAssert.FailedWithOneLine(await other.RunAsync("admin", "project", "list"), 1);
    }
}
