using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keyroom.Core.Auth;
using Keyroom.Server.Tests.Support;

namespace Keyroom.Server.Tests.Accounts;

/// <summary>One real server shared by the tests of a class (they use unique names, so they do not collide).</summary>
public class AccountsServerFixture : IAsyncLifetime
{
    private KeyroomTestServer? _server;

    public KeyroomTestServer Server => _server ?? throw new InvalidOperationException("the server did not start");

    /// <summary>Settings for this fixture's server (none by default).</summary>
    protected virtual IDictionary<string, string?>? Settings => null;

    public async ValueTask InitializeAsync() => _server = await KeyroomTestServer.StartAsync(settings: Settings);

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}

/// <summary>A response, read completely.</summary>
public sealed record ApiResponse(HttpStatusCode Status, string ContentType, string Text, JsonNode? Json, HttpResponseMessage Message)
{
    public JsonNode Body => Json ?? throw new InvalidOperationException($"no JSON body (status {(int)Status}): {Text}");

    /// <summary>Asserts a ProblemDetails response with this status and code; returns its detail.</summary>
    public string AssertProblem(HttpStatusCode status, string code)
    {
        Assert.True(Status == status, $"expected {(int)status}, got {(int)Status}: {Text}");
        Assert.StartsWith("application/problem+json", ContentType, StringComparison.Ordinal);
        Assert.Equal((int)status, Body["status"]!.GetValue<int>());
        Assert.Equal(code, Body["code"]!.GetValue<string>());
        return Body["detail"]?.GetValue<string>() ?? string.Empty;
    }

    public void AssertStatus(HttpStatusCode status) => Assert.True(Status == status, $"expected {(int)status}, got {(int)Status}: {Text}");
}

/// <summary>Small helpers to call the accounts API.</summary>
public static class Api
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static string Project(string projectId) => $"/accounts/projects/{projectId}";

    public static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    public static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..12];

    public static Task<ApiResponse> GetApiAsync(this HttpClient client, string path) => client.SendAsync(HttpMethod.Get, path);

    public static Task<ApiResponse> DeleteApiAsync(this HttpClient client, string path) => client.SendAsync(HttpMethod.Delete, path);

    public static Task<ApiResponse> PostApiAsync(this HttpClient client, string path, object? body) => client.SendAsync(HttpMethod.Post, path, body);

    public static Task<ApiResponse> PutApiAsync(this HttpClient client, string path, object? body) => client.SendAsync(HttpMethod.Put, path, body);

    /// <summary>Sends a request; a string body is sent as-is (application/json), anything else is serialized.</summary>
    public static async Task<ApiResponse> SendAsync(this HttpClient client, HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            var text = body as string ?? JsonSerializer.Serialize(body);
            request.Content = new StringContent(text, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        }

        return await ReadAsync(await client.SendAsync(request, Cancel));
    }

    public static async Task<ApiResponse> ReadAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync(Cancel);
        JsonNode? json = null;
        try
        {
            json = text.Length > 0 ? JsonNode.Parse(text) : null;
        }
        catch (JsonException)
        {
        }

        return new ApiResponse(response.StatusCode, response.Content.Headers.ContentType?.ToString() ?? string.Empty, text, json, response);
    }

    /// <summary>Creates a project secret and returns its id.</summary>
    public static async Task<string> CreateSecretAsync(this HttpClient client, string projectId, string type, string value, string? name = null)
    {
        var response = await client.PostApiAsync(Project(projectId) + "/secrets", new { name = name ?? Unique("secret"), type, data_base64 = B64(value) });
        response.AssertStatus(HttpStatusCode.Created);
        return response.Body["id"]!.GetValue<string>();
    }

    /// <summary>Reads a project secret's value as text.</summary>
    public static async Task<string> ReadSecretTextAsync(this HttpClient client, string projectId, string id, int? version = null)
    {
        var response = await client.GetApiAsync(Project(projectId) + "/secrets/" + id + (version is null ? string.Empty : "?version=" + version));
        response.AssertStatus(HttpStatusCode.OK);
        return Encoding.UTF8.GetString(Convert.FromBase64String(response.Body["data_base64"]!.GetValue<string>()));
    }

    /// <summary>Creates a room (admin key) and returns its JSON.</summary>
    public static async Task<JsonNode> CreateRoomAsync(this HttpClient client, string projectId, string name)
    {
        var response = await client.PostApiAsync(Project(projectId) + "/rooms", new { name });
        response.AssertStatus(HttpStatusCode.Created);
        return response.Body;
    }

    /// <summary>Calls connect and returns (jwt, response JSON).</summary>
    public static async Task<(string Jwt, JsonNode Body)> ConnectAsync(this HttpClient client, string projectId, string room)
    {
        var response = await client.PostApiAsync(Project(projectId) + "/rooms/" + room + "/connect", new { });
        response.AssertStatus(HttpStatusCode.OK);
        return (response.Body["jwt"]!.GetValue<string>(), response.Body);
    }

    /// <summary>The secret part of a ma-… key (the HMAC key of the tokens it signs).</summary>
    public static string SecretOf(string apiKey) =>
        ApiKeyString.TryParse(apiKey, out var key) ? key.Secret : throw new ArgumentException("not an API key", nameof(apiKey));

    /// <summary>The id of a ma-… key.</summary>
    public static string IdOf(string apiKey) =>
        ApiKeyString.TryParse(apiKey, out var key) ? key.KeyId.ToString("D") : throw new ArgumentException("not an API key", nameof(apiKey));
}
