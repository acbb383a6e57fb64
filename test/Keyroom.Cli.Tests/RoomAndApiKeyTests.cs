using Keyroom.Cli.Tests.Support;

namespace Keyroom.Cli.Tests;

public sealed class RoomAndApiKeyTests(LiveServer server) : IClassFixture<LiveServer>
{
    [Fact]
    public async Task Room_CreateListDelete_RoundTrips()
    {
        using var cli = KeyroomCli.For(server);
        var name = "room-" + Guid.NewGuid().ToString("N")[..8];

        var created = CliAssert.Json(await cli.RunAsync("room", "create", "--name", name, "--json"));
        Assert.Equal(name, created.GetProperty("name").GetString());

        var again = CliAssert.FailedWithOneLine(await cli.RunAsync("room", "create", "--name", name), 1);
        Assert.Contains("HTTP 409", again, StringComparison.Ordinal);
        CliAssert.Succeeded(await cli.RunAsync("room", "create", "--name", name, "--if-not-exists"));

        var table = await cli.RunAsync("room", "list");
        CliAssert.Succeeded(table);
        Assert.Contains(name, table.Stdout, StringComparison.Ordinal);
        var listed = CliAssert.Json(await cli.RunAsync("room", "list", "--json"));
        Assert.Contains(listed.GetProperty("rooms").EnumerateArray(), r => r.GetProperty("name").GetString() == name);

        CliAssert.Succeeded(await cli.RunAsync("room", "delete", name));
        Assert.DoesNotContain(name, (await cli.RunAsync("room", "list")).Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RoomConnect_Room_PrintsJwtAndWebSocketUrl()
    {
        using var cli = KeyroomCli.For(server);

        var human = await cli.RunAsync("room", "connect", "--room", "support");
        CliAssert.Succeeded(human);
        Assert.Contains("ws://", human.Stdout, StringComparison.Ordinal);
        Assert.Contains("eyJ", human.Stdout, StringComparison.Ordinal);

        var json = CliAssert.Json(await cli.RunAsync("room", "connect", "--room", "support", "--json"));
        Assert.Equal(3, json.GetProperty("jwt").GetString()!.Split('.').Length);
        Assert.Equal("support", json.GetProperty("room_name").GetString());
        Assert.Equal(server.ProjectId, json.GetProperty("project_id").GetString());
        Assert.EndsWith("/rooms/support", json.GetProperty("room_url").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApiKeyCreate_DeveloperRole_KeyWorksUntilDeleted()
    {
        using var admin = KeyroomCli.For(server);

        var created = CliAssert.Json(await admin.RunAsync("apikey", "create", "--name", "ci", "--role", "developer", "--description", "CI runner", "--json"));
        var keyId = created.GetProperty("id").GetString()!;
        var value = created.GetProperty("value").GetString()!;
        Assert.StartsWith("ma-", value, StringComparison.Ordinal);
        Assert.Equal("developer", created.GetProperty("role").GetString());

        var listed = CliAssert.Json(await admin.RunAsync("apikey", "list", "--json"));
        var entry = listed.GetProperty("tokens").EnumerateArray().Single(t => t.GetProperty("id").GetString() == keyId);
        Assert.False(entry.TryGetProperty("value", out _));
        Assert.Contains("ci", (await admin.RunAsync("apikey", "list")).Stdout, StringComparison.Ordinal);

        using var developer = KeyroomCli.For(server, value);
        CliAssert.Succeeded(await developer.RunAsync("secret", "key", "create", "--name", "by-ci", "--data", "A=1"));
        CliAssert.FailedWithOneLine(await developer.RunAsync("apikey", "list"), 1);

        CliAssert.Succeeded(await admin.RunAsync("apikey", "delete", keyId));
        var revoked = CliAssert.FailedWithOneLine(await developer.RunAsync("secret", "list"), 1);
        Assert.Contains("HTTP 401", revoked, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApiKeyCreate_MemberRole_CannotReadSecrets()
    {
        using var admin = KeyroomCli.For(server);
        var member = CliAssert.Json(await admin.RunAsync("apikey", "create", "--name", "viewer", "--role", "member", "--json")).GetProperty("value").GetString()!;

        using var cli = KeyroomCli.For(server, member);
        var line = CliAssert.FailedWithOneLine(await cli.RunAsync("secret", "list"), 1);

        Assert.Contains("permission_denied, HTTP 403", line, StringComparison.Ordinal);
        CliAssert.Succeeded(await cli.RunAsync("room", "list"));
    }
}
