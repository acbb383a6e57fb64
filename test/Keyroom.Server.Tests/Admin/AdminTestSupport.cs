using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Keyroom.Core.Auth;
using Keyroom.Core.Secrets;
using Keyroom.Server.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Keyroom.Server.Tests.Admin;

/// <summary>Small helpers for the admin tests: JSON calls, in-process secrets, raw SQLite edits.</summary>
internal static class AdminTestSupport
{
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static async Task<(HttpStatusCode Status, JsonObject Body)> GetJsonAsync(this HttpClient client, string path)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative), Ct);
        return (response.StatusCode, await ReadAsync(response));
    }

    public static async Task<(HttpStatusCode Status, JsonObject Body)> PostJsonAsync(this HttpClient client, string path, object body)
    {
        using var response = await client.PostAsJsonAsync(new Uri(path, UriKind.Relative), body, Ct);
        return (response.StatusCode, await ReadAsync(response));
    }

    private static async Task<JsonObject> ReadAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync(Ct);
        return text.Length == 0 ? [] : JsonNode.Parse(text) as JsonObject ?? [];
    }

    public static string[] Strings(this JsonNode? array) => [.. array!.AsArray().Select(n => n!.GetValue<string>())];

    /// <summary>Writes a project secret in process, as the owner of <paramref name="apiKey"/>.</summary>
    public static async Task WriteSecretAsync(this KeyroomTestServer server, string apiKey, string projectId, string id, string value)
    {
        var principal = await server.Services.GetRequiredService<ApiKeyService>().AuthenticateAsync(apiKey, Ct);
        await server.Services.GetRequiredService<SecretService>().WriteAsync(
            principal, SecretKey.Project(projectId, id), id, "text/plain", Encoding.UTF8.GetBytes(value), WriteMode.Upsert, SecretLimits.ProjectDefault, Ct);
    }

    /// <summary>Reads a project secret in process (through the same decrypt path as REST).</summary>
    public static async Task<string> ReadSecretAsync(this KeyroomTestServer server, string apiKey, string projectId, string id, int? version = null)
    {
        var principal = await server.Services.GetRequiredService<ApiKeyService>().AuthenticateAsync(apiKey, Ct);
        var value = await server.Services.GetRequiredService<SecretService>().ReadAsync(principal, SecretKey.Project(projectId, id), version, Ct);
        return Encoding.UTF8.GetString(value.Value);
    }

    /// <summary>Runs SQL directly against the server's database file (simulating someone editing it).</summary>
    public static async Task<int> ExecuteSqlAsync(this KeyroomTestServer server, string sql)
    {
        var path = Path.Combine(server.DataDirectory, "keyroom.db");
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteNonQueryAsync(Ct);
    }
}
