using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Keyroom.Client.Rooms;

/// <summary>
/// Mints MeshAgent participant tokens from an <c>ma-…</c> API key, as the official clients' <c>ParticipantToken.toJwt</c>
/// does (spec 1.2): an HS256 JWT with the header <c>{"alg":"HS256","typ":"JWT"}</c>, signed with the UTF-8 bytes of
/// the key's secret part, whose payload is <c>name</c>, <c>grants</c>, <c>version</c>, <c>kid</c> (the key's id),
/// <c>sub</c> (the key's project) and, when given, <c>exp</c>, in that order.
/// </summary>
/// <remarks>
/// A token minted here is only accepted by a server that knows the API key. Grants: <c>room</c> (the room name),
/// <c>role</c> and <c>api</c> (an ApiScope object, see <see cref="ApiScopes"/>). A token without an <c>api</c> grant may
/// join a room but cannot call the room API.
/// </remarks>
public static class ParticipantTokens
{
    /// <summary>The <c>version</c> claim the official client writes.</summary>
    public const string TokenVersion = "0.36.3";

    private const string KeyPrefix = "ma-";
    private static readonly byte[] HeaderUtf8 = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"u8.ToArray();

    /// <summary>Mints a participant token for a room.</summary>
    /// <param name="apiKey">The <c>ma-…</c> API key whose secret signs the token; its id and project become <c>kid</c> and <c>sub</c>.</param>
    /// <param name="name">The participant's identity (<c>name</c>); secrets are owned by it.</param>
    /// <param name="room">The room the token may join (a <c>room</c> grant), or null for none.</param>
    /// <param name="api">The ApiScope object of the <c>api</c> grant (for example <see cref="ApiScopes.AgentDefault"/>), or null for no api grant. It is copied.</param>
    /// <param name="role">The <c>role</c> grant (<c>user</c>, <c>agent</c>, …), or null for none.</param>
    /// <param name="expiresAt">The expiry (<c>exp</c>, whole seconds); null writes no <c>exp</c>, which is normal.</param>
    /// <returns>The compact JWT.</returns>
    /// <exception cref="ArgumentException">The API key is not a well-formed <c>ma-</c> key, or the name is empty.</exception>
    public static string Create(string apiKey, string name, string? room, JsonObject? api, string? role = "user", DateTimeOffset? expiresAt = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var (ids, secret) = ParseKey(apiKey);
        var grants = new JsonArray();
        if (room is not null)
        {
            grants.Add((JsonNode)new JsonObject { ["name"] = "room", ["scope"] = room });
        }

        if (role is not null)
        {
            grants.Add((JsonNode)new JsonObject { ["name"] = "role", ["scope"] = role });
        }

        if (api is not null)
        {
            grants.Add((JsonNode)new JsonObject { ["name"] = "api", ["scope"] = api.DeepClone() });
        }

        var payload = new JsonObject
        {
            ["name"] = name,
            ["grants"] = grants,
            ["version"] = TokenVersion,
            ["kid"] = ids.KeyId,
            ["sub"] = ids.ProjectId,
        };
        if (expiresAt is { } expiry)
        {
            payload["exp"] = expiry.ToUnixTimeSeconds();
        }

        return SignWithSecret(payload, secret);
    }

    /// <summary>
    /// Signs an arbitrary claims object with an API key, exactly as given (no claim is added, removed or reordered).
    /// Use it for claims that <see cref="Create"/> does not cover.
    /// </summary>
    /// <param name="claims">The payload claims, written in their order.</param>
    /// <param name="apiKey">The <c>ma-…</c> API key whose secret signs the token.</param>
    /// <returns>The compact JWT.</returns>
    /// <exception cref="ArgumentException">The API key is not a well-formed <c>ma-</c> key.</exception>
    public static string Sign(JsonObject claims, string apiKey)
    {
        ArgumentNullException.ThrowIfNull(claims);
        var (_, secret) = ParseKey(apiKey);
        return SignWithSecret(claims, secret);
    }

