using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keyroom.Protocol;

namespace Keyroom.Client.Rooms;

/// <summary>
/// The room <c>secrets</c> toolkit (spec 4): secrets owned by an identity in this room, the request/provide flow
/// between participants, and OAuth tokens. Inputs are sent exactly as the official client sends them (every key
/// present, <c>null</c> when not set); replies are validated strictly. Incoming prompts are answered by
/// <see cref="SecretRequestHandler"/> and <see cref="OAuthTokenRequestHandler"/>, which can be set at any time and
/// stay in place across reconnects.
/// </summary>
public sealed class SecretsClient
{
    /// <summary>The <c>timeout</c> the official client sends when none is given: 300 seconds.</summary>
    public static readonly TimeSpan DefaultPromptTimeout = TimeSpan.FromSeconds(300);

    /// <summary>Extra time a request waits beyond the server-side timeout it asked for, so the server's own answer arrives first.</summary>
    private static readonly TimeSpan ServerTimeoutMargin = TimeSpan.FromSeconds(15);

    private readonly RoomClient _room;
    private volatile SecretRequestHandler? _secretRequestHandler;
    private volatile OAuthTokenRequestHandler? _oauthTokenRequestHandler;

    internal SecretsClient(RoomClient room, SecretRequestHandler? secretRequestHandler, OAuthTokenRequestHandler? oauthTokenRequestHandler)
    {
        _room = room;
        _secretRequestHandler = secretRequestHandler;
        _oauthTokenRequestHandler = oauthTokenRequestHandler;
    }

    /// <summary>Answers <c>secrets.request_secret</c> prompts; null leaves them unanswered (the requester times out).</summary>
    public SecretRequestHandler? SecretRequestHandler
    {
        get => _secretRequestHandler;
        set => _secretRequestHandler = value;
    }

    /// <summary>Answers <c>secrets.request_oauth_token</c> prompts; null leaves them unanswered.</summary>
    public OAuthTokenRequestHandler? OAuthTokenRequestHandler
    {
        get => _oauthTokenRequestHandler;
        set => _oauthTokenRequestHandler = value;
    }

    /// <summary>Lists the caller's secrets in this room (<c>list_secrets</c>).</summary>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The secrets, without values.</returns>
    /// <exception cref="RoomServerException">The server refused, or the reply is not the expected JSON.</exception>
    public async Task<IReadOnlyList<RoomSecretInfo>> ListSecretsAsync(CancellationToken cancellationToken = default)
    {
        var reply = await CallAsync(SecretsRequests.ListSecrets(), cancellationToken).ConfigureAwait(false);
        return SecretsReplies.ParseList(reply);
    }

    /// <summary>Tells whether a secret exists (<c>exists</c>).</summary>
    /// <param name="secretId">The secret's id.</param>
    /// <param name="delegatedTo">The delegate the secret was stored for, if any.</param>
    /// <param name="forIdentity">Check another identity's secret (needs the admin grant unless it is the caller's own).</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>Whether it exists.</returns>
    /// <exception cref="RoomServerException">The server refused, or the reply is not <c>{"exists": bool}</c>.</exception>
    public async Task<bool> ExistsAsync(string secretId, string? delegatedTo = null, string? forIdentity = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(secretId);
        var reply = await CallAsync(SecretsRequests.Exists(secretId, delegatedTo, forIdentity), cancellationToken).ConfigureAwait(false);
        return SecretsReplies.ParseExists(reply);
    }

