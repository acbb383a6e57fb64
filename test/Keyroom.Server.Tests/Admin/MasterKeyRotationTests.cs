using System.Net;
using System.Text.Json.Nodes;
using Keyroom.Core.Auth;
using Keyroom.Core.Crypto;
using Keyroom.Server.Hosting;
using Keyroom.Server.Tests.Support;
using static Keyroom.Server.Tests.Admin.AdminTestSupport;

namespace Keyroom.Server.Tests.Admin;

/// <summary>Online master key rotation through <c>/admin/master-key</c>, on real servers and real files.</summary>
public sealed class MasterKeyRotationTests
{
    private static string KeyFileOf(KeyroomTestServer server) => Path.Combine(server.DataDirectory, "master.key");

    private static string[] KeyLines(string path) => [.. MasterKeyLoader.ParseKeyLines(File.ReadAllText(path))];

    private static string KeyIdOf(string text)
    {
        using var key = MasterKey.Parse(text);
        return key.KeyId;
    }

    /// <summary>Secrets (two versions each) and a developer key, written before the rotation.</summary>
    private static async Task<(Dictionary<string, string> Values, string DeveloperKey)> SeedAsync(KeyroomTestServer server)
    {
        var values = new Dictionary<string, string>();
        for (var i = 0; i < 12; i++)
        {
            await server.WriteSecretAsync(server.AdminApiKey, server.ProjectId, "s" + i, "first-" + i);
            await server.WriteSecretAsync(server.AdminApiKey, server.ProjectId, "s" + i, "value-" + i);
            values["s" + i] = "value-" + i;
        }

        var developer = await server.CreateApiKeyAsync(server.ProjectId, ProjectRole.Developer, "dev");
        return (values, developer);
    }

    private static async Task AssertAllReadableAsync(KeyroomTestServer server, string apiKey, Dictionary<string, string> values)
    {
        foreach (var (id, value) in values)
        {
            Assert.Equal(value, await server.ReadSecretAsync(apiKey, server.ProjectId, id));
            Assert.Equal("first-" + id[1..], await server.ReadSecretAsync(apiKey, server.ProjectId, id, 1));
        }
    }

