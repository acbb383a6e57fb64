using System.Net;
using System.Text.Json.Nodes;

namespace Keyroom.Server.Tests.Accounts;

public sealed class AccountsOpenApiTests : IClassFixture<AccountsServerFixture>
{
    private readonly AccountsServerFixture _fixture;

    public AccountsOpenApiTests(AccountsServerFixture fixture)
    {
        _fixture = fixture;
    }

    [Fact]
    public async Task OpenApiDocument_AccountsEndpoints_AreDescribedWithSnakeCaseSchemasAndProblems()
    {
        using var client = _fixture.Server.CreateClient();

        var response = await client.GetApiAsync("/openapi/v1.json");

        response.AssertStatus(HttpStatusCode.OK);
        var paths = response.Body["paths"]!.AsObject();
        var operations = paths.SelectMany(p => p.Value!.AsObject().Select(o => (Path: p.Key, Method: o.Key, Operation: o.Value!))).ToList();
        string[] expected =
        [
            "createProjectSecret", "listProjectSecrets", "getProjectSecret", "listProjectSecretVersions", "updateProjectSecret", "deleteProjectSecret",
            "createRoomSecret", "listRoomSecrets", "getRoomSecret", "updateRoomSecret", "deleteRoomSecret",
            "createRoom", "listRooms", "getRoom", "updateRoom", "deleteRoom", "connectRoom",
            "createApiKey", "listApiKeys", "deleteApiKey", "getProjectRole",
        ];
        foreach (var id in expected)
        {
            var (path, _, operation) = operations.Single(o => o.Operation["operationId"]?.GetValue<string>() == id);
            Assert.StartsWith("/accounts/projects/{projectId}", path, StringComparison.Ordinal);
            Assert.False(string.IsNullOrEmpty(operation["summary"]?.GetValue<string>()), id + " has no summary");
            var responses = operation["responses"]!.AsObject();
            Assert.True(responses.ContainsKey("401"), id + " does not list 401");
            Assert.Contains(responses, r => r.Key.StartsWith('2'));
            Assert.NotNull(responses["401"]!["content"]?["application/problem+json"]);
        }

        var create = operations.Single(o => o.Operation["operationId"]?.GetValue<string>() == "createProjectSecret").Operation;
        Assert.NotNull(create["requestBody"]!["content"]!["application/json"]);
        Assert.True(create["responses"]!.AsObject().ContainsKey("413"));
        var schemas = response.Body["components"]!["schemas"]!.AsObject();
        var secretValue = schemas.Single(s => s.Key.Contains("SecretValueResponse", StringComparison.Ordinal)).Value!;
        Assert.True(secretValue["properties"]!.AsObject().ContainsKey("data_base64"));
        Assert.True(secretValue["properties"]!.AsObject().ContainsKey("delegated_to"));
        Assert.False(JsonNode.DeepEquals(null, secretValue));

        // Every operation authenticates with a bearer token (API key or participant JWT), declared once.
        var bearer = response.Body["components"]!["securitySchemes"]!["bearer"]!;
        Assert.Equal("http", bearer["type"]!.GetValue<string>());
        Assert.Equal("bearer", bearer["scheme"]!.GetValue<string>());
        var security = Assert.Single(response.Body["security"]!.AsArray());
        Assert.True(security!.AsObject().ContainsKey("bearer"));
    }
}