    /// <summary>Stores a secret (<c>set_secret</c>, binary); an existing secret with the same id is replaced.</summary>
    /// <param name="secretId">The secret's id, or null to let the server choose or match by type and name.</param>
    /// <param name="data">The value (may be empty).</param>
    /// <param name="type">The secret's type, usually a MIME type.</param>
    /// <param name="name">The secret's name.</param>
    /// <param name="delegatedTo">An identity to delegate the secret to.</param>
    /// <param name="forIdentity">Store it for another identity (needs the admin grant unless it is the caller's own).</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>A task that completes when the server has stored it.</returns>
    /// <exception cref="RoomServerException">The server refused, or the reply is not empty or JSON.</exception>
    public async Task SetSecretAsync(
        string? secretId,
        ReadOnlyMemory<byte> data,
        string? type = null,
        string? name = null,
        string? delegatedTo = null,
        string? forIdentity = null,
        CancellationToken cancellationToken = default)
    {
        var reply = await CallAsync(SecretsRequests.SetSecret(secretId, data, type, name, delegatedTo, forIdentity), cancellationToken).ConfigureAwait(false);
        SecretsReplies.RequireEmptyOrJson(reply, "set_secret");
    }

    /// <summary>Reads a secret (<c>get_secret</c>) by id, or by type and/or name when <paramref name="secretId"/> is null.</summary>
    /// <param name="secretId">The secret's id, or null.</param>
    /// <param name="type">The type to match, or null.</param>
    /// <param name="name">The name to match, or null.</param>
    /// <param name="delegatedTo">The delegate the secret was stored for, if any.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The value, or null when there is no such secret (<c>empty</c> reply).</returns>
    /// <exception cref="RoomServerException">The server refused, or the reply is neither a file nor empty.</exception>
    public async Task<RoomSecret?> GetSecretAsync(string? secretId, string? type = null, string? name = null, string? delegatedTo = null, CancellationToken cancellationToken = default)
    {
        var reply = await CallAsync(SecretsRequests.GetSecret(secretId, type, name, delegatedTo), cancellationToken).ConfigureAwait(false);
        return reply switch
        {
            FileContent file => new RoomSecret(file.Data, file.Name, file.MimeType),
            EmptyContent => null,
            _ => throw SecretsReplies.Unexpected("get_secret"),
        };
    }

    /// <summary>Deletes a secret (<c>delete_secret</c>; the wire key is <c>id</c>).</summary>
    /// <param name="secretId">The secret's id.</param>
    /// <param name="delegatedTo">The delegate the secret was stored for, if any.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>A task that completes when the server has answered.</returns>
    /// <exception cref="RoomServerException">The server refused, or the reply is not empty or JSON.</exception>
    public async Task DeleteSecretAsync(string secretId, string? delegatedTo = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(secretId);
        var reply = await CallAsync(SecretsRequests.DeleteSecret(secretId, delegatedTo), cancellationToken).ConfigureAwait(false);
        SecretsReplies.RequireEmptyOrJson(reply, "delete_secret");
    }

    /// <summary>Deletes a secret obtained earlier through <see cref="RequestSecretAsync"/> (<c>delete_requested_secret</c>).</summary>
    /// <param name="url">The request's url.</param>
    /// <param name="type">The request's type.</param>
    /// <param name="delegatedTo">The request's delegate, if any.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>A task that completes when the server has answered.</returns>
    /// <exception cref="RoomServerException">The server refused, or the reply is not empty or JSON.</exception>
#pragma warning disable CA1054 // The url is an opaque key chosen by the requester, sent as a string.
    public async Task DeleteRequestedSecretAsync(string url, string type, string? delegatedTo = null, CancellationToken cancellationToken = default)
#pragma warning restore CA1054
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(type);
        var reply = await CallAsync(SecretsRequests.DeleteRequestedSecret(url, type, delegatedTo), cancellationToken).ConfigureAwait(false);
        SecretsReplies.RequireEmptyOrJson(reply, "delete_requested_secret");
    }

    /// <summary>
    /// Asks another participant for a secret (<c>request_secret</c>): the server prompts it and this call waits for
    /// the answer, up to <paramref name="timeout"/> (default 300 s, sent in whole seconds).
    /// </summary>
    /// <param name="fromParticipantId">The participant id to ask (from <see cref="MessagingClient"/> presence).</param>
    /// <param name="url">What the secret is for.</param>
    /// <param name="type">The secret's type.</param>
    /// <param name="timeout">How long the server waits for the answer; null for 300 s.</param>
    /// <param name="delegateTo">An identity the secret is to be delegated to.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The secret's bytes.</returns>
    /// <exception cref="RoomServerException">The participant rejected, was not found, or did not answer in time.</exception>
