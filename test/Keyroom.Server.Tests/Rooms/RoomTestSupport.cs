using System.Text;
using System.Text.Json.Nodes;
using Keyroom.Core.Auth;
using Keyroom.Protocol;
using Keyroom.Server.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Keyroom.Server.Tests.Rooms;

/// <summary>One real server shared by the tests of a class; every test uses its own room name.</summary>
public class RoomsFixture : IAsyncLifetime
{
    public KeyroomTestServer Server { get; private set; } = null!;

    protected virtual IDictionary<string, string?>? Settings => null;

    public async ValueTask InitializeAsync() => Server = await KeyroomTestServer.StartAsync(settings: Settings);

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}

/// <summary>Helpers: tokens, connections and tool calls.</summary>
public static class RoomTesting
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Mints a participant JWT signed by an API key of the server (the admin key by default).</summary>
    public static async Task<string> MintAsync(
        this KeyroomTestServer server, string identity, string room, ApiScope? api = null, bool withoutApi = false, string? role = "user",
        DateTimeOffset? expires = null, string? apiKey = null)
    {
        Assert.True(ApiKeyString.TryParse(apiKey ?? server.AdminApiKey, out var key));
        var token = new ParticipantToken(identity).AddRoomGrant(room);
        if (role is not null)
        {
            token.AddRoleGrant(role);
        }

        if (!withoutApi)
        {
            token.AddApiGrant(api ?? ApiScope.AgentDefault());
        }

        token.ExpiresAt = expires;
        return await server.Services.GetRequiredService<ApiKeyService>().SignAsync(key.KeyId, token, Cancel);
    }

    /// <summary>Connects a raw client as <paramref name="identity"/> to <paramref name="room"/> (created on first join).</summary>
    public static async Task<RawRoomClient> JoinAsync(this KeyroomTestServer server, string identity, string room, ApiScope? api = null, bool withoutApi = false)
        => await RawRoomClient.ConnectAsync(server.BaseUrl, room, await server.MintAsync(identity, room, api, withoutApi), Cancel);

    public static JsonObject Header(this ProtocolMessage message) => PackedMessage.Decode(message.Data).Header;

    /// <summary>set_secret as the official client sends it: binary headers with every key present.</summary>
    public static Task<Content> SetSecretAsync(
        this RawRoomClient client, string? secretId, byte[] data, string? type = "application/octet-stream", string? name = null, string? delegatedTo = null,
        string? forIdentity = null)
    {
        var headers = new JsonObject
        {
            ["secret_id"] = secretId,
            ["type"] = type,
            ["name"] = name,
            ["delegated_to"] = delegatedTo,
            ["for_identity"] = forIdentity,
            ["has_data"] = true,
        };
        return client.InvokeAsync("secrets", "set_secret", new BinaryContent(data, headers));
    }

    public static Task<Content> GetSecretAsync(this RawRoomClient client, string? secretId, string? type = null, string? name = null, string? delegatedTo = null) =>
        client.SecretsAsync("get_secret", new JsonObject { ["secret_id"] = secretId, ["type"] = type, ["name"] = name, ["delegated_to"] = delegatedTo });

    public static async Task<bool> ExistsAsync(this RawRoomClient client, string secretId, string? delegatedTo = null, string? forIdentity = null)
    {
        var reply = await client.SecretsAsync("exists", new JsonObject { ["secret_id"] = secretId, ["delegated_to"] = delegatedTo, ["for_identity"] = forIdentity });
        return Assert.IsType<JsonContent>(reply).Json["exists"]!.GetValue<bool>();
    }

    public static async Task<JsonArray> ListSecretsAsync(this RawRoomClient client)
    {
        var reply = await client.SecretsAsync("list_secrets", []);
        return Assert.IsType<JsonContent>(reply).Json["secrets"]!.AsArray();
    }

    public static Task<Content> DeleteSecretAsync(this RawRoomClient client, string id, string? delegatedTo = null) =>
        client.SecretsAsync("delete_secret", new JsonObject { ["id"] = id, ["delegated_to"] = delegatedTo });

    /// <summary>Asserts an error reply with this code; returns its text.</summary>
    public static string AssertError(this Content content, int code)
    {
        var error = Assert.IsType<ErrorContent>(content);
        Assert.True(error.Code == code, $"expected error {code}, got {error.Code}: {error.Text}");
        return error.Text;
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    public static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }
}
