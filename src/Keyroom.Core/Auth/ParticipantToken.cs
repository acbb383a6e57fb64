using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Keyroom.Core.Auth;

/// <summary>
/// A MeshAgent participant token: a JWT signed with HS256 whose HMAC key is the UTF-8 secret part of an API
/// key, named by the payload claim <c>kid</c> (spec §1.2). Claims other than the named ones round-trip.
/// </summary>
public sealed class ParticipantToken
{
    /// <summary>The <c>version</c> claim written by the official client.</summary>
    public const string ClientVersion = "0.36.3";

    private static readonly byte[] Header = Encoding.UTF8.GetBytes("{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
    private static readonly string[] NamedClaims = ["name", "grants", "sub", "kid", "version", "exp"];

    /// <summary>Creates a token for an identity.</summary>
    public ParticipantToken(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
    }

    /// <summary>The participant's identity (<c>name</c>).</summary>
    public string Name { get; }

    /// <summary>The project (<c>sub</c>).</summary>
    public string? ProjectId { get; set; }

    /// <summary>The signing API key's id (<c>kid</c>, a payload claim).</summary>
    public string? KeyId { get; set; }

    /// <summary>The token schema version; never used to reject.</summary>
    public string Version { get; set; } = ClientVersion;

    /// <summary>The expiry (<c>exp</c>), when set.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }

    /// <summary>The grants, in order: <c>{name, scope}</c> objects.</summary>
    public List<JsonObject> Grants { get; } = [];

    /// <summary>Claims other than the named ones, kept as given.</summary>
    public JsonObject ExtraClaims { get; } = [];

    /// <summary>The room this token may join (the first <c>room</c> grant), or null.</summary>
    public string? Room => FirstGrant("room")?["scope"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>The role: the first <c>role</c> grant whose scope is not "user", else "user".</summary>
    public string Role
    {
        get
        {
            foreach (var grant in Grants.Where(g => GrantName(g) == "role"))
            {
                if (grant["scope"] is JsonValue v && v.TryGetValue<string>(out var s) && s != "user")
                {
                    return s;
                }
            }

            return "user";
        }
    }

    /// <summary>The <c>api</c> grant, or null when the token has none (room API calls are then denied).</summary>
    public ApiScope? Api => FirstGrant("api")?["scope"] is JsonObject o ? ApiScope.FromJson(o) : null;

    /// <summary>Adds a room grant.</summary>
    public ParticipantToken AddRoomGrant(string room) => AddGrant("room", JsonValue.Create(room));

    /// <summary>Adds a role grant.</summary>
    public ParticipantToken AddRoleGrant(string role) => AddGrant("role", JsonValue.Create(role));

    /// <summary>Adds the api grant.</summary>
    public ParticipantToken AddApiGrant(ApiScope scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        if (FirstGrant("api") is not null)
        {
            throw KeyroomException.Invalid("a token holds at most one api grant");
        }

        return AddGrant("api", scope.Json.DeepClone());
    }

    /// <summary>Adds any grant.</summary>
    public ParticipantToken AddGrant(string name, JsonNode? scope)
    {
        var grant = new JsonObject { ["name"] = name };
        if (scope is not null)
        {
            grant["scope"] = scope;
        }

        Grants.Add(grant);
        return this;
    }

    /// <summary>Signs the token with an API key secret (HS256).</summary>
    public string Sign(string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        var payload = new JsonObject();
        foreach (var (key, value) in ExtraClaims)
        {
            payload[key] = value?.DeepClone();
        }

        payload["name"] = Name;
        payload["grants"] = new JsonArray([.. Grants.Select(g => g.DeepClone())]);
        payload["version"] = Version;
        if (KeyId is not null)
        {
            payload["kid"] = KeyId;
        }

        if (ProjectId is not null)
        {
            payload["sub"] = ProjectId;
        }

        if (ExpiresAt is { } exp)
        {
            payload["exp"] = exp.ToUnixTimeSeconds();
        }

        var signingInput = Base64Url.EncodeToString(Header) + "." + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    /// <summary>
    /// Reads a JWT's claims without verifying it, so the verifier can find the signing key by <c>kid</c>.
    /// Returns null when it is not a well-formed HS256 participant token.
    /// </summary>
    public static UnverifiedToken? ReadUnverified(string jwt)
    {
        if (string.IsNullOrEmpty(jwt) || jwt.Length > 64 * 1024)
        {
            return null;
        }

        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            return null;
        }

        try
        {
            var header = JsonNode.Parse(Base64Url.DecodeFromChars(parts[0])) as JsonObject;
            if (header?["alg"] is not JsonValue alg || alg.GetValueKind() != JsonValueKind.String || alg.GetValue<string>() != "HS256")
            {
                return null;
            }

            if (JsonNode.Parse(Base64Url.DecodeFromChars(parts[1])) is not JsonObject payload)
            {
                return null;
            }

            var token = FromPayload(payload);
            if (token is null)
            {
                return null;
            }

            var signature = Base64Url.DecodeFromChars(parts[2]);
            return new UnverifiedToken(token, parts[0].Length + 1 + parts[1].Length, jwt, signature);
        }
        catch (Exception ex) when (ex is FormatException or JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    private static ParticipantToken? FromPayload(JsonObject payload)
    {
        if (payload["name"] is not JsonValue nameValue || !nameValue.TryGetValue<string>(out var name) || name.Length == 0)
        {
            return null;
        }

        var token = new ParticipantToken(name)
        {
            ProjectId = payload["sub"] is JsonValue sub && sub.TryGetValue<string>(out var s) ? s : null,
            KeyId = payload["kid"] is JsonValue kid && kid.TryGetValue<string>(out var k) ? k : null,
            Version = payload["version"] is JsonValue ver && ver.TryGetValue<string>(out var v) ? v : ClientVersion,
        };
        if (payload["exp"] is JsonValue exp && exp.TryGetValue<double>(out var seconds))
        {
            token.ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds((long)(seconds * 1000));
        }

        if (payload["grants"] is JsonArray grants)
        {
            foreach (var grant in grants)
            {
                if (grant is JsonObject g && g["name"] is JsonValue n && n.GetValueKind() == JsonValueKind.String)
                {
                    token.Grants.Add((JsonObject)g.DeepClone());
                }
            }
        }

        foreach (var (key, value) in payload)
        {
            if (!NamedClaims.Contains(key))
            {
                token.ExtraClaims[key] = value?.DeepClone();
            }
        }

        return token;
    }

    private JsonObject? FirstGrant(string name) => Grants.FirstOrDefault(g => GrantName(g) == name);

    private static string? GrantName(JsonObject grant) =>
        grant["name"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}

/// <summary>A parsed but not yet verified token.</summary>
public sealed class UnverifiedToken
{
    private readonly int _signingInputLength;
    private readonly string _jwt;
    private readonly byte[] _signature;

    internal UnverifiedToken(ParticipantToken token, int signingInputLength, string jwt, byte[] signature)
    {
        Token = token;
        _signingInputLength = signingInputLength;
        _jwt = jwt;
        _signature = signature;
    }

    /// <summary>The claims; trust them only after <see cref="Verify"/>.</summary>
    public ParticipantToken Token { get; }

    /// <summary>Checks the HS256 signature (constant time) and expiry.</summary>
    public bool Verify(ReadOnlySpan<byte> secretUtf8, DateTimeOffset now)
    {
        Span<byte> expected = stackalloc byte[32];
        var input = Encoding.ASCII.GetBytes(_jwt.AsSpan(0, _signingInputLength).ToString());
        HMACSHA256.HashData(secretUtf8, input, expected);
        if (_signature.Length != 32 || !CryptographicOperations.FixedTimeEquals(expected, _signature))
        {
            return false;
        }

        return Token.ExpiresAt is not { } exp || exp > now;
    }
}