#pragma warning disable CA1054 // The url is an opaque key chosen by the requester, sent as a string.
    public async Task<byte[]> RequestSecretAsync(
        string fromParticipantId,
        string url,
        string type,
        TimeSpan? timeout = null,
        string? delegateTo = null,
        CancellationToken cancellationToken = default)
#pragma warning restore CA1054
    {
        ArgumentNullException.ThrowIfNull(fromParticipantId);
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(type);
        var seconds = SecretsRequests.Seconds(timeout ?? DefaultPromptTimeout);
        var reply = await _room.InvokeAsync(
            SecretsRequests.RequestSecret(fromParticipantId, url, type, seconds, delegateTo),
            TimeSpan.FromSeconds(seconds) + ServerTimeoutMargin,
            cancellationToken).ConfigureAwait(false);
        return reply is FileContent file ? file.Data.ToArray() : throw SecretsReplies.Unexpected("request_secret");
    }

    /// <summary>Answers a secret request with the secret (<c>provide_secret</c>, binary, <c>error: null</c>).</summary>
    /// <param name="requestId">The prompt's <see cref="SecretRequest.RequestId"/>.</param>
    /// <param name="data">The secret's bytes.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>A task that completes when the server has accepted the answer.</returns>
    /// <exception cref="RoomServerException">The request is unknown or expired, or was not addressed to this participant.</exception>
    public async Task ProvideSecretAsync(string requestId, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        var reply = await CallAsync(SecretsRequests.ProvideSecret(requestId, data, error: null), cancellationToken).ConfigureAwait(false);
        SecretsReplies.RequireEmptyOrJson(reply, "provide_secret");
    }

    /// <summary>Rejects a secret request (<c>provide_secret</c> with <c>error</c> set and no bytes).</summary>
    /// <param name="requestId">The prompt's <see cref="SecretRequest.RequestId"/>.</param>
    /// <param name="error">The reason, shown to the requester.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>A task that completes when the server has accepted the answer.</returns>
    /// <exception cref="RoomServerException">The request is unknown or expired.</exception>
    public async Task RejectSecretAsync(string requestId, string error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        ArgumentNullException.ThrowIfNull(error);
        var reply = await CallAsync(SecretsRequests.ProvideSecret(requestId, ReadOnlyMemory<byte>.Empty, error), cancellationToken).ConfigureAwait(false);
        SecretsReplies.RequireEmptyOrJson(reply, "provide_secret");
    }

    /// <summary>
    /// Gets an OAuth access token (<c>request_oauth_token</c>): the server returns a stored or refreshed token, or
    /// prompts <paramref name="fromParticipantId"/> to authorize and exchanges the code.
    /// </summary>
    /// <param name="fromParticipantId">The participant id to prompt if needed.</param>
    /// <param name="oauth">The OAuth client, or null when <paramref name="connector"/> identifies it.</param>
    /// <param name="redirectUri">The redirect URI the code is issued for.</param>
    /// <param name="connector">A connector reference, or null.</param>
    /// <param name="timeout">How long the server waits for the authorization; null for 300 s.</param>
    /// <param name="delegateTo">An identity the token is to be delegated to.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The access token, or null when the server returned none.</returns>
    /// <exception cref="RoomServerException">The grant does not allow this client, the user rejected, or it timed out.</exception>
#pragma warning disable CA1054 // Sent verbatim as the official client does.
    public async Task<string?> RequestOAuthTokenAsync(
        string fromParticipantId,
        OAuthClientConfig? oauth,
        string redirectUri,
        ConnectorRef? connector = null,
        TimeSpan? timeout = null,
        string? delegateTo = null,
        CancellationToken cancellationToken = default)
