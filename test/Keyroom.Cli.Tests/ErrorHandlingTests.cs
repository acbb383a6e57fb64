using System.Net;
using System.Net.Sockets;
using Keyroom.Cli.Tests.Support;

namespace Keyroom.Cli.Tests;

public sealed class ErrorHandlingTests(LiveServer server) : IClassFixture<LiveServer>
{
    [Theory]
    [InlineData("secret", "key", "create", "--data", "A=1")]
    [InlineData("secret", "key", "get")]
    [InlineData("secret", "key", "get", "id", "--version", "abc")]
    [InlineData("secret")]
    [InlineData("secert", "list")]
    [InlineData("secret", "list", "--no-such-option")]
    [InlineData("apikey", "create", "--name", "x", "--role", "owner")]
    public async Task Parse_UsageError_Exit2WithOneLine(params string[] args)
    {
        using var cli = KeyroomCli.For(server);

        var line = CliAssert.FailedWithOneLine(await cli.RunAsync(args), 2);

        Assert.Contains("--help", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecretKeyGet_UnknownId_Exit1WithServerCodeAndNoStackTrace()
    {
        using var cli = KeyroomCli.For(server);

        var result = await cli.RunAsync("secret", "key", "get", "does-not-exist");

        var line = CliAssert.FailedWithOneLine(result, 1);
        Assert.Matches(@"^keyroom: .+ \(not_found, HTTP 404\)$", line);
        Assert.Empty(result.Stdout);
        Assert.DoesNotContain(server.AdminApiKey, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnyCommand_ServerNotListening_Exit1NamingUrl()
    {
        using var cli = KeyroomCli.For(server);
        var url = $"http://127.0.0.1:{FreePort()}";
        cli.Environment["KEYROOM_URL"] = url;

        var line = CliAssert.FailedWithOneLine(await cli.RunAsync("secret", "list"), 1);

        Assert.Contains(url, line, StringComparison.Ordinal);
        Assert.Contains("connection refused", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnyCommand_InvalidUrl_Exit2()
    {
        using var cli = KeyroomCli.For(server);

        CliAssert.FailedWithOneLine(await cli.RunAsync("secret", "list", "--url", "not a url"), 2);
    }

    [Fact]
    public async Task AnyCommand_RevokedOrUnknownKey_Exit1Unauthenticated()
    {
        using var cli = KeyroomCli.For(server, apiKey: "ma-AAAAAAAAAAAAAAAAAAAAAA-AAAAAAAAAAAAAAAAAAAAAA-nope");

        var line = CliAssert.FailedWithOneLine(await cli.RunAsync("secret", "list"), 1);

        Assert.Contains("unauthenticated, HTTP 401", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_Root_Exit0ListingCommands()
    {
        using var cli = new KeyroomCli();

        var result = await cli.RunAsync("--help");

        CliAssert.Succeeded(result);
        foreach (var command in new[] { "serve", "setup", "secret", "room", "apikey", "admin" })
        {
            Assert.Contains(command, result.Stdout, StringComparison.Ordinal);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
