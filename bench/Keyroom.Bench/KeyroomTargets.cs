using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keyroom.Core.Audit;
using Keyroom.Core.Auth;
using Keyroom.Server.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Keyroom.Bench;

/// <summary>
/// The real Keyroom server, in this process: <see cref="KeyroomHost.Build"/> on a free loopback port over a fresh
/// data directory (SQLite file on disk), exactly as <c>dotnet run --project src/Keyroom.Server</c> builds it, with
/// console logging reduced to warnings on stderr.
/// </summary>
internal sealed class KeyroomInProcess : IAsyncDisposable
{
    private readonly WebApplication _app;

    private KeyroomInProcess(WebApplication app, Uri baseUrl, string adminKey)
    {
        _app = app;
        BaseUrl = baseUrl;
        AdminKey = adminKey;
    }

    public Uri BaseUrl { get; }

    public string AdminKey { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Waits until every queued audit entry is committed (reads audit on the side).</summary>
    public Task FlushAuditAsync(CancellationToken cancellationToken) =>
        _app.Services.GetRequiredService<AuditLog>().FlushAsync().WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);

    public static async Task<KeyroomInProcess> StartAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        var keyFile = Path.Combine(dataDirectory, "admin.key");
        string[] args =
        [
            "--urls", "http://127.0.0.1:0",
            "--Keyroom:DataDirectory=" + dataDirectory,
            "--Keyroom:BootstrapKeyFile=" + keyFile,
        ];
        var app = KeyroomHost.Build(args, builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
            builder.Logging.AddFilter("Keyroom", LogLevel.Warning);
        });

        // The first start prints the admin key banner to stdout; it is read from the key file instead.
        var stdout = Console.Out;
        Console.SetOut(TextWriter.Null);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        finally
        {
            Console.SetOut(stdout);
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var adminKey = (await File.ReadAllTextAsync(keyFile, cancellationToken)).Trim();
        return new KeyroomInProcess(app, new Uri(address), adminKey);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}

/// <summary>What the benchmarks need from a Keyroom server: the project, a participant JWT, the room URL and ids.</summary>
internal sealed record KeyroomSession(Uri BaseUrl, string ProjectId, string AdminKey, string Jwt, Uri RoomUrl, string RoomName)
{
    public const string ProjectSecretId = "bench-get";
    public const string RoomSecretId = "bench-room-get";

    public string ProjectSecretPath => $"/accounts/projects/{ProjectId}/secrets/{ProjectSecretId}";

    public string CreatePath => $"/accounts/projects/{ProjectId}/secrets";

    /// <summary>
    /// Over REST with the admin key: creates the project secret read by the REST bench, mints a participant JWT
    /// for the bench room (connect; it creates the room), and stores the same value as a room secret owned by the
    /// token's identity (the key's name), which is what the room's <c>get_secret</c> reads.
    /// </summary>
    public static async Task<KeyroomSession> CreateAsync(Uri baseUrl, string adminKey, string roomName, byte[] value, CancellationToken cancellationToken)
    {
        if (!ApiKeyString.TryParse(adminKey, out var key))
        {
            throw new InvalidOperationException("the bootstrap admin key is not a ma- key");
        }

        var projectId = key.ProjectId.ToString("D");
        using var client = Http.CreateClient(baseUrl, 1, adminKey);
        var base64 = Convert.ToBase64String(value);

        await Http.ExpectAsync(client.PostAsJsonAsync(
            $"/accounts/projects/{projectId}/secrets",
            new JsonObject { ["id"] = ProjectSecretId, ["name"] = "bench", ["type"] = "keys", ["data_base64"] = base64 },
            cancellationToken), HttpStatusCode.Created, "create project secret");
        var (jwt, roomUrl) = await ConnectAsync(client, projectId, roomName, cancellationToken);
        await Http.ExpectAsync(client.PostAsJsonAsync(
            $"/accounts/projects/{projectId}/rooms/{roomName}/secrets",
            new JsonObject { ["secret_id"] = RoomSecretId, ["name"] = "bench", ["type"] = "application/json", ["data_base64"] = base64 },
            cancellationToken), HttpStatusCode.Created, "create room secret");
        return new KeyroomSession(baseUrl, projectId, adminKey, jwt, roomUrl, roomName);
    }

