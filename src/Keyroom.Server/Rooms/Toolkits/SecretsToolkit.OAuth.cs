using System.Text.Json.Nodes;
using Keyroom.Core;
using Keyroom.Core.Audit;
using Keyroom.Core.Auth;
using Keyroom.Protocol;
using Keyroom.Server.Accounts;
using Keyroom.Server.OAuth;

using JsonContent = Keyroom.Protocol.JsonContent;

namespace Keyroom.Server.Rooms.Toolkits;

/// <summary>The OAuth tools of the secrets toolkit (spec 4.3): the room side only; tokens are the broker's.</summary>
internal sealed partial class SecretsToolkit
{
    private async Task<Content> RequestOAuthTokenAsync(RoomToolCall call, CancellationToken cancellationToken)
    {
        var input = ToolInput.Json(call);
        var oauth = RequiredOAuth(input);
        var connector = ToolInput.OptionalObject(input, "connector");
        var redirectUri = ToolInput.OptionalString(input, "redirect_uri");
        var targetId = ToolInput.RequiredString(input, "participant_id");
        var delegateTo = ToolInput.OptionalString(input, "delegate_to") ?? string.Empty;
        var noPkce = ToolInput.OptionalBool(oauth, "no_pkce") == true;
        var timeout = RequestTimeout(input);
        DemandOAuthAllowed(call, oauth);

        // Credentials are owned by the requester; delegate_to is the delegation dimension.
        var request = new OAuthTokenRequest(
            call.Principal.ProjectId, call.Room.Name, call.Principal.Identity, delegateTo, (JsonObject)oauth.DeepClone(), (JsonObject?)connector?.DeepClone(), redirectUri);
        if (await _oauth.GetStoredAccessTokenAsync(call.Principal, request, cancellationToken) is { } stored)
        {
            return AccessToken(stored);
        }

        var target = FindParticipant(call, targetId);
        var pkce = noPkce ? null : _oauth.CreatePkce();
        var pending = call.Room.Pending.Add(PendingKind.OAuth, call.Caller, call.MessageId, target, timeout, "timed out waiting for authorization", _time);
        var outcome = "cancelled";
        try
        {
            // The requester's input, minus the client secret (spec 4.3); no keys are added to "oauth".
            var forwarded = (JsonObject)input.DeepClone();
            if (forwarded["oauth"] is JsonObject forwardedOAuth && forwardedOAuth.ContainsKey("client_secret"))
            {
                forwardedOAuth["client_secret"] = null;
            }

            target.Post(MessageTypes.RequestOAuthToken, new PackedMessage(new JsonObject
            {
                ["request_id"] = pending.Id,
                ["challenge"] = pkce?.Challenge,
                ["request"] = forwarded,
            }).Encode());

            ProviderAnswer answer;
            try
            {
                answer = await pending.Answer.WaitAsync(cancellationToken);
            }
            catch (KeyroomException ex)
            {
                outcome = Keyroom.Core.Secrets.SecretService.Outcome(ex);
                throw;
            }

            if (answer.Error is not null || answer.Code is null)
            {
                outcome = "rejected";
                return new ErrorContent(Truncate(answer.Error ?? "the authorization was declined"), ErrorCodes.PermissionDenied);
            }

            outcome = "exchange_failed";
            var token = await _oauth.ExchangeCodeAsync(call.Principal, request, answer.Code, pkce?.Verifier, cancellationToken);
            outcome = "ok";
            return AccessToken(token);
        }
        finally
        {
            call.Room.Pending.Remove(pending);
            _audit.Record(new AuditEvent(call.Principal.ProjectId, call.Principal.AuditActor, "oauth.request", RequestTarget(call, target), outcome));
            RoomsLog.RequestEnded(_logger, pending.Id, "oauth", call.Caller.ParticipantId, target.ParticipantId, outcome);
        }
    }

    private static EmptyContent ProvideOAuthAuthorization(RoomToolCall call)
    {
        var input = ToolInput.Json(call);
        var requestId = ToolInput.RequiredString(input, "request_id");
        var code = ToolInput.OptionalString(input, "code");
        var error = ToolInput.OptionalString(input, "error");
        if (code is null && error is null)
        {
            throw KeyroomException.Invalid("provide_oauth_authorization needs a code or an error");
        }

        if (!call.Room.Pending.TryTake(requestId, PendingKind.OAuth, call.Caller, out var pending))
        {
            throw new KeyroomException(KeyroomError.NotFound, "the request was not found");
        }

        pending.TryComplete(new ProviderAnswer(default, error is null ? code : null, error));
        return EmptyContent.Instance;
    }

    private async Task<Content> GetOfflineOAuthTokenAsync(RoomToolCall call, CancellationToken cancellationToken)
    {
        var input = ToolInput.Json(call);
        var oauth = RequiredOAuth(input);
        var connector = ToolInput.OptionalObject(input, "connector");
        var delegatedTo = ToolInput.OptionalString(input, "delegated_to") ?? string.Empty;
        var owner = ToolInput.OptionalString(input, "delegated_by") is { Length: > 0 } delegatedBy ? delegatedBy : call.Principal.Identity;
        DemandOAuthAllowed(call, oauth);
        if (!string.Equals(owner, call.Principal.Identity, StringComparison.Ordinal))
        {
            try
            {
                SecretAuthorizer.DemandActForOthers(call.Principal);
            }
            catch (KeyroomException)
            {
                AuditOAuthDenied(call, "oauth.offline");
                throw;
            }
        }

        var request = new OAuthTokenRequest(
            call.Principal.ProjectId, call.Room.Name, owner, delegatedTo, (JsonObject)oauth.DeepClone(), (JsonObject?)connector?.DeepClone(), null);
        return AccessToken(await _oauth.GetStoredAccessTokenAsync(call.Principal, request, cancellationToken));
    }

    /// <summary>The <c>oauth</c> object (OAuthClientConfig), with its string fields checked.</summary>
    private static JsonObject RequiredOAuth(JsonObject input)
    {
        var oauth = ToolInput.RequiredObject(input, "oauth");
        ToolInput.RequiredString(oauth, "client_id");
        ToolInput.RequiredString(oauth, "authorization_endpoint");
        ToolInput.RequiredString(oauth, "token_endpoint");
        ToolInput.OptionalString(oauth, "client_secret");
        return oauth;
    }

    /// <summary>The SecretsGrant allow-list (spec 1.5); checked before anything is looked up or anyone prompted.</summary>
    private void DemandOAuthAllowed(RoomToolCall call, JsonObject oauth)
    {
        var grant = call.Principal.Api?.Secrets;
        if (grant is null || !grant.CanRequestOAuthToken(ToolInput.OptionalString(oauth, "authorization_endpoint"), ToolInput.OptionalString(oauth, "client_id")))
        {
            AuditOAuthDenied(call, "oauth." + call.Tool);
            throw KeyroomException.Denied(RoomErrors.PermissionDenied + ": this OAuth endpoint and client are not in the token's secrets grant");
        }
    }

    private void AuditOAuthDenied(RoomToolCall call, string action) =>
        _audit.Record(new AuditEvent(call.Principal.ProjectId, call.Principal.AuditActor, action, AccountsAudit.Room(call.Room.Name), "denied"));

    private static JsonContent AccessToken(string? token) => new(new JsonObject { ["access_token"] = token });
}
