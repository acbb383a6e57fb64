using System.Text;
using Keyroom.Cli.Tests.Support;

namespace Keyroom.Cli.Tests;

public sealed class RoomSecretCommandsTests(LiveServer server) : IClassFixture<LiveServer>
{
    private const string Canary = "CANARY-room-secret-7f3a9c2e";

    private static readonly byte[] Binary = [0x00, 0xFF, 0x01, 0xFE, 0x0A, 0x0D, 0x00, 0x80, 0x7F, 0xFF, 0x00];

    [Fact]
    public async Task RoomSecretSet_Text_GetToStdoutReturnsExactBytes()
    {
        using var cli = KeyroomCli.For(server);
        var room = NewRoom();

        var set = await cli.RunAsync("room", "secret", "set", "--room", room, "--id", "greeting", "--text", "hello world\n");
        CliAssert.Succeeded(set);
        Assert.Equal("greeting\n", set.Stdout);

        var get = await cli.RunBinaryAsync(null, "room", "secret", "get", "--room", room, "--id", "greeting");
        AssertSucceeded(get);
        Assert.Equal(Encoding.UTF8.GetBytes("hello world\n"), get.Stdout);
    }

    [Fact]
    public async Task RoomSecretSet_Base64Binary_GetToOutFileWritesExactBytesWithMode0600()
    {
        using var cli = KeyroomCli.For(server);
        var room = NewRoom();
        CliAssert.Succeeded(await cli.RunAsync("room", "secret", "set", "--room", room, "--id", "bin", "--type", "application/octet-stream",
            "--base64", Convert.ToBase64String(Binary)));

        var path = Path.Combine(cli.Home, "out.bin");
        var get = await cli.RunBinaryAsync(null, "room", "secret", "get", "--room", room, "--id", "bin", "--out", path);

        AssertSucceeded(get);
        Assert.Empty(get.Stdout);
        Assert.Equal(Binary, await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
    }

    [Fact]
    public async Task RoomSecretSet_InFileLargeBinary_GetToStdoutAndOutFileReturnExactBytes()
    {
        using var cli = KeyroomCli.For(server);
        var room = NewRoom();
        var value = LargeValue();
        var input = Path.Combine(cli.Home, "in.bin");
        await File.WriteAllBytesAsync(input, value, TestContext.Current.CancellationToken);

        CliAssert.Succeeded(await cli.RunAsync("room", "secret", "set", "--room", room, "--id", "large", "--in", input));

        var stdout = await cli.RunBinaryAsync(null, "room", "secret", "get", "--room", room, "--id", "large");
        AssertSucceeded(stdout);
        Assert.Equal(value, stdout.Stdout);

        var output = Path.Combine(cli.Home, "out.bin");
        File.WriteAllText(output, "previous, longer content that must be replaced entirely ........................");
        AssertSucceeded(await cli.RunBinaryAsync(null, "room", "secret", "get", "--room", room, "--id", "large", "--out", output));
        Assert.Equal(value, await File.ReadAllBytesAsync(output, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task RoomSecretSet_InStdinBinary_GetReturnsExactBytes()
    {
        using var cli = KeyroomCli.For(server);
        var room = NewRoom();
        var value = LargeValue();

        var set = await cli.RunBinaryAsync(value, "room", "secret", "set", "--room", room, "--id", "piped", "-i", "-");
        AssertSucceeded(set);

        var get = await cli.RunBinaryAsync(null, "room", "secret", "get", "--room", room, "--id", "piped");
        AssertSucceeded(get);
        Assert.Equal(value, get.Stdout);

        AssertSucceeded(await cli.RunBinaryAsync(Binary, "room", "secret", "set", "--room", room, "--id", "small", "--in", "-"));
        Assert.Equal(Binary, (await cli.RunBinaryAsync(null, "room", "secret", "get", "--room", room, "--id", "small")).Stdout);
    }

    [Fact]
    public async Task RoomSecretList_AfterSet_ShowsIdNameTypeAndDelegatedTo()
    {
        using var cli = KeyroomCli.For(server);
        var room = NewRoom();
        CliAssert.Succeeded(await cli.RunAsync("room", "secret", "list", "--room", room));
        Assert.Equal("No room secrets\n", (await cli.RunAsync("room", "secret", "list", "--room", room)).Stdout);
        CliAssert.Succeeded(await cli.RunAsync("room", "secret", "set", "--room", room, "--id", "s1", "--name", "first", "--type", "text/plain", "--text", "a"));
        CliAssert.Succeeded(await cli.RunAsync("room", "secret", "set", "--room", room, "--id", "s2", "--name", "second", "--type", "text/plain",
            "--delegated-to", "agent-1", "--text", "b"));

        var table = await cli.RunAsync("room", "secret", "list", "--room", room);
        CliAssert.Succeeded(table);
        var lines = table.Stdout.TrimEnd('\n').Split('\n');
        Assert.Equal(["ID", "NAME", "TYPE", "DELEGATED_TO"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["s1", "first", "text/plain"]);
        Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["s2", "second", "text/plain", "agent-1"]);

        var json = CliAssert.Json(await cli.RunAsync("room", "secret", "list", "--room", room, "--json"));
        var secrets = json.GetProperty("secrets").EnumerateArray().ToList();
        Assert.Equal(2, secrets.Count);
        var second = secrets.Single(s => s.GetProperty("id").GetString() == "s2");
        Assert.Equal("second", second.GetProperty("name").GetString());
        Assert.Equal("text/plain", second.GetProperty("type").GetString());
        Assert.Equal("agent-1", second.GetProperty("delegated_to").GetString());
    }

    [Fact]
    public async Task RoomSecretDelete_ExistingSecret_ExistsTurnsFalse()
    {
        using var cli = KeyroomCli.For(server);
        var room = NewRoom();
        Assert.Equal("false\n", (await cli.RunAsync("room", "secret", "exists", "--room", room, "--id", "gone")).Stdout);
        CliAssert.Succeeded(await cli.RunAsync("room", "secret", "set", "--room", room, "--id", "gone", "--text", "x"));

        var exists = await cli.RunAsync("room", "secret", "exists", "--room", room, "--id", "gone");
        CliAssert.Succeeded(exists);
        Assert.Equal("true\n", exists.Stdout);
        Assert.True(CliAssert.Json(await cli.RunAsync("room", "secret", "exists", "--room", room, "--id", "gone", "--json")).GetProperty("exists").GetBoolean());

        var delete = await cli.RunAsync("room", "secret", "delete", "gone", "--room", room);
        CliAssert.Succeeded(delete);
        Assert.Contains("gone", delete.Stdout, StringComparison.Ordinal);

        var after = await cli.RunAsync("room", "secret", "exists", "--room", room, "--id", "gone");
        CliAssert.Succeeded(after);
        Assert.Equal("false\n", after.Stdout);
        Assert.False(CliAssert.Json(await cli.RunAsync("room", "secret", "exists", "--room", room, "--id", "gone", "--json")).GetProperty("exists").GetBoolean());
    }

    [Fact]
    public async Task RoomSecretSet_DelegatedTo_OnlyReadableWithSameDelegate()
    {
        using var cli = KeyroomCli.For(server);
        var room = NewRoom();
        CliAssert.Succeeded(await cli.RunAsync("room", "secret", "set", "--room", room, "--id", "d", "--delegated-to", "agent-7", "--text", "delegated"));

        var get = await cli.RunBinaryAsync(null, "room", "secret", "get", "--room", room, "--id", "d", "--delegated-to", "agent-7");
        AssertSucceeded(get);
        Assert.Equal("delegated"u8.ToArray(), get.Stdout);
        Assert.Equal("true\n", (await cli.RunAsync("room", "secret", "exists", "--room", room, "--id", "d", "--delegated-to", "agent-7")).Stdout);
        Assert.Equal("false\n", (await cli.RunAsync("room", "secret", "exists", "--room", room, "--id", "d")).Stdout);
        CliAssert.FailedWithOneLine(await cli.RunAsync("room", "secret", "get", "--room", room, "--id", "d"), 1);

        CliAssert.Succeeded(await cli.RunAsync("room", "secret", "delete", "d", "--room", room, "--delegated-to", "agent-7"));
        Assert.Equal("false\n", (await cli.RunAsync("room", "secret", "exists", "--room", room, "--id", "d", "--delegated-to", "agent-7")).Stdout);
    }

    [Fact]
    public async Task RoomSecretSet_ForIdentityWithAdminKey_StoresForThatIdentity()
    {
        using var cli = KeyroomCli.For(server);
        var room = NewRoom();

        var set = await cli.RunAsync("room", "secret", "set", "--room", room, "--id", "theirs", "--for-identity", "someone-else", "--text", "v");
        CliAssert.Succeeded(set);

        Assert.Equal("true\n", (await cli.RunAsync("room", "secret", "exists", "--room", room, "--id", "theirs", "--for-identity", "someone-else")).Stdout);
        Assert.Equal("false\n", (await cli.RunAsync("room", "secret", "exists", "--room", room, "--id", "theirs")).Stdout);
    }

    [Fact]
    public async Task RoomSecretSet_NameWithoutId_PrintsOk()
    {
        using var cli = KeyroomCli.For(server);
        var room = NewRoom();

        var set = await cli.RunAsync("room", "secret", "set", "--room", room, "--name", "by-name", "--type", "text/plain", "--text", "v");

        CliAssert.Succeeded(set);
        Assert.Equal("ok\n", set.Stdout);
        var json = CliAssert.Json(await cli.RunAsync("room", "secret", "list", "--room", room, "--json"));
        Assert.Equal("by-name", Assert.Single(json.GetProperty("secrets").EnumerateArray()).GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("KEYROOM_ROOM")]
    [InlineData("MESHAGENT_ROOM")]
    public async Task RoomSecretCommands_RoomFromEnvironment_UsesThatRoom(string variable)
    {
        using var cli = KeyroomCli.For(server);
        var room = NewRoom();
        cli.Environment[variable] = room;

        CliAssert.Succeeded(await cli.RunAsync("room", "secret", "set", "--id", "env", "--text", "from-env"));

        Assert.Equal("from-env"u8.ToArray(), (await cli.RunBinaryAsync(null, "room", "secret", "get", "--room", room, "--id", "env")).Stdout);
        Assert.Equal("true\n", (await cli.RunAsync("room", "secret", "exists", "--id", "env")).Stdout);
    }

    [Fact]
    public async Task RoomSecretCommands_KeyroomRoomAndMeshagentRoom_KeyroomRoomWins()
    {
        using var cli = KeyroomCli.For(server);
        var room = NewRoom();
        cli.Environment["KEYROOM_ROOM"] = room;
        cli.Environment["MESHAGENT_ROOM"] = NewRoom();

        CliAssert.Succeeded(await cli.RunAsync("room", "secret", "set", "--id", "which", "--text", "x"));

        Assert.Equal("true\n", (await cli.RunAsync("room", "secret", "exists", "--room", room, "--id", "which")).Stdout);
    }

    [Theory]
    [InlineData("list")]
    [InlineData("get", "--id", "x")]
    [InlineData("set", "--id", "x", "--text", "v")]
    [InlineData("delete", "x")]
    [InlineData("exists", "--id", "x")]
    public async Task RoomSecretCommands_NoRoom_ExitsUsageWithOneLine(params string[] args)
    {
        using var cli = KeyroomCli.For(server);

        var result = await cli.RunAsync(["room", "secret", .. args]);

        var line = CliAssert.FailedWithOneLine(result, 2);
        Assert.Contains("--room", line, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public async Task RoomSecretGet_UnknownId_ExitsOneWithNotFound()
    {
        using var cli = KeyroomCli.For(server);

        var result = await cli.RunAsync("room", "secret", "get", "--room", NewRoom(), "--id", "missing");

        Assert.Equal("keyroom: secret not found", CliAssert.FailedWithOneLine(result, 1));
        Assert.Empty(result.Stdout);
    }

    [Theory]
    [InlineData("--base64", "not*base64!")]
    [InlineData("--text", "a", "--base64", "YQ==")]
    [InlineData("--text", "a", "--in", "-")]
    [InlineData("--id", "only")]
    public async Task RoomSecretSet_BadValueOptions_ExitsUsageWithOneLine(params string[] args)
    {
        using var cli = KeyroomCli.For(server);
        var room = NewRoom();

        var result = await cli.RunAsync(["room", "secret", "set", "--room", room, .. args]);

        CliAssert.FailedWithOneLine(result, 2);
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public async Task RoomSecretCommands_CanaryValue_NeverInStderr()
    {
        using var cli = KeyroomCli.For(server);
        var room = NewRoom();
        var canaryFile = Path.Combine(cli.Home, "canary.txt");
        await File.WriteAllTextAsync(canaryFile, Canary, TestContext.Current.CancellationToken);
        var results = new List<string>
        {
            (await cli.RunAsync("room", "secret", "set", "--room", room, "--id", "c1", "--text", Canary)).Stderr,
            (await cli.RunAsync("room", "secret", "set", "--room", room, "--id", "c2", "--in", canaryFile)).Stderr,
            (await cli.RunWithInputAsync(Canary, "room", "secret", "set", "--room", room, "--id", "c3", "--in", "-")).Stderr,
            (await cli.RunAsync("room", "secret", "set", "--room", room, "--id", "c4", "--base64", Canary)).Stderr,
            (await cli.RunAsync("room", "secret", "set", "--room", room, "--text", Canary, "--base64", Canary)).Stderr,
            (await cli.RunAsync("room", "secret", "set", "--room", room, "--text", Canary)).Stderr,
            (await cli.RunAsync("room", "secret", "set", "--id", "c5", "--text", Canary)).Stderr,
            (await cli.RunAsync("room", "secret", "set", "--room", room, "--id", "bad id with spaces/..", "--text", Canary)).Stderr,
            (await cli.RunAsync("room", "secret", "get", "--room", room, "--id", "c1")).Stderr,
            (await cli.RunAsync("room", "secret", "get", "--room", room, "--id", "c1", "--out", Path.Combine(cli.Home, "no-such-dir", "x"))).Stderr,
            (await cli.RunAsync("room", "secret", "list", "--room", room)).Stderr,
            (await cli.RunAsync("room", "secret", "exists", "--room", room, "--id", "c1")).Stderr,
        };

        Assert.Equal(Canary, (await cli.RunAsync("room", "secret", "get", "--room", room, "--id", "c2")).Stdout);
        Assert.All(results, stderr => Assert.DoesNotContain(Canary, stderr, StringComparison.Ordinal));
    }

    [Fact]
    public async Task RoomSecretSet_InvalidSecretId_ExitsOneWithServerMessageAndCode()
    {
        using var cli = KeyroomCli.For(server);

        var result = await cli.RunAsync("room", "secret", "set", "--room", NewRoom(), "--id", "bad id with spaces/..", "--text", "x");

        var line = CliAssert.FailedWithOneLine(result, 1);
        Assert.Matches(@"\(code \d+\)$", line);
    }

    private static string NewRoom() => "rs-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>256 KiB of every byte value, 0x00 and 0xFF included.</summary>
    private static byte[] LargeValue()
    {
        var value = new byte[256 * 1024];
        for (var i = 0; i < value.Length; i++)
        {
            value[i] = (byte)((i * 7) + (i >> 8));
        }

        value[0] = 0x00;
        value[^1] = 0xFF;
        return value;
    }

    private static void AssertSucceeded(CliBinaryResult result)
    {
        Assert.True(result.ExitCode == 0, "expected exit 0, got " + result);
        Assert.True(result.Stderr.Length == 0, "expected no stderr, got " + result);
    }
}
