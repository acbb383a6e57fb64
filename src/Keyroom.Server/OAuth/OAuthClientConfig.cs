using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keyroom.Core;
using Keyroom.Core.Secrets;

namespace Keyroom.Server.OAuth;

/// <summary>
/// The requester's <c>oauth</c> object (OAuthClientConfig, spec §4.1) after validation:
/// <c>{client_id, client_secret|null, authorization_endpoint, token_endpoint, no_pkce|null, scopes|null}</c>.
/// Messages name fields, never values.
/// </summary>
internal sealed record OAuthClientConfig(
    string ClientId, string? ClientSecret, string AuthorizationEndpoint, Uri TokenEndpoint, bool NoPkce, IReadOnlyList<string> Scopes)
{
    /// <summary>The type of the room secret that holds an OAuth credential.</summary>
    public const string CredentialType = "application/vnd.keyroom.oauth-credential+json";

    /// <summary>Reads and checks the object; InvalidRequest naming the first bad field.</summary>
    public static OAuthClientConfig Parse(JsonObject oauth)
    {
        ArgumentNullException.ThrowIfNull(oauth);
        var clientId = RequiredString(oauth, "client_id");
        var authorizationEndpoint = RequiredString(oauth, "authorization_endpoint").Trim();
        if (!Uri.TryCreate(authorizationEndpoint, UriKind.Absolute, out var authorizationUri)
            || (authorizationUri.Scheme != Uri.UriSchemeHttps && authorizationUri.Scheme != Uri.UriSchemeHttp))
        {
            throw KeyroomException.Invalid("oauth.authorization_endpoint must be an absolute http(s) URL");
        }

        if (!Uri.TryCreate(RequiredString(oauth, "token_endpoint").Trim(), UriKind.Absolute, out var tokenEndpoint))
        {
            throw KeyroomException.Invalid("oauth.token_endpoint must be an absolute URL");
        }

        var clientSecret = OptionalString(oauth, "client_secret");
        var noPkce = oauth["no_pkce"] switch
        {
            null => false,
            JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
            _ => throw KeyroomException.Invalid("oauth.no_pkce must be a boolean or null"),
        };
        var scopes = new List<string>();
        switch (oauth["scopes"])
        {
            case null:
                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    if (item is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
                    {
                        throw KeyroomException.Invalid("oauth.scopes must be an array of strings or null");
                    }

                    scopes.Add(v.GetValue<string>());
                }

                break;
            default:
                throw KeyroomException.Invalid("oauth.scopes must be an array of strings or null");
        }

        return new OAuthClientConfig(clientId, string.IsNullOrEmpty(clientSecret) ? null : clientSecret, authorizationEndpoint, tokenEndpoint, noPkce, scopes);
    }

    /// <summary>
    /// Where the credential of this (authorization endpoint, client) lives for an owner and delegation:
    /// id "oauth:" + SHA-256 hex of the endpoint and client id, so the same provider and client always
    /// find the same credential.
    /// </summary>
    public SecretKey CredentialKey(OAuthTokenRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(AuthorizationEndpoint + "\n" + ClientId));
        return new SecretKey(request.ProjectId, SecretKey.RoomScope(request.Room), request.Owner, request.DelegatedTo, "oauth:" + Convert.ToHexStringLower(hash));
    }

    /// <summary>The credential's display name: the authorization endpoint without its query.</summary>
    public string CredentialName =>
        Uri.TryCreate(AuthorizationEndpoint, UriKind.Absolute, out var uri) ? "OAuth " + uri.GetLeftPart(UriPartial.Path) : "OAuth credential";

    /// <summary>The requested scopes as one space-separated string, or null when none were asked for.</summary>
    public string? ScopeText => Scopes.Count == 0 ? null : string.Join(' ', Scopes);

    // ToString must never print the client secret.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("ClientId = ").Append(ClientId).Append(", AuthorizationEndpoint = ").Append(AuthorizationEndpoint)
            .Append(", TokenEndpoint = ").Append(TokenEndpoint).Append(", NoPkce = ").Append(NoPkce);
        return true;
    }

    private static string RequiredString(JsonObject oauth, string field) =>
        OptionalString(oauth, field) is { } text && !string.IsNullOrWhiteSpace(text)
            ? text
            : throw KeyroomException.Invalid($"oauth.{field} must be a non-empty string");

    private static string? OptionalString(JsonObject oauth, string field) => oauth[field] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw KeyroomException.Invalid($"oauth.{field} must be a string"),
    };
}
