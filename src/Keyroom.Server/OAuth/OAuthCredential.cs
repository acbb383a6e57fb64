using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Keyroom.Server.OAuth;

/// <summary>How the client authenticates at the token endpoint (RFC 6749 §2.3.1).</summary>
internal enum ClientAuthMethod
{
    /// <summary>No secret: client_id in the form (public client).</summary>
    [JsonStringEnumMemberName("none")]
    None,
    /// <summary>client_id and client_secret in the form.</summary>
    [JsonStringEnumMemberName("client_secret_post")]
    ClientSecretPost,
    /// <summary>HTTP Basic with the form-encoded client_id and client_secret.</summary>
    [JsonStringEnumMemberName("client_secret_basic")]
    ClientSecretBasic,
}

/// <summary>
/// An OAuth credential as stored (encrypted) in a room secret: everything needed to hand out the access
/// token and to refresh it later without the requester (offline), including the client secret when one
/// was supplied. Times are Unix seconds.
/// </summary>
internal sealed record OAuthCredential
{
    [JsonPropertyName("format")]
    public int Format { get; init; } = 1;

    [JsonPropertyName("access_token")]
    public required string AccessToken { get; init; }

    [JsonPropertyName("token_type")]
    public string? TokenType { get; init; }

    [JsonPropertyName("refresh_token")]
    public string? RefreshToken { get; init; }

    /// <summary>When the access token was obtained.</summary>
    [JsonPropertyName("obtained_at")]
    public long ObtainedAt { get; init; }

    /// <summary>When the access token expires; null when the provider did not say.</summary>
    [JsonPropertyName("expires_at")]
    public long? ExpiresAt { get; init; }

    [JsonPropertyName("scope")]
    public string? Scope { get; init; }

    [JsonPropertyName("authorization_endpoint")]
    public required string AuthorizationEndpoint { get; init; }

    [JsonPropertyName("token_endpoint")]
    public required string TokenEndpoint { get; init; }

    [JsonPropertyName("client_id")]
    public required string ClientId { get; init; }

    [JsonPropertyName("client_secret")]
    public string? ClientSecret { get; init; }

    [JsonPropertyName("client_auth")]
    public ClientAuthMethod ClientAuth { get; init; }

    /// <summary>
    /// Whether the access token can still be handed out at <paramref name="now"/>: it does not expire within
    /// 60 s (or within half its lifetime, for tokens that live less than two minutes, so they are usable at all).
    /// </summary>
    public bool IsFresh(DateTimeOffset now)
    {
        if (ExpiresAt is not { } expiresAt)
        {
            return true;
        }

        var lifetime = Math.Max(0, expiresAt - ObtainedAt);
        var margin = Math.Min(60, lifetime / 2);
        return now.ToUnixTimeSeconds() + margin < expiresAt;
    }

    // ToString must never print the tokens or the client secret.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("TokenEndpoint = ").Append(TokenEndpoint).Append(", ClientId = ").Append(ClientId)
            .Append(", ExpiresAt = ").Append(ExpiresAt).Append(", HasRefreshToken = ").Append(RefreshToken is not null);
        return true;
    }

    public byte[] ToUtf8Bytes() => JsonSerializer.SerializeToUtf8Bytes(this, OAuthJsonContext.Default.OAuthCredential);

    /// <summary>Reads a stored credential; null when the bytes are not one (the id was reused for something else).</summary>
    public static OAuthCredential? FromUtf8Bytes(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, OAuthJsonContext.Default.OAuthCredential);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(UseStringEnumConverter = true)]
[JsonSerializable(typeof(OAuthCredential))]
internal sealed partial class OAuthJsonContext : JsonSerializerContext;
