using System.Net.Http.Headers;
using Keyroom.Core.Accounts;
using Keyroom.Core.Audit;
using Keyroom.Core.Auth;
using Keyroom.Core.Storage;
using Keyroom.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Keyroom.Server.Tests.Support;

/// <summary>
/// A real Keyroom server: real Kestrel on a free loopback port, a real SQLite file in a fresh directory,
/// every log line captured. Start one per test class (IClassFixture) or per test when isolation matters.
/// </summary>
public sealed class KeyroomTestServer : IAsyncDisposable
{
    private WebApplication? _app;

    private KeyroomTestServer(string dataDirectory)
    {
        DataDirectory = dataDirectory;
    }

    public string DataDirectory { get; }

    public CapturingLoggerProvider Logs { get; } = new();

    public Uri BaseUrl { get; private set; } = null!;

    public string ProjectId { get; private set; } = null!;

    /// <summary>The admin key created on first start (read from the bootstrap key file).</summary>
    public string AdminApiKey { get; private set; } = null!;

    public IServiceProvider Services => _app!.Services;

    /// <summary>Starts a server on a new data directory (or an existing one, to test restarts).</summary>
    public static async Task<KeyroomTestServer> StartAsync(string? dataDirectory = null, IDictionary<string, string?>? settings = null)
    {
        var server = new KeyroomTestServer(dataDirectory ?? Path.Combine(Path.GetTempPath(), "keyroom-test-" + Guid.NewGuid().ToString("N")));
        await server.StartCoreAsync(settings);
        return server;
    }

    private async Task StartCoreAsync(IDictionary<string, string?>? settings)
    {
        var keyFile = Path.Combine(DataDirectory, "bootstrap-admin.key");
        var args = new List<string>
        {
            "--urls", "http://127.0.0.1:0",
            "--Keyroom:DataDirectory=" + DataDirectory,
            "--Keyroom:BootstrapKeyFile=" + keyFile,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            args.Add($"--{key}={value}");
        }

        _app = KeyroomHost.Build([.. args], builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Trace);
            builder.Logging.AddProvider(Logs);
        });
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUrl = new Uri(address);

        var projects = await Services.GetRequiredService<IAccountStore>().ListProjectsAsync(CancellationToken.None);
        ProjectId = projects[0].Id;
        AdminApiKey = File.Exists(keyFile) ? (await File.ReadAllTextAsync(keyFile)).Trim() : string.Empty;
        if (AdminApiKey.Length == 0)
        {
            // A restart on an existing directory: the bootstrap key was consumed; mint a fresh admin key.
            AdminApiKey = await CreateApiKeyAsync(ProjectId, ProjectRole.Admin, "test-admin");
        }
    }

    /// <summary>An HttpClient for the server with a bearer credential.</summary>
    public HttpClient CreateClient(string? bearer = null)
    {
        var client = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(30) };
        if (bearer is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        return client;
    }

    /// <summary>Creates an API key with a role directly through the server's services.</summary>
    public async Task<string> CreateApiKeyAsync(string projectId, ProjectRole role, string name = "test-key")
    {
        var (_, key) = await Services.GetRequiredService<ApiKeyService>().CreateAsync(projectId, name, "test", role, CancellationToken.None);
        return key.ToString();
    }

    /// <summary>Creates a second project with an admin key; returns (project id, admin key).</summary>
    public async Task<(string ProjectId, string AdminKey)> CreateProjectAsync(string name = "other")
    {
        var project = new Project(Guid.NewGuid().ToString("D"), name, DateTimeOffset.UtcNow);
        await Services.GetRequiredService<IAccountStore>().CreateProjectAsync(project, CancellationToken.None);
        return (project.Id, await CreateApiKeyAsync(project.Id, ProjectRole.Admin, "admin"));
    }

    /// <summary>Waits for queued audit entries to be committed.</summary>
    public Task FlushAuditAsync() => Services.GetRequiredService<AuditLog>().FlushAsync();

    /// <summary>All audit entries as text, for canary scans.</summary>
    public async Task<string> ReadAuditTextAsync()
    {
        await FlushAuditAsync();
        var lines = new List<string>();
        await foreach (var record in Services.GetRequiredService<IAuditStore>().ReadAuditAsync(0, CancellationToken.None))
        {
            lines.Add($"{record.Sequence} {record.Event.ProjectId} {record.Event.Actor} {record.Event.Action} {record.Event.Target} {record.Event.Outcome}");
        }

        return string.Join('\n', lines);
    }

    /// <summary>Fails if any canary string appears in the captured logs, the audit table or the raw database file.</summary>
    public async Task AssertCanariesAbsentAsync(params string[] canaries)
    {
        var logs = Logs.AllText;
        var audit = await ReadAuditTextAsync();
        foreach (var canary in canaries)
        {
            Xunit.Assert.DoesNotContain(canary, logs, StringComparison.Ordinal);
            Xunit.Assert.DoesNotContain(canary, audit, StringComparison.Ordinal);
        }

        // The database (and its WAL) must hold only ciphertext.
        foreach (var file in Directory.GetFiles(DataDirectory, "keyroom.db*"))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var memory = new MemoryStream();
            await stream.CopyToAsync(memory);
            var raw = System.Text.Encoding.Latin1.GetString(memory.ToArray());
            foreach (var canary in canaries)
            {
                Xunit.Assert.DoesNotContain(canary, raw, StringComparison.Ordinal);
            }
        }
    }

    /// <summary>Stops the server but keeps the data directory (for restart tests).</summary>
    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