    /// <summary>POST …/rooms/{room}/connect: a participant JWT and the room's WebSocket URL.</summary>
    public static async Task<(string Jwt, Uri RoomUrl)> ConnectAsync(HttpClient client, string projectId, string roomName, CancellationToken cancellationToken)
    {
        var body = await Http.ExpectAsync(
            client.PostAsJsonAsync($"/accounts/projects/{projectId}/rooms/{roomName}/connect", new JsonObject(), cancellationToken), HttpStatusCode.OK, "connect");
        using var json = JsonDocument.Parse(body);
        return (json.RootElement.GetProperty("jwt").GetString()!, new Uri(json.RootElement.GetProperty("room_url").GetString()!));
    }
}

/// <summary>HTTP helpers shared by every REST target, so all are driven the same way.</summary>
internal static class Http
{
    /// <summary>A client over its own SocketsHttpHandler with <paramref name="connections"/> keep-alive connections.</summary>
    public static HttpClient CreateClient(Uri baseUrl, int connections, string? bearer)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(5),
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        var client = new HttpClient(handler, disposeHandler: true) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(10) };
        if (bearer is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        return client;
    }

    /// <summary>Awaits a response, checks its status and returns the body; the error names the step, status and problem text.</summary>
    public static async Task<byte[]> ExpectAsync(Task<HttpResponseMessage> call, HttpStatusCode expected, string what)
    {
        using var response = await call;
        var body = await response.Content.ReadAsByteArrayAsync();
        if (response.StatusCode != expected)
        {
            var text = System.Text.Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 300));
            throw new InvalidOperationException($"{what}: expected HTTP {(int)expected}, got {(int)response.StatusCode}: {text}");
        }

        return body;
    }

    /// <summary>One checked secret read: 200, and a JSON body whose id and data_base64 are the expected ones.</summary>
    public static async ValueTask GetSecretAsync(HttpClient client, string path, string expectedId, byte[] expectedValue, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync(path, HttpCompletionOption.ResponseContentRead, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new BenchCheckException($"GET: HTTP {(int)response.StatusCode}");
        }

        CheckSecretJson(await response.Content.ReadAsByteArrayAsync(cancellationToken), expectedId, expectedValue);
    }

    /// <summary>One checked durable create: 201 and a body with an id and version 1.</summary>
    public static async ValueTask CreateSecretAsync(HttpClient client, string path, byte[] body, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await client.PostAsync(path, content, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new BenchCheckException($"POST: HTTP {(int)response.StatusCode}");
        }

        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var reader = new Utf8JsonReader(bytes);
        bool id = false, version = false;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1)
            {
                if (reader.ValueTextEquals("id"u8))
                {
                    id = reader.Read() && reader.TokenType == JsonTokenType.String && reader.ValueSpan.Length > 0;
                }
                else if (reader.ValueTextEquals("version"u8))
                {
                    version = reader.Read() && reader.TryGetInt32(out var v) && v == 1;
                }
            }
        }

        if (!id || !version)
        {
            throw new BenchCheckException("POST: the reply has no id or version 1");
        }
    }

    private static void CheckSecretJson(ReadOnlySpan<byte> json, string expectedId, byte[] expectedValue)
    {
        var reader = new Utf8JsonReader(json);
        bool idOk = false, valueOk = false;
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != 1)
            {
                continue;
            }

            if (reader.ValueTextEquals("id"u8))
            {
                idOk = reader.Read() && reader.ValueTextEquals(expectedId);
            }
            else if (reader.ValueTextEquals("data_base64"u8))
            {
                valueOk = reader.Read() && reader.TryGetBytesFromBase64(out var value) && value.AsSpan().SequenceEqual(expectedValue);
            }
        }

        if (!idOk || !valueOk)
        {
            throw new BenchCheckException(idOk ? "GET: data_base64 differs from the stored value" : "GET: the reply's id differs");
        }
    }
}