    /// <summary>Checks a token's HS256 signature against an API key's secret. Claims such as <c>exp</c> are not checked.</summary>
    /// <param name="jwt">The compact JWT.</param>
    /// <param name="apiKey">The <c>ma-…</c> API key.</param>
    /// <returns>True when the token is an HS256 JWT signed with the key's secret.</returns>
    /// <exception cref="ArgumentException">The API key is not a well-formed <c>ma-</c> key.</exception>
    public static bool VerifySignature(string jwt, string apiKey)
    {
        var (_, secret) = ParseKey(apiKey);
        if (string.IsNullOrEmpty(jwt))
        {
            return false;
        }

        var lastDot = jwt.LastIndexOf('.');
        var firstDot = jwt.IndexOf('.', StringComparison.Ordinal);
        if (firstDot <= 0 || lastDot == firstDot || lastDot == jwt.Length - 1)
        {
            return false;
        }

        if (!TryDecodeSegment(jwt.AsSpan(0, firstDot), out var header)
            || !TryParseObject(header, out var headerObject)
            || headerObject["alg"] is not JsonValue alg
            || !alg.TryGetValue<string>(out var algorithm)
            || algorithm != "HS256")
        {
            return false;
        }

        if (!TryDecodeSegment(jwt.AsSpan(lastDot + 1), out var signature))
        {
            return false;
        }

        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(jwt[..lastDot]));
        return CryptographicOperations.FixedTimeEquals(expected, signature);
    }

    /// <summary>Reads a token's payload claims WITHOUT verifying the signature (for example to learn its <c>name</c>).</summary>
    /// <param name="jwt">The compact JWT.</param>
    /// <returns>The claims object.</returns>
    /// <exception cref="FormatException">The text is not a JWT with a JSON object payload.</exception>
    public static JsonObject ReadClaims(string jwt)
    {
        ArgumentNullException.ThrowIfNull(jwt);
        var parts = jwt.Split('.');
        if (parts.Length != 3 || !TryDecodeSegment(parts[1], out var payload) || !TryParseObject(payload, out var claims))
        {
            throw new FormatException("the text is not a JWT with a JSON object payload");
        }

        return claims;
    }

    private static string SignWithSecret(JsonObject claims, string secret)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            claims.WriteTo(writer);
        }

        var payloadUtf8 = buffer.WrittenSpan;
        var signingInput = Base64Url.EncodeToString(HeaderUtf8) + "." + Base64Url.EncodeToString(payloadUtf8);
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    /// <summary>Compact, and no escaping of characters that <c>JSON.stringify</c> leaves alone.</summary>
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    private static (ApiKeyIds Ids, string Secret) ParseKey(string apiKey)
    {
        if (!ApiKeyIds.TryParse(apiKey, out var ids))
        {
            throw new ArgumentException("the API key is not a well-formed ma-<id>-<project>-<secret> key", nameof(apiKey));
        }

        // The secret is everything after the second '-' that follows the prefix; it may itself contain '-'.
        var rest = apiKey.AsSpan(KeyPrefix.Length);
        var first = rest.IndexOf('-');
        var second = rest[(first + 1)..].IndexOf('-') + first + 1;
        return (ids, rest[(second + 1)..].ToString());
    }

    private static bool TryDecodeSegment(ReadOnlySpan<char> segment, out byte[] bytes)
    {
        bytes = new byte[Base64Url.GetMaxDecodedLength(segment.Length)];
        if (Base64Url.DecodeFromChars(segment, bytes, out _, out var written) != System.Buffers.OperationStatus.Done)
        {
            bytes = [];
            return false;
        }

        bytes = bytes[..written];
        return true;
    }

    private static bool TryParseObject(byte[] utf8, out JsonObject value)
    {
        value = null!;
        try
        {
            if (JsonNode.Parse(utf8) is JsonObject parsed)
            {
                value = parsed;
                return true;
            }
        }
        catch (JsonException)
        {
            // Not JSON.
        }

        return false;
    }
}

/// <summary>
/// The official clients' ApiScope presets as JSON objects (spec 1.4): each capability present as <c>{}</c>, which
/// means "granted with its defaults". Each call returns a new object that the caller may change.
/// </summary>
public static class ApiScopes
{
    /// <summary><c>ApiScope.agentDefault()</c>: every capability except <c>admin</c> and <c>tunnels</c>.</summary>
    /// <param name="tunnels">Also grant <c>tunnels</c>.</param>
    /// <returns>A new ApiScope object.</returns>
    public static JsonObject AgentDefault(bool tunnels = false)
    {
        var scope = Build("livekit", "queues", "messaging", "dataset", "memory", "sync", "storage", "containers", "developer", "agents", "llm", "secrets");
        if (tunnels)
        {
            scope["tunnels"] = new JsonObject();
        }

        scope["services"] = new JsonObject();
        return scope;
    }

    /// <summary><c>ApiScope.userDefault()</c>: <see cref="AgentDefault"/> without <c>llm</c>.</summary>
    /// <returns>A new ApiScope object.</returns>
    public static JsonObject UserDefault() =>
        Build("livekit", "queues", "messaging", "dataset", "memory", "sync", "storage", "containers", "developer", "agents", "secrets", "services");

    /// <summary><c>ApiScope.full()</c>: <see cref="AgentDefault"/> plus <c>admin</c> and <c>tunnels</c>.</summary>
    /// <returns>A new ApiScope object.</returns>
    public static JsonObject Full() =>
        Build("livekit", "queues", "messaging", "dataset", "memory", "sync", "storage", "containers", "developer", "agents", "llm", "admin", "secrets", "tunnels", "services");

    private static JsonObject Build(params string[] keys)
    {
        var scope = new JsonObject();
        foreach (var key in keys)
        {
            scope[key] = new JsonObject();
        }

        return scope;
    }
}