#pragma warning restore CA1054
    {
        ArgumentNullException.ThrowIfNull(fromParticipantId);
        ArgumentNullException.ThrowIfNull(redirectUri);
        var seconds = SecretsRequests.Seconds(timeout ?? DefaultPromptTimeout);
        var reply = await _room.InvokeAsync(
            SecretsRequests.RequestOAuthToken(fromParticipantId, oauth, redirectUri, connector, seconds, delegateTo),
            TimeSpan.FromSeconds(seconds) + ServerTimeoutMargin,
            cancellationToken).ConfigureAwait(false);
        if (reply is not JsonContent json)
        {
            throw SecretsReplies.Unexpected("request_oauth_token");
        }

        return json.Json["access_token"] is JsonValue value && value.GetValueKind() == JsonValueKind.String
            && value.GetValue<string>() is { Length: > 0 } token ? token : null;
    }

    /// <summary>Answers an OAuth prompt with the authorization code (<c>provide_oauth_authorization</c>).</summary>
    /// <param name="requestId">The prompt's <see cref="OAuthAuthorizationRequest.RequestId"/>.</param>
    /// <param name="code">The authorization code.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>A task that completes when the server has accepted the answer.</returns>
    /// <exception cref="RoomServerException">The request is unknown or expired.</exception>
    public async Task ProvideOAuthAuthorizationAsync(string requestId, string code, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        ArgumentNullException.ThrowIfNull(code);
        var reply = await CallAsync(SecretsRequests.ProvideOAuthAuthorization(requestId, code, error: null), cancellationToken).ConfigureAwait(false);
        SecretsReplies.RequireEmptyOrJson(reply, "provide_oauth_authorization");
    }

    /// <summary>Rejects an OAuth prompt (<c>provide_oauth_authorization</c> with <c>code: null</c>).</summary>
    /// <param name="requestId">The prompt's <see cref="OAuthAuthorizationRequest.RequestId"/>.</param>
    /// <param name="error">The reason, for example <c>access_denied</c>.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>A task that completes when the server has accepted the answer.</returns>
    /// <exception cref="RoomServerException">The request is unknown or expired.</exception>
    public async Task RejectOAuthAuthorizationAsync(string requestId, string error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        ArgumentNullException.ThrowIfNull(error);
        var reply = await CallAsync(SecretsRequests.ProvideOAuthAuthorization(requestId, code: null, error), cancellationToken).ConfigureAwait(false);
        SecretsReplies.RequireEmptyOrJson(reply, "provide_oauth_authorization");
    }

    /// <summary>Gets a stored (refreshed if needed) OAuth access token without prompting anyone (<c>get_offline_oauth_token</c>).</summary>
    /// <param name="oauth">The OAuth client, or null when <paramref name="connector"/> identifies it.</param>
    /// <param name="connector">A connector reference, or null.</param>
    /// <param name="delegatedTo">The delegate the token was stored for, if any.</param>
    /// <param name="delegatedBy">The identity that delegated it, if any.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The access token, or null when none is stored.</returns>
    /// <exception cref="RoomServerException">The grant does not allow this client, or the reply is not the expected JSON.</exception>
    public async Task<string?> GetOfflineOAuthTokenAsync(
        OAuthClientConfig? oauth,
        ConnectorRef? connector = null,
        string? delegatedTo = null,
        string? delegatedBy = null,
        CancellationToken cancellationToken = default)
    {
        var reply = await CallAsync(SecretsRequests.GetOfflineOAuthToken(oauth, connector, delegatedTo, delegatedBy), cancellationToken).ConfigureAwait(false);
        if (reply is not JsonContent json)
        {
            throw SecretsReplies.Unexpected("get_offline_oauth_token");
        }

        return json.Json["access_token"] switch
        {
            null => null,
            JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
            _ => throw SecretsReplies.Unexpected("get_offline_oauth_token"),
        };
    }

    /// <summary>Handles a <c>secrets.request_secret</c> message (on the receive loop: the handler runs on the thread pool).</summary>
    internal void HandleSecretPrompt(JsonObject header)
    {
        var handler = _secretRequestHandler;
        if (handler is null
            || RoomSession.OptionalString(header, "request_id") is not { } requestId
            || header["request"] is not JsonObject request
            || RoomSession.OptionalString(request, "url") is not { } url
            || RoomSession.OptionalString(request, "type") is not { } type)
        {
            return;
        }

        var timeout = SecretsReplies.OptionalSeconds(request["timeout"]);
        var prompt = new SecretRequest(
            requestId, url, type,
            RoomSession.OptionalString(request, "delegate_to"),
            RoomSession.OptionalString(request, "participant_id"),
            timeout,
            (JsonObject)request.DeepClone());
        _ = Task.Run(() => AnswerSecretPromptAsync(handler, prompt), CancellationToken.None);
    }

    /// <summary>Handles a <c>secrets.request_oauth_token</c> message.</summary>
    internal void HandleOAuthPrompt(JsonObject header)
    {
        var handler = _oauthTokenRequestHandler;
        if (handler is null
            || RoomSession.OptionalString(header, "request_id") is not { } requestId
            || header["request"] is not JsonObject request
            || request["oauth"] is not JsonObject oauth
            || RoomSession.OptionalString(oauth, "authorization_endpoint") is not { } authorizationEndpoint
            || RoomSession.OptionalString(oauth, "token_endpoint") is not { } tokenEndpoint)
        {
            return;
        }

        List<string>? scopes = null;
        if (oauth["scopes"] is JsonArray array)
        {
            scopes = [];
            foreach (var item in array)
            {
                if (item is JsonValue value && value.GetValueKind() == JsonValueKind.String)
                {
                    scopes.Add(value.GetValue<string>());
                }
            }
        }

        var prompt = new OAuthAuthorizationRequest(
            requestId,
            authorizationEndpoint,
            tokenEndpoint,
            RoomSession.OptionalString(header, "challenge"),
            scopes,
            RoomSession.OptionalString(oauth, "client_id"),
            RoomSession.OptionalString(request, "redirect_uri"),
            RoomSession.OptionalString(request, "participant_id"),
            RoomSession.OptionalString(request, "delegate_to"),
            SecretsReplies.OptionalSeconds(request["timeout"]),
            (JsonObject)request.DeepClone());
        _ = Task.Run(() => AnswerOAuthPromptAsync(handler, prompt), CancellationToken.None);
    }

    private Task<Content> CallAsync(InvokeToolRequest request, CancellationToken cancellationToken) =>
        _room.InvokeAsync(request, minimumTimeout: null, cancellationToken);

    private async Task AnswerSecretPromptAsync(SecretRequestHandler handler, SecretRequest prompt)
    {
        using var answerWindow = AnswerWindow(prompt.Timeout);
        SecretRequestResult result;
        try
        {
            result = await handler(prompt, answerWindow.Token).ConfigureAwait(false) ?? SecretRequestResult.Reject("the participant did not provide the secret");
        }
        catch (OperationCanceledException) when (answerWindow.IsCancellationRequested)
        {
            return;
        }
#pragma warning disable CA1031 // The handler's exception becomes a rejection; its message is not sent (it may hold details).
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _room.ReportCallbackFailure("secrets.request_secret handler", ex);
            result = SecretRequestResult.Reject("the participant could not provide the secret");
        }

        if (result.IsDeferred)
        {
            return;
        }

        try
        {
            if (result.Error is { } error)
            {
                await RejectSecretAsync(prompt.RequestId, error, answerWindow.Token).ConfigureAwait(false);
            }
            else
            {
                await ProvideSecretAsync(prompt.RequestId, result.Data, answerWindow.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is RoomException or TimeoutException or OperationCanceledException or ObjectDisposedException)
        {
            _room.ReportCallbackFailure("answering secrets.request_secret", ex);
        }
    }

    private async Task AnswerOAuthPromptAsync(OAuthTokenRequestHandler handler, OAuthAuthorizationRequest prompt)
    {
        using var answerWindow = AnswerWindow(prompt.Timeout);
        OAuthAuthorizationResult result;
        try
        {
            result = await handler(prompt, answerWindow.Token).ConfigureAwait(false) ?? OAuthAuthorizationResult.Reject("the participant did not authorize");
        }
        catch (OperationCanceledException) when (answerWindow.IsCancellationRequested)
        {
            return;
        }
#pragma warning disable CA1031 // The handler's exception becomes a rejection; its message is not sent.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _room.ReportCallbackFailure("secrets.request_oauth_token handler", ex);
            result = OAuthAuthorizationResult.Reject("the participant could not authorize");
        }

        if (result.IsDeferred)
        {
            return;
        }

        try
        {
            if (result.Error is { } error)
            {
                await RejectOAuthAuthorizationAsync(prompt.RequestId, error, answerWindow.Token).ConfigureAwait(false);
            }
            else
            {
                await ProvideOAuthAuthorizationAsync(prompt.RequestId, result.Code!, answerWindow.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is RoomException or TimeoutException or OperationCanceledException or ObjectDisposedException)
        {
            _room.ReportCallbackFailure("answering secrets.request_oauth_token", ex);
        }
    }

    /// <summary>A token cancelled when the prompt's timeout passes or the client ends.</summary>
    private CancellationTokenSource AnswerWindow(TimeSpan? timeout)
    {
        CancellationTokenSource window;
        try
        {
            window = CancellationTokenSource.CreateLinkedTokenSource(_room.Lifetime);
        }
        catch (ObjectDisposedException)
        {
            window = new CancellationTokenSource();
            window.Cancel();
            return window;
        }

        window.CancelAfter(timeout ?? DefaultPromptTimeout);
        return window;
    }
}

/// <summary>Builds the secrets toolkit's requests exactly as the official client does (spec 4.1, examples/secrets-toolkit.json).</summary>
internal static class SecretsRequests
{
    public const string Toolkit = "secrets";

    public static InvokeToolRequest ListSecrets() => Json("list_secrets", []);

    public static InvokeToolRequest Exists(string secretId, string? delegatedTo, string? forIdentity) => Json("exists", new JsonObject
    {
        ["secret_id"] = secretId,
        ["delegated_to"] = delegatedTo,
        ["for_identity"] = forIdentity,
    });

    public static InvokeToolRequest SetSecret(string? secretId, ReadOnlyMemory<byte> data, string? type, string? name, string? delegatedTo, string? forIdentity) =>
        new(Toolkit, "set_secret", new BinaryContent(data, new JsonObject
        {
            ["secret_id"] = secretId,
            ["type"] = type,
            ["name"] = name,
            ["delegated_to"] = delegatedTo,
            ["for_identity"] = forIdentity,
            ["has_data"] = true,
        }));

    public static InvokeToolRequest GetSecret(string? secretId, string? type, string? name, string? delegatedTo) => Json("get_secret", new JsonObject
    {
        ["secret_id"] = secretId,
        ["type"] = type,
        ["name"] = name,
        ["delegated_to"] = delegatedTo,
    });

    public static InvokeToolRequest DeleteSecret(string secretId, string? delegatedTo) => Json("delete_secret", new JsonObject
    {
        ["id"] = secretId,
        ["delegated_to"] = delegatedTo,
    });

    public static InvokeToolRequest DeleteRequestedSecret(string url, string type, string? delegatedTo) => Json("delete_requested_secret", new JsonObject
    {
        ["url"] = url,
        ["type"] = type,
        ["delegated_to"] = delegatedTo,
    });

    public static InvokeToolRequest RequestSecret(string participantId, string url, string type, int timeoutSeconds, string? delegateTo) => Json("request_secret", new JsonObject
    {
        ["url"] = url,
        ["type"] = type,
        ["participant_id"] = participantId,
        ["timeout"] = timeoutSeconds,
        ["delegate_to"] = delegateTo,
    });

    public static InvokeToolRequest ProvideSecret(string requestId, ReadOnlyMemory<byte> data, string? error) =>
        new(Toolkit, "provide_secret", new BinaryContent(data, new JsonObject
        {
            ["request_id"] = requestId,
            ["error"] = error,
        }));

    public static InvokeToolRequest RequestOAuthToken(string participantId, OAuthClientConfig? oauth, string redirectUri, ConnectorRef? connector, int timeoutSeconds, string? delegateTo) =>
        Json("request_oauth_token", new JsonObject
        {
            ["connector"] = connector?.ToJson(),
            ["oauth"] = oauth?.ToJson(),
            ["redirect_uri"] = redirectUri,
            ["timeout"] = timeoutSeconds,
            ["participant_id"] = participantId,
            ["delegate_to"] = delegateTo,
        });

    public static InvokeToolRequest ProvideOAuthAuthorization(string requestId, string? code, string? error) => Json("provide_oauth_authorization", new JsonObject
    {
        ["request_id"] = requestId,
        ["code"] = code,
        ["error"] = error,
    });

    public static InvokeToolRequest GetOfflineOAuthToken(OAuthClientConfig? oauth, ConnectorRef? connector, string? delegatedTo, string? delegatedBy) =>
        Json("get_offline_oauth_token", new JsonObject
        {
            ["connector"] = connector?.ToJson(),
            ["oauth"] = oauth?.ToJson(),
            ["delegated_to"] = delegatedTo,
            ["delegated_by"] = delegatedBy,
        });

    /// <summary>Whole seconds, rounded up, at least 1.</summary>
    public static int Seconds(TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), "the timeout must be positive");
        }

        return (int)Math.Min(int.MaxValue, Math.Ceiling(timeout.TotalSeconds));
    }

    private static InvokeToolRequest Json(string tool, JsonObject input) => new(Toolkit, tool, new JsonContent(input));
}

