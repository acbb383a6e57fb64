using System.Text.Json.Nodes;

namespace Keyroom.Client.Rooms;

/// <summary>A room secret as <c>list_secrets</c> describes it (no value).</summary>
/// <param name="Id">The secret's id.</param>
/// <param name="Name">Its name.</param>
/// <param name="Type">Its type, usually a MIME type such as <c>text/plain</c>.</param>
/// <param name="DelegatedTo">The identity it is delegated to, or null.</param>
public sealed record RoomSecretInfo(string Id, string Name, string Type, string? DelegatedTo);

/// <summary>A room secret's value as <c>get_secret</c> returns it (a <c>file</c> content).</summary>
public sealed class RoomSecret
{
    /// <summary>Creates a value.</summary>
    /// <param name="data">The bytes.</param>
    /// <param name="name">The name the server reported.</param>
    /// <param name="mimeType">The MIME type (the secret's type).</param>
    public RoomSecret(ReadOnlyMemory<byte> data, string name, string mimeType)
    {
        Data = data;
        Name = name;
        MimeType = mimeType;
    }

    /// <summary>The secret's bytes.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>The secret's name.</summary>
    public string Name { get; }

    /// <summary>The secret's type.</summary>
    public string MimeType { get; }

    /// <summary>Describes the secret without its value.</summary>
    /// <returns>The name, type and size.</returns>
    public override string ToString() => $"RoomSecret {Name} ({MimeType}, {Data.Length} bytes)";
}

/// <summary>
/// An OAuth client, as the secrets toolkit sends it (<c>oauth</c>): every key is always sent, null when not set.
/// The server forwards it to the prompted participant with <c>client_secret</c> removed.
/// </summary>
public sealed record OAuthClientConfig
{
    /// <summary>The OAuth client id (<c>client_id</c>).</summary>
    public required string ClientId { get; init; }

    /// <summary>The client secret (<c>client_secret</c>), when the server must exchange the code with it.</summary>
    public string? ClientSecret { get; init; }

    /// <summary>The authorization endpoint (<c>authorization_endpoint</c>).</summary>
    public required string AuthorizationEndpoint { get; init; }

    /// <summary>The token endpoint (<c>token_endpoint</c>).</summary>
    public required string TokenEndpoint { get; init; }

    /// <summary>True to skip PKCE (<c>no_pkce</c>); null leaves it to the server.</summary>
    public bool? NoPkce { get; init; }

    /// <summary>The scopes to ask for (<c>scopes</c>), or null.</summary>
    public IReadOnlyList<string>? Scopes { get; init; }

    /// <summary>Describes the client without its secret.</summary>
    /// <returns>The client id and endpoints.</returns>
    public override string ToString() => $"OAuthClientConfig {ClientId} ({AuthorizationEndpoint})";

    internal JsonObject ToJson()
    {
        JsonArray? scopes = null;
        if (Scopes is not null)
        {
            scopes = [];
            foreach (var scope in Scopes)
            {
                scopes.Add((JsonNode?)JsonValue.Create(scope));
            }
        }

        return new JsonObject
        {
            ["client_id"] = ClientId,
            ["client_secret"] = ClientSecret,
            ["authorization_endpoint"] = AuthorizationEndpoint,
            ["token_endpoint"] = TokenEndpoint,
            ["no_pkce"] = NoPkce,
            ["scopes"] = scopes,
        };
    }
}

/// <summary>A connector reference (<c>connector</c>): every key is always sent, null when not set.</summary>
public sealed record ConnectorRef
{
    /// <summary>An OpenAI connector id (<c>openai_connector_id</c>).</summary>
    public string? OpenAIConnectorId { get; init; }

    /// <summary>The resource server's URL (<c>server_url</c>).</summary>
    public Uri? ServerUrl { get; init; }

    /// <summary>The id of a stored secret holding a client secret (<c>client_secret_id</c>).</summary>
    public string? ClientSecretId { get; init; }

    internal JsonObject ToJson() => new()
    {
        ["openai_connector_id"] = OpenAIConnectorId,
        ["server_url"] = ServerUrl?.OriginalString,
        ["client_secret_id"] = ClientSecretId,
    };
}

