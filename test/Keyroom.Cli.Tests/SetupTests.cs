using System.Text.Json;
using Keyroom.Cli.Tests.Support;

namespace Keyroom.Cli.Tests;

public sealed class SetupTests(LiveServer server) : IClassFixture<LiveServer>
{
    [Fact]
    public async Task Setup_UrlAndApiKey_WritesConfig0600AndPrintsProjectAndRole()
    {
        using var cli = new KeyroomCli();

        var result = await cli.RunAsync("setup", "--url", server.BaseUrl.ToString(), "--api-key", server.AdminApiKey);

        CliAssert.Succeeded(result);
        Assert.Contains(server.ProjectId, result.Stdout, StringComparison.Ordinal);
        Assert.Contains("admin", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(server.AdminApiKey, result.Stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(cli.ConfigPath));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(cli.ConfigPath));
        }

        using var config = JsonDocument.Parse(await File.ReadAllTextAsync(cli.ConfigPath, TestContext.Current.CancellationToken));
        Assert.Equal(server.AdminApiKey, config.RootElement.GetProperty("api_key").GetString());
        Assert.Equal(server.BaseUrl.ToString().TrimEnd('/'), config.RootElement.GetProperty("url").GetString());

        // Later commands use the saved file.
        CliAssert.Succeeded(await cli.RunAsync("secret", "list"));
    }

    [Fact]
    public async Task Setup_Json_PrintsParsableResult()
    {
        using var cli = new KeyroomCli();

        var json = CliAssert.Json(await cli.RunAsync("setup", "--json", "--url", server.BaseUrl.ToString(), "--api-key", server.AdminApiKey));

        Assert.Equal(server.ProjectId, json.GetProperty("project_id").GetString());
        Assert.Equal("admin", json.GetProperty("role").GetString());
        Assert.Equal(cli.ConfigPath, json.GetProperty("config_path").GetString());
    }

    [Fact]
    public async Task Setup_WrongSecretInKey_Exit1AndWritesNothing()
    {
        using var cli = new KeyroomCli();
        var lastDash = server.AdminApiKey.LastIndexOf('-');
        var wrongKey = server.AdminApiKey[..(lastDash + 1)] + "not-the-right-secret";

        var result = await cli.RunAsync("setup", "--url", server.BaseUrl.ToString(), "--api-key", wrongKey);

        var line = CliAssert.FailedWithOneLine(result, 1);
        Assert.Contains("HTTP 401", line, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-right-secret", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(cli.ConfigPath));
    }

    [Fact]
    public async Task Setup_NoKeyAndStdinNotTerminal_Exit2WithoutPrompting()
    {
        using var cli = new KeyroomCli();

        var result = await cli.RunAsync("setup", "--url", server.BaseUrl.ToString());

        var line = CliAssert.FailedWithOneLine(result, 2);
        Assert.Contains("--api-key", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Setup_KeyFromEnvironment_ReadsKeyroomApiKey()
    {
        using var cli = new KeyroomCli();
        cli.Environment["KEYROOM_API_KEY"] = server.AdminApiKey;

        CliAssert.Succeeded(await cli.RunAsync("setup", "--url", server.BaseUrl.ToString()));

        Assert.True(File.Exists(cli.ConfigPath));
    }

    [Fact]
    public async Task Setup_NoKeyroomConfig_WritesUnderXdgConfigHome()
    {
        using var cli = new KeyroomCli();
        var xdg = Path.Combine(cli.Home, "xdg");
        cli.Environment["KEYROOM_CONFIG"] = null;
        cli.Environment["XDG_CONFIG_HOME"] = xdg;

        CliAssert.Succeeded(await cli.RunAsync("setup", "--url", server.BaseUrl.ToString(), "--api-key", server.AdminApiKey));

        Assert.True(File.Exists(Path.Combine(xdg, "keyroom", "config.json")));
    }

    [Fact]
    public async Task Setup_NoKeyroomConfigNorXdg_WritesUnderHomeDotConfig()
    {
        using var cli = new KeyroomCli();
        cli.Environment["KEYROOM_CONFIG"] = null;

        CliAssert.Succeeded(await cli.RunAsync("setup", "--url", server.BaseUrl.ToString(), "--api-key", server.AdminApiKey));

        Assert.True(File.Exists(Path.Combine(cli.Home, ".config", "keyroom", "config.json")));
    }

    [Fact]
    public async Task Settings_EnvironmentVariables_OverrideConfigFile()
    {
        using var cli = new KeyroomCli();
        Directory.CreateDirectory(Path.GetDirectoryName(cli.ConfigPath)!);
        await File.WriteAllTextAsync(cli.ConfigPath, """{"url":"http://127.0.0.1:1","api_key":"ma-broken"}""", TestContext.Current.CancellationToken);

        // The file alone fails: its URL refuses connections.
        var fromFile = await cli.RunAsync("secret", "list");
        Assert.NotEqual(0, fromFile.ExitCode);

        cli.Environment["KEYROOM_URL"] = server.BaseUrl.ToString();
        cli.Environment["MESHAGENT_API_KEY"] = server.AdminApiKey;
        CliAssert.Succeeded(await cli.RunAsync("secret", "list"));
    }

    [Fact]
    public async Task Settings_ProjectFlag_OverridesKeysProject()
    {
        using var cli = KeyroomCli.For(server);

        var result = await cli.RunAsync("secret", "list", "--project", Guid.NewGuid().ToString());

        // Another project's resources are 404 (never 403).
        var line = CliAssert.FailedWithOneLine(result, 1);
        Assert.Contains("HTTP 404", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnyCommand_NoApiKeyAnywhere_Exit2NamingSetup()
    {
        using var cli = new KeyroomCli();

        var line = CliAssert.FailedWithOneLine(await cli.RunAsync("secret", "list"), 2);

        Assert.Contains("keyroom setup", line, StringComparison.Ordinal);
    }
}