/// <summary>Strict validation of the secrets toolkit's replies (spec 4.1).</summary>
internal static class SecretsReplies
{
    public static RoomServerException Unexpected(string tool) => new("unexpected return type from secrets." + tool);

    public static void RequireEmptyOrJson(Content reply, string tool)
    {
        if (reply is not (EmptyContent or JsonContent))
        {
            throw Unexpected(tool);
        }
    }

    public static bool ParseExists(Content reply) =>
        reply is JsonContent json && json.Json["exists"] is JsonValue value && value.GetValueKind() is JsonValueKind.True or JsonValueKind.False
            ? value.GetValue<bool>()
            : throw Unexpected("exists");

    public static IReadOnlyList<RoomSecretInfo> ParseList(Content reply)
    {
        if (reply is not JsonContent json || json.Json["secrets"] is not JsonArray items)
        {
            throw Unexpected("list_secrets");
        }

        var list = new List<RoomSecretInfo>(items.Count);
        foreach (var item in items)
        {
            if (item is not JsonObject secret
                || RoomSession.OptionalString(secret, "id") is not { } id
                || RoomSession.OptionalString(secret, "name") is not { } name
                || RoomSession.OptionalString(secret, "type") is not { } type)
            {
                throw Unexpected("list_secrets");
            }

            string? delegatedTo = secret["delegated_to"] switch
            {
                null => null,
                JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
                _ => throw Unexpected("list_secrets"),
            };
            list.Add(new RoomSecretInfo(id, name, type, delegatedTo));
        }

        return list;
    }

    public static TimeSpan? OptionalSeconds(JsonNode? node)
    {
        if (node is JsonValue value && value.GetValueKind() == JsonValueKind.Number && value.TryGetValue<double>(out var seconds) && seconds > 0 && seconds < int.MaxValue)
        {
            return TimeSpan.FromSeconds(seconds);
        }

        if (node is JsonValue text && text.GetValueKind() == JsonValueKind.String
            && double.TryParse(text.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && parsed > 0 && parsed < int.MaxValue)
        {
            return TimeSpan.FromSeconds(parsed);
        }

        return null;
    }
}
