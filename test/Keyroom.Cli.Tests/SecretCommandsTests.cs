using System.Text.Json;
using Keyroom.Cli.Tests.Support;

namespace Keyroom.Cli.Tests;

public sealed class SecretCommandsTests(LiveServer server) : IClassFixture<LiveServer>
{
    [Fact]
    public async Task SecretKeyCreate_DataPairs_PrintsIdAndGetPrintsPairs()
    {
        using var cli = KeyroomCli.For(server);

        var created = await cli.RunAsync("secret", "key", "create", "--name", "stripe",
            "--data", "STRIPE_SECRET_KEY=sk_test_123 DATABASE_URL=postgres://db/app?sslmode=require", "GREETING=hello world");

        CliAssert.Succeeded(created);
        var id = created.Stdout.Trim();
        Assert.Matches("^[A-Za-z0-9-]+$", id);

        var get = await cli.RunAsync("secret", "key", "get", id);
        CliAssert.Succeeded(get);
        Assert.Equal(
            ["STRIPE_SECRET_KEY=sk_test_123", "DATABASE_URL=postgres://db/app?sslmode=require", "GREETING=hello world"],
            get.Stdout.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task SecretKeyCreate_RepeatedData_StoresAllPairs()
    {
        using var cli = KeyroomCli.For(server);

        var id = await CreateKeysAsync(cli, "repeated", "--data", "A=1", "--data", "B=2");

        var json = CliAssert.Json(await cli.RunAsync("secret", "key", "get", id, "--json"));
        Assert.Equal("1", json.GetProperty("data").GetProperty("A").GetString());
        Assert.Equal("2", json.GetProperty("data").GetProperty("B").GetString());
    }

    [Fact]
    public async Task SecretKeyCreate_Json_PrintsIdAndVersion1()
    {
        using var cli = KeyroomCli.For(server);

        var json = CliAssert.Json(await cli.RunAsync("secret", "key", "create", "--name", "j", "--data", "A=1", "--json"));

        Assert.False(string.IsNullOrEmpty(json.GetProperty("id").GetString()));
        Assert.Equal(1, json.GetProperty("version").GetInt32());
    }

    [Fact]
    public async Task SecretKeyUpdate_NewData_AddsVersionAndGetVersionReadsOld()
    {
        using var cli = KeyroomCli.For(server);
        var id = await CreateKeysAsync(cli, "versioned", "--data", "TOKEN=one");

        var updated = await cli.RunAsync("secret", "key", "update", "--secret-id", id, "--data", "TOKEN=two");
        CliAssert.Succeeded(updated);
        Assert.Contains("version 2", updated.Stdout, StringComparison.Ordinal);

        Assert.Equal("TOKEN=two\n", (await cli.RunAsync("secret", "key", "get", id)).Stdout);
        Assert.Equal("TOKEN=one\n", (await cli.RunAsync("secret", "key", "get", id, "--version", "1")).Stdout);

        var json = CliAssert.Json(await cli.RunAsync("secret", "key", "get", id, "--json"));
        Assert.Equal(2, json.GetProperty("version").GetInt32());
        Assert.Equal("versioned", json.GetProperty("name").GetString());
        Assert.Equal("keys", json.GetProperty("type").GetString());
    }

    [Fact]
    public async Task SecretKeyUpdate_NewName_RenamesSecret()
    {
        using var cli = KeyroomCli.For(server);
        var id = await CreateKeysAsync(cli, "before", "--data", "A=1");

        CliAssert.Succeeded(await cli.RunAsync("secret", "key", "update", "--secret-id", id, "--name", "after", "--data", "A=2"));

        var json = CliAssert.Json(await cli.RunAsync("secret", "key", "get", id, "--json"));
        Assert.Equal("after", json.GetProperty("name").GetString());
    }

    [Fact]
    public async Task SecretKeyCreate_DataFile_ReadsEnvFile()
    {
        using var cli = KeyroomCli.For(server);
        var file = Path.Combine(cli.Home, "secrets.env");
        await File.WriteAllTextAsync(file, "# runtime\nexport API_TOKEN=from-file\nMULTI=\"a b c\"\n", TestContext.Current.CancellationToken);

        var id = await CreateKeysAsync(cli, "from-file", "--data-file", file);

        Assert.Equal("API_TOKEN=from-file\nMULTI=a b c\n", (await cli.RunAsync("secret", "key", "get", id)).Stdout);
    }

    [Fact]
    public async Task SecretKeyUpdate_DataFileStdin_ReadsStdin()
    {
        using var cli = KeyroomCli.For(server);
        var id = await CreateKeysAsync(cli, "stdin", "--data", "A=1");

        var updated = await cli.RunWithInputAsync("STRIPE_SECRET_KEY=from-stdin\n", "secret", "key", "update", "--secret-id", id, "--data-file", "-");

        CliAssert.Succeeded(updated);
        Assert.Equal("STRIPE_SECRET_KEY=from-stdin\n", (await cli.RunAsync("secret", "key", "get", id)).Stdout);
    }

    [Fact]
    public async Task SecretKeyCreate_JsonDataFileOnStdin_ReadsObject()
    {
        using var cli = KeyroomCli.For(server);

        var created = await cli.RunWithInputAsync("""{"A":"1","B":"two words"}""", "secret", "key", "create", "--name", "json-stdin", "--data-file", "-");

        CliAssert.Succeeded(created);
        Assert.Equal("A=1\nB=two words\n", (await cli.RunAsync("secret", "key", "get", created.Stdout.Trim())).Stdout);
    }

    [Fact]
    public async Task SecretKeyCreate_DataAndDataFile_Exit2()
    {
        using var cli = KeyroomCli.For(server);

        var line = CliAssert.FailedWithOneLine(await cli.RunAsync("secret", "key", "create", "--name", "x", "--data", "A=1", "--data-file", "-"), 2);

        Assert.Contains("not both", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecretKeyCreate_InvalidEnvName_Exit2BeforeCallingServer()
    {
        using var cli = KeyroomCli.For(server);

        var line = CliAssert.FailedWithOneLine(await cli.RunAsync("secret", "key", "create", "--name", "never-created", "--data", "GOOD=1 9BAD=value-text"), 2);

        Assert.Contains("'9BAD' is not a valid environment variable name", line, StringComparison.Ordinal);
        Assert.DoesNotContain("value-text", line, StringComparison.Ordinal);
        Assert.DoesNotContain("never-created", (await cli.RunAsync("secret", "list")).Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecretList_AfterCreate_ShowsItInTableAndJson()
    {
        using var cli = KeyroomCli.For(server);
        var id = await CreateKeysAsync(cli, "listed-secret", "--data", "A=1");

        var table = await cli.RunAsync("secret", "list");
        CliAssert.Succeeded(table);
        Assert.StartsWith("ID", table.Stdout, StringComparison.Ordinal);
        Assert.Contains(table.Stdout.Split('\n'), line => line.StartsWith(id, StringComparison.Ordinal) && line.Contains("listed-secret", StringComparison.Ordinal));

        var json = CliAssert.Json(await cli.RunAsync("secret", "list", "--json"));
        var entry = json.GetProperty("secrets").EnumerateArray().Single(s => s.GetProperty("id").GetString() == id);
        Assert.Equal("keys", entry.GetProperty("type").GetString());
        Assert.False(entry.TryGetProperty("data_base64", out _));
    }

    [Fact]
    public async Task SecretDelete_Existing_RemovesItAndGetFails()
    {
        using var cli = KeyroomCli.For(server);
        var id = await CreateKeysAsync(cli, "doomed", "--data", "A=1");

        var deleted = CliAssert.Json(await cli.RunAsync("secret", "delete", id, "--json"));
        Assert.True(deleted.GetProperty("deleted").GetBoolean());

        CliAssert.FailedWithOneLine(await cli.RunAsync("secret", "key", "get", id), 1);
        Assert.DoesNotContain(id, (await cli.RunAsync("secret", "list")).Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecretVersions_AfterTwoUpdates_ListsNewestFirst()
    {
        using var cli = KeyroomCli.For(server);
        var id = await CreateKeysAsync(cli, "three-versions", "--data", "A=1");
        CliAssert.Succeeded(await cli.RunAsync("secret", "key", "update", "--secret-id", id, "--data", "A=2"));
        CliAssert.Succeeded(await cli.RunAsync("secret", "key", "update", "--secret-id", id, "--data", "A=3"));

        var json = CliAssert.Json(await cli.RunAsync("secret", "versions", id, "--json"));
        Assert.Equal([3, 2, 1], json.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetInt32()));

        var table = await cli.RunAsync("secret", "versions", id);
        CliAssert.Succeeded(table);
        Assert.Equal(4, table.Stdout.TrimEnd('\n').Split('\n').Length);
    }

    [Fact]
    public async Task SecretDockerCreate_PasswordStdin_StoresDockerCredentials()
    {
        using var cli = KeyroomCli.For(server);

        var created = await cli.RunWithInputAsync("s3cret-pw\n", "secret", "docker", "create", "--name", "registry",
            "--server", "registry.example.com", "--username", "bot", "--password-stdin");

        CliAssert.Succeeded(created);
        var json = CliAssert.Json(await cli.RunAsync("secret", "key", "get", created.Stdout.Trim(), "--json"));
        Assert.Equal("docker", json.GetProperty("type").GetString());
        var data = json.GetProperty("data");
        Assert.Equal("registry.example.com", data.GetProperty("server").GetString());
        Assert.Equal("bot", data.GetProperty("username").GetString());
        Assert.Equal("s3cret-pw", data.GetProperty("password").GetString());
    }

    [Fact]
    public async Task SecretDockerUpdate_SecretId_ReplacesCredentials()
    {
        using var cli = KeyroomCli.For(server);
        var id = (await cli.RunAsync("secret", "docker", "create", "--name", "reg", "--server", "a.example.com", "--username", "u1", "--password", "p1")).Stdout.Trim();

        var updated = await cli.RunAsync("secret", "docker", "update", "--secret-id", id, "--server", "b.example.com",
            "--username", "u2", "--password", "p2", "--email", "ops@example.com");

        CliAssert.Succeeded(updated);
        var data = CliAssert.Json(await cli.RunAsync("secret", "key", "get", id, "--json")).GetProperty("data");
        Assert.Equal("b.example.com", data.GetProperty("server").GetString());
        Assert.Equal("p2", data.GetProperty("password").GetString());
        Assert.Equal("ops@example.com", data.GetProperty("email").GetString());
    }

    [Fact]
    public async Task SecretDockerCreate_NoPassword_Exit2()
    {
        using var cli = KeyroomCli.For(server);

        CliAssert.FailedWithOneLine(await cli.RunAsync("secret", "docker", "create", "--name", "x", "--server", "r.example.com", "--username", "u"), 2);
    }

    [Fact]
    public async Task SecretKeyUpdate_OnDockerSecret_Exit1WithoutChangingIt()
    {
        using var cli = KeyroomCli.For(server);
        var id = (await cli.RunAsync("secret", "docker", "create", "--name", "reg", "--server", "a.example.com", "--username", "u", "--password", "p")).Stdout.Trim();

        var line = CliAssert.FailedWithOneLine(await cli.RunAsync("secret", "key", "update", "--secret-id", id, "--data", "A=1"), 1);

        Assert.Contains("'docker' secret", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecretAcrCreate_AzureServer_StoresDockerSecret()
    {
        using var cli = KeyroomCli.For(server);

        var created = await cli.RunWithInputAsync("acr-token", "secret", "acr", "create", "--name", "acr",
            "--server", "myregistry.azurecr.io", "--username", "00000000-sp", "--password-stdin");

        CliAssert.Succeeded(created);
        var id = created.Stdout.Trim();
        var data = CliAssert.Json(await cli.RunAsync("secret", "key", "get", id, "--json")).GetProperty("data");
        Assert.Equal("myregistry.azurecr.io", data.GetProperty("server").GetString());
        Assert.Equal("acr-token", data.GetProperty("password").GetString());

        CliAssert.Succeeded(await cli.RunAsync("secret", "acr", "update", "--secret-id", id, "--server", "other.azurecr.io", "--username", "u", "--password", "p2"));
        Assert.Equal("other.azurecr.io", CliAssert.Json(await cli.RunAsync("secret", "key", "get", id, "--json")).GetProperty("data").GetProperty("server").GetString());
    }

    [Fact]
    public async Task SecretAcrCreate_NonAzureServer_Exit2()
    {
        using var cli = KeyroomCli.For(server);

        var line = CliAssert.FailedWithOneLine(await cli.RunAsync("secret", "acr", "create", "--name", "acr", "--server", "registry.example.com", "--username", "u", "--password", "p"), 2);

        Assert.Contains(".azurecr.io", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecretGarCreate_JsonKeyFile_StoresJsonKeyUserAndFileAsPassword()
    {
        using var cli = KeyroomCli.For(server);
        var keyFile = Path.Combine(cli.Home, "sa.json");
        const string KeyJson = """{"type":"service_account","project_id":"p","private_key":"-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n"}""";
        await File.WriteAllTextAsync(keyFile, KeyJson, TestContext.Current.CancellationToken);

        var created = await cli.RunAsync("secret", "gar", "create", "--name", "gar", "--server", "europe-west1-docker.pkg.dev", "--json-key-file", keyFile);

        CliAssert.Succeeded(created);
        var id = created.Stdout.Trim();
        var data = CliAssert.Json(await cli.RunAsync("secret", "key", "get", id, "--json")).GetProperty("data");
        Assert.Equal("_json_key", data.GetProperty("username").GetString());
        Assert.Equal(KeyJson, data.GetProperty("password").GetString());
        Assert.Equal("europe-west1-docker.pkg.dev", data.GetProperty("server").GetString());

        var updated = await cli.RunWithInputAsync("""{"type":"service_account","private_key":"new"}""",
            "secret", "gar", "update", "--secret-id", id, "--server", "us-docker.pkg.dev", "--json-key-file", "-");
        CliAssert.Succeeded(updated);
        var after = CliAssert.Json(await cli.RunAsync("secret", "key", "get", id, "--json")).GetProperty("data");
        Assert.Equal("us-docker.pkg.dev", after.GetProperty("server").GetString());
        using var password = JsonDocument.Parse(after.GetProperty("password").GetString()!);
        Assert.Equal("new", password.RootElement.GetProperty("private_key").GetString());
    }

    [Fact]
    public async Task SecretGarCreate_KeyFileNotJson_Exit2WithoutContent()
    {
        using var cli = KeyroomCli.For(server);
        var keyFile = Path.Combine(cli.Home, "sa.json");
        await File.WriteAllTextAsync(keyFile, "not json gar-key-material", TestContext.Current.CancellationToken);

        var result = await cli.RunAsync("secret", "gar", "create", "--name", "gar", "--server", "europe-west1-docker.pkg.dev", "--json-key-file", keyFile);

        var line = CliAssert.FailedWithOneLine(result, 2);
        Assert.DoesNotContain("gar-key-material", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecretGarCreate_NonGarServer_Exit2()
    {
        using var cli = KeyroomCli.For(server);

        CliAssert.FailedWithOneLine(await cli.RunAsync("secret", "gar", "create", "--name", "gar", "--server", "gcr.io", "--json-key-file", "-"), 2);
    }

    private static async Task<string> CreateKeysAsync(KeyroomCli cli, string name, params string[] data)
    {
        var result = await cli.RunAsync(["secret", "key", "create", "--name", name, .. data]);
        CliAssert.Succeeded(result);
        return result.Stdout.Trim();
    }
}