/// <summary>A <c>secrets.request_secret</c> prompt: another participant asks this one for a secret.</summary>
public sealed class SecretRequest
{
    internal SecretRequest(string requestId, string url, string type, string? delegateTo, string? participantId, TimeSpan? timeout, JsonObject request)
    {
        RequestId = requestId;
        Url = url;
        Type = type;
        DelegateTo = delegateTo;
        ParticipantId = participantId;
        Timeout = timeout;
        Request = request;
    }

    /// <summary>The server's id for this request; answers name it.</summary>
    public string RequestId { get; }

    /// <summary>What the secret is for (<c>url</c>), as the requester sent it.</summary>
#pragma warning disable CA1056 // An opaque identifier chosen by the requester, not necessarily a URI.
    public string Url { get; }
#pragma warning restore CA1056

    /// <summary>The secret's type (<c>type</c>), for example <c>text/plain</c>.</summary>
    public string Type { get; }

    /// <summary>The identity the secret is to be delegated to (<c>delegate_to</c>), or null.</summary>
    public string? DelegateTo { get; }

    /// <summary>The participant id the request was addressed to (<c>participant_id</c>: this connection), if sent.</summary>
    public string? ParticipantId { get; }

    /// <summary>How long the requester waits (<c>timeout</c>), if sent.</summary>
    public TimeSpan? Timeout { get; }

    /// <summary>The request object as the server forwarded it (a copy).</summary>
    public JsonObject Request { get; }
}

/// <summary>What a <see cref="SecretRequestHandler"/> decided.</summary>
public sealed class SecretRequestResult
{
    private SecretRequestResult(ReadOnlyMemory<byte> data, string? error, bool deferred)
    {
        Data = data;
        Error = error;
        IsDeferred = deferred;
    }

    /// <summary>The handler answers by itself later (with <see cref="SecretsClient.ProvideSecretAsync"/> or <see cref="SecretsClient.RejectSecretAsync"/>), or not at all.</summary>
    public static SecretRequestResult Deferred { get; } = new(ReadOnlyMemory<byte>.Empty, null, deferred: true);

    /// <summary>The bytes to provide (when not rejected or deferred).</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>The rejection reason sent to the requester, or null when providing.</summary>
    public string? Error { get; }

    /// <summary>Whether the SDK sends nothing.</summary>
    public bool IsDeferred { get; }

    /// <summary>Provides <paramref name="data"/> to the requester.</summary>
    /// <param name="data">The secret's bytes.</param>
    /// <returns>The result.</returns>
    public static SecretRequestResult Provide(ReadOnlyMemory<byte> data) => new(data, null, deferred: false);

    /// <summary>Rejects the request; the requester gets an error with <paramref name="error"/> as its text.</summary>
    /// <param name="error">The reason.</param>
    /// <returns>The result.</returns>
    public static SecretRequestResult Reject(string error)
    {
        ArgumentException.ThrowIfNullOrEmpty(error);
        return new(ReadOnlyMemory<byte>.Empty, error, deferred: false);
    }
}

/// <summary>
/// Answers a <c>secrets.request_secret</c> prompt. Return <see cref="SecretRequestResult.Provide"/> or
/// <see cref="SecretRequestResult.Reject"/>, and the SDK calls <c>provide_secret</c>; an exception rejects the request
/// with a generic reason (its message is not sent). The token is cancelled when the request's timeout passes or the
/// client is disposed. Handlers run outside the receive loop, so they may call the room.
/// </summary>
/// <param name="request">The prompt.</param>
/// <param name="cancellationToken">Cancelled when the answer is no longer wanted.</param>
/// <returns>The decision.</returns>
public delegate Task<SecretRequestResult> SecretRequestHandler(SecretRequest request, CancellationToken cancellationToken);

