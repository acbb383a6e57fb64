using Keyroom.Client;
using Keyroom.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Keyroom.Cli.Tests.Support;

/// <summary>
/// A real Keyroom server in the test process: real Kestrel on a free loopback port, a real SQLite file in a
/// fresh directory. The CLI under test runs as a child process against <see cref="BaseUrl"/>.
/// </summary>
public sealed class LiveServer : IAsyncLifetime
{
    private WebApplication? _app;

    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "keyroom-cli-test-" + Guid.NewGuid().ToString("N"));

    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>The admin key created on first start (from the bootstrap key file).</summary>
    public string AdminApiKey { get; private set; } = null!;

    /// <summary>The first project (the system project), as encoded in <see cref="AdminApiKey"/>.</summary>
    public string ProjectId { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(DataDirectory);
        var keyFile = Path.Combine(DataDirectory, "admin.key");
        _app = KeyroomHost.Build(
            [
                "--urls", "http://127.0.0.1:0",
                "--Keyroom:DataDirectory=" + DataDirectory,
                "--Keyroom:BootstrapKeyFile=" + keyFile,
            ],
            builder => builder.Logging.ClearProviders());
        await _app.StartAsync();
        BaseUrl = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        AdminApiKey = (await File.ReadAllTextAsync(keyFile)).Trim();
        Assert.True(ApiKeyIds.TryParse(AdminApiKey, out var ids), "the bootstrap key file does not hold an ma- key");
        ProjectId = ids.ProjectId;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
