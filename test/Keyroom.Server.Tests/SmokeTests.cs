using System.Net;
using Keyroom.Server.Tests.Support;

namespace Keyroom.Server.Tests;

public sealed class SmokeTests
{
    [Fact]
    public async Task Start_FreshDirectory_ServesHealthAndOpenApi()
    {
        await using var server = await KeyroomTestServer.StartAsync();
        using var client = server.CreateClient();
        var health = await client.GetAsync(new Uri("/healthz", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var openApi = await client.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, openApi.StatusCode);
        Assert.StartsWith("ma-", server.AdminApiKey, StringComparison.Ordinal);
    }
}