/// <summary>A <c>secrets.request_oauth_token</c> prompt: another participant asks this one to authorize an OAuth client.</summary>
public sealed class OAuthAuthorizationRequest
{
    internal OAuthAuthorizationRequest(
        string requestId,
        string authorizationEndpoint,
        string tokenEndpoint,
        string? challenge,
        IReadOnlyList<string>? scopes,
        string? clientId,
        string? redirectUri,
        string? participantId,
        string? delegateTo,
        TimeSpan? timeout,
        JsonObject request)
    {
        RequestId = requestId;
        AuthorizationEndpoint = authorizationEndpoint;
        TokenEndpoint = tokenEndpoint;
        Challenge = challenge;
        Scopes = scopes;
        ClientId = clientId;
        RedirectUri = redirectUri;
        ParticipantId = participantId;
        DelegateTo = delegateTo;
        Timeout = timeout;
        Request = request;
    }

    /// <summary>The server's id for this request; answers name it.</summary>
    public string RequestId { get; }

    /// <summary>Where to send the user to authorize (<c>oauth.authorization_endpoint</c>).</summary>
    public string AuthorizationEndpoint { get; }

    /// <summary>The token endpoint the server will exchange the code at (<c>oauth.token_endpoint</c>).</summary>
    public string TokenEndpoint { get; }

    /// <summary>The PKCE S256 code challenge to put in the authorization URL, or null when PKCE is not used.</summary>
    public string? Challenge { get; }

    /// <summary>The scopes to ask for, or null.</summary>
    public IReadOnlyList<string>? Scopes { get; }

    /// <summary>The OAuth client id, if sent.</summary>
    public string? ClientId { get; }

    /// <summary>The redirect URI the code must be issued for (<c>redirect_uri</c>), if sent.</summary>
#pragma warning disable CA1056 // Forwarded verbatim from the requester; it need not parse as a Uri.
    public string? RedirectUri { get; }
#pragma warning restore CA1056

    /// <summary>The participant id the request was addressed to (this connection), if sent.</summary>
    public string? ParticipantId { get; }

    /// <summary>The identity the token is to be delegated to (<c>delegate_to</c>), or null.</summary>
    public string? DelegateTo { get; }

    /// <summary>How long the requester waits (<c>timeout</c>), if sent.</summary>
    public TimeSpan? Timeout { get; }

    /// <summary>The request object as the server forwarded it (a copy).</summary>
    public JsonObject Request { get; }
}

/// <summary>What an <see cref="OAuthTokenRequestHandler"/> decided.</summary>
public sealed class OAuthAuthorizationResult
{
    private OAuthAuthorizationResult(string? code, string? error, bool deferred)
    {
        Code = code;
        Error = error;
        IsDeferred = deferred;
    }

    /// <summary>The handler answers by itself later (or not at all).</summary>
    public static OAuthAuthorizationResult Deferred { get; } = new(null, null, deferred: true);

    /// <summary>The authorization code, or null when rejecting or deferred.</summary>
    public string? Code { get; }

    /// <summary>The rejection reason, or null.</summary>
    public string? Error { get; }

    /// <summary>Whether the SDK sends nothing.</summary>
    public bool IsDeferred { get; }

    /// <summary>Provides the authorization code the user obtained.</summary>
    /// <param name="code">The code.</param>
    /// <returns>The result.</returns>
    public static OAuthAuthorizationResult Provide(string code)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        return new(code, null, deferred: false);
    }

    /// <summary>Rejects the authorization (for example <c>access_denied</c>).</summary>
    /// <param name="error">The reason.</param>
    /// <returns>The result.</returns>
    public static OAuthAuthorizationResult Reject(string error)
    {
        ArgumentException.ThrowIfNullOrEmpty(error);
        return new(null, error, deferred: false);
    }
}

/// <summary>
/// Answers a <c>secrets.request_oauth_token</c> prompt: typically sends the user to the authorization endpoint and
/// returns the code (<see cref="OAuthAuthorizationResult.Provide"/>) or a rejection; the SDK then calls
/// <c>provide_oauth_authorization</c>. An exception rejects with a generic reason. Handlers run outside the receive loop.
/// </summary>
/// <param name="request">The prompt.</param>
/// <param name="cancellationToken">Cancelled when the answer is no longer wanted.</param>
/// <returns>The decision.</returns>
public delegate Task<OAuthAuthorizationResult> OAuthTokenRequestHandler(OAuthAuthorizationRequest request, CancellationToken cancellationToken);