    [Fact]
    public async Task Rotate_DevelopmentKeyFile_EverythingReadable_FileHoldsOnlyNewKey_SurvivesRestart()
    {
        await using var server = await KeyroomTestServer.StartAsync();
        var (values, developerKey) = await SeedAsync(server);
        var oldKeyId = KeyIdOf(KeyLines(KeyFileOf(server)).Single());
        using var admin = server.CreateClient(server.AdminApiKey);

        var (statusCode, before) = await admin.GetJsonAsync("/admin/master-key");
        Assert.Equal(HttpStatusCode.OK, statusCode);
        Assert.Equal("development_key_file", before["source"]!.GetValue<string>());
        Assert.Equal(oldKeyId, before["active_key_id"]!.GetValue<string>());
        Assert.Equal([oldKeyId], before["key_ids_in_use"].Strings());

        var (rotateCode, rotated) = await admin.PostJsonAsync("/admin/master-key/rotate", new JsonObject());
        Assert.Equal(HttpStatusCode.OK, rotateCode);
        var newKeyId = rotated["active_key_id"]!.GetValue<string>();
        Assert.NotEqual(oldKeyId, newKeyId);
        Assert.Equal(oldKeyId, rotated["previous_key_id"]!.GetValue<string>());
        // 24 secret versions + 2 API keys + the sealed meta values (key check, audit MAC key, system project).
        Assert.True(rotated["rewrapped"]!.GetValue<int>() >= 24 + 2 + 3, rotated.ToJsonString());
        Assert.Equal([oldKeyId], rotated["unused_previous_key_ids"].Strings());

        // Every value still reads; the key file now holds only the new key.
        await AssertAllReadableAsync(server, developerKey, values);
        var lines = KeyLines(KeyFileOf(server));
        Assert.Equal(newKeyId, KeyIdOf(Assert.Single(lines)));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyFileOf(server)));
        }

        var (_, after) = await admin.GetJsonAsync("/admin/master-key");
        Assert.Equal(newKeyId, after["active_key_id"]!.GetValue<string>());
        Assert.Equal([newKeyId], after["key_ids_in_use"].Strings());
        Assert.Equal([newKeyId], after["held_key_ids"].Strings());

        // Writes after the rotation use the new key.
        await server.WriteSecretAsync(server.AdminApiKey, server.ProjectId, "after", "written-after");
        values["after"] = "written-after";

        // Restart on the same directory: only the new key is loaded, and everything opens.
        await server.StopAsync();
        await using var restarted = await KeyroomTestServer.StartAsync(server.DataDirectory);
        foreach (var (id, value) in values)
        {
            Assert.Equal(value, await restarted.ReadSecretAsync(developerKey, restarted.ProjectId, id));
        }

        using var adminAgain = restarted.CreateClient(server.AdminApiKey);
        var (restartCode, status) = await adminAgain.GetJsonAsync("/admin/master-key");
        Assert.Equal(HttpStatusCode.OK, restartCode);
        Assert.Equal(newKeyId, status["active_key_id"]!.GetValue<string>());
        Assert.Equal([newKeyId], status["key_ids_in_use"].Strings());

        // The rotation was audited, and the chain is intact across the restart.
        var audit = await restarted.ReadAuditTextAsync();
        Assert.Contains("master_key.rotate master-key/" + newKeyId + " ok", audit, StringComparison.Ordinal);
        var (_, verify) = await adminAgain.GetJsonAsync("/admin/audit/verify");
        Assert.True(verify["intact"]!.GetValue<bool>(), verify.ToJsonString());
    }

    [Fact]
    public async Task Rotate_Twice_KeyFileSource_OnlyLatestKeyRemains()
    {
        var directory = Path.Combine(Path.GetTempPath(), "keyroom-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var keyFile = Path.Combine(directory, "keys", "master.keys");
        Directory.CreateDirectory(Path.GetDirectoryName(keyFile)!);
        var (first, firstText) = MasterKey.Generate();
        first.Dispose();
        MasterKeyLoader.WritePrivateFile(keyFile, MasterKeyLoader.FormatKeyFile([firstText]));
        var settings = new Dictionary<string, string?> { ["Keyroom:MasterKeyFile"] = keyFile };

        await using var server = await KeyroomTestServer.StartAsync(directory, settings);
        var (values, developerKey) = await SeedAsync(server);
        using var admin = server.CreateClient(server.AdminApiKey);
        Assert.Equal("key_file", (await admin.GetJsonAsync("/admin/master-key")).Body["source"]!.GetValue<string>());

        var (code1, one) = await admin.PostJsonAsync("/admin/master-key/rotate", new JsonObject());
        var (code2, two) = await admin.PostJsonAsync("/admin/master-key/rotate", new JsonObject());
        Assert.Equal(HttpStatusCode.OK, code1);
        Assert.Equal(HttpStatusCode.OK, code2);
        Assert.Equal(one["active_key_id"]!.GetValue<string>(), two["previous_key_id"]!.GetValue<string>());
        Assert.Equal(two["active_key_id"]!.GetValue<string>(), KeyIdOf(Assert.Single(KeyLines(keyFile))));
        Assert.False(File.Exists(Path.Combine(server.DataDirectory, "master.key")));

        await server.StopAsync();
        await using var restarted = await KeyroomTestServer.StartAsync(directory, settings);
        await AssertAllReadableAsync(restarted, developerKey, values);
    }

    [Fact]
    public async Task Rotate_ConfiguredKeys_RewrapsToConfiguredKey_AndReportsRemovablePrevious()
    {
        var (oldKey, oldText) = MasterKey.Generate();
        var (newKey, newText) = MasterKey.Generate();
        var oldKeyId = oldKey.KeyId;
        var newKeyId = newKey.KeyId;
        oldKey.Dispose();
        newKey.Dispose();

        await using var server = await KeyroomTestServer.StartAsync(settings: new Dictionary<string, string?> { ["Keyroom:MasterKey"] = oldText });
        var (values, developerKey) = await SeedAsync(server);
        await server.StopAsync();

        // The operator makes the new key active and lists the old one as previous, then asks for the re-wrap.
        await using var second = await KeyroomTestServer.StartAsync(server.DataDirectory, new Dictionary<string, string?>
        {
            ["Keyroom:MasterKey"] = newText,
            ["Keyroom:PreviousMasterKeys"] = oldText,
        });
        using var admin = second.CreateClient(second.AdminApiKey);
        var (_, before) = await admin.GetJsonAsync("/admin/master-key");
        Assert.Equal("configuration", before["source"]!.GetValue<string>());
        Assert.Contains(oldKeyId, before["key_ids_in_use"].Strings());

        var (code, rotated) = await admin.PostJsonAsync("/admin/master-key/rotate", new JsonObject());
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(newKeyId, rotated["active_key_id"]!.GetValue<string>());
        Assert.Equal(oldKeyId, rotated["previous_key_id"]!.GetValue<string>());
        Assert.Equal([oldKeyId], rotated["unused_previous_key_ids"].Strings());
        Assert.Equal([newKeyId], (await admin.GetJsonAsync("/admin/master-key")).Body["key_ids_in_use"].Strings());
        Assert.False(File.Exists(Path.Combine(second.DataDirectory, "master.key")));
        await second.StopAsync();

        // The old key can now be dropped from the configuration.
        await using var third = await KeyroomTestServer.StartAsync(server.DataDirectory, new Dictionary<string, string?> { ["Keyroom:MasterKey"] = newText });
        await AssertAllReadableAsync(third, developerKey, values);
    }

    [Fact]
    public async Task Rotate_WhileSecretsAreWritten_NoWriteIsLostOrLeftUnderTheOldKey()
    {
        await using var server = await KeyroomTestServer.StartAsync();
        using var admin = server.CreateClient(server.AdminApiKey);
        var latest = new System.Collections.Concurrent.ConcurrentDictionary<string, string>();
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var id = "w" + w + "-" + (n % 10);
                var value = "v" + n;
                await server.WriteSecretAsync(server.AdminApiKey, server.ProjectId, id, value);
                latest[id] = value;
            }
        }, Ct)).ToArray();

        await Task.Delay(100, Ct);
        var (code, rotated) = await admin.PostJsonAsync("/admin/master-key/rotate", new JsonObject());
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        Assert.Equal(HttpStatusCode.OK, code);
        var newKeyId = rotated["active_key_id"]!.GetValue<string>();
        Assert.Equal([newKeyId], (await admin.GetJsonAsync("/admin/master-key")).Body["key_ids_in_use"].Strings());

        await server.StopAsync();
        await using var restarted = await KeyroomTestServer.StartAsync(server.DataDirectory);
        foreach (var (id, value) in latest)
        {
            Assert.Equal(value, await restarted.ReadSecretAsync(restarted.AdminApiKey, restarted.ProjectId, id));
        }
    }

    [Fact]
    public async Task Rotate_TwoAtOnce_OneRunsTheOtherConflictsOrFollows()
    {
        await using var server = await KeyroomTestServer.StartAsync();
        var (values, developerKey) = await SeedAsync(server);
        using var a = server.CreateClient(server.AdminApiKey);
        using var b = server.CreateClient(server.AdminApiKey);

        var results = await Task.WhenAll(
            a.PostJsonAsync("/admin/master-key/rotate", new JsonObject()),
            b.PostJsonAsync("/admin/master-key/rotate", new JsonObject()));

        Assert.Contains(results, r => r.Status == HttpStatusCode.OK);
        Assert.All(results, r => Assert.True(
            r.Status == HttpStatusCode.OK || (r.Status == HttpStatusCode.Conflict && r.Body["code"]!.GetValue<string>() == "conflict"),
            r.Body.ToJsonString()));
        var active = (await a.GetJsonAsync("/admin/master-key")).Body["active_key_id"]!.GetValue<string>();
        Assert.Equal(active, KeyIdOf(Assert.Single(KeyLines(KeyFileOf(server)))));
        await AssertAllReadableAsync(server, developerKey, values);
    }

    [Fact]
    public async Task Start_WithWrongMasterKey_RefusesToStart()
    {
        await using var server = await KeyroomTestServer.StartAsync();
        await server.WriteSecretAsync(server.AdminApiKey, server.ProjectId, "s", "v");
        await server.StopAsync();
        var (other, otherText) = MasterKey.Generate();
        other.Dispose();

        await using var app = KeyroomHost.Build(
        [
            "--urls", "http://127.0.0.1:0",
            "--Keyroom:DataDirectory=" + server.DataDirectory,
            "--Keyroom:MasterKey=" + otherText,
        ]);
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync(Ct));

        Assert.StartsWith("Refusing to start", ex.Message, StringComparison.Ordinal);
        Assert.Contains(KeyIdOf(KeyLines(KeyFileOf(server)).Single()), ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(otherText, ex.Message, StringComparison.Ordinal);
    }
}
