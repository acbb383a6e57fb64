using System.Text.Json.Nodes;
using Keyroom.Core.Auth;

namespace Keyroom.Server.OAuth;

/// <summary>One OAuth token request from a room: who asks, on whose behalf, and the requester's
/// <c>oauth</c> / <c>connector</c> objects as sent (client_secret included; never log them).</summary>
internal sealed record OAuthTokenRequest(string ProjectId, string Room, string Owner, string DelegatedTo, JsonObject Oauth, JsonObject? Connector, string? RedirectUri)
{
    // The generated ToString would print Oauth, client_secret included; print only what identifies the request.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("ProjectId = ").Append(ProjectId).Append(", Room = ").Append(Room)
            .Append(", Owner = ").Append(Owner).Append(", DelegatedTo = ").Append(DelegatedTo);
        return true;
    }
}

/// <summary>A PKCE verifier and its S256 challenge.</summary>
internal sealed record PkcePair(string Verifier, string Challenge)
{
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("Challenge = ").Append(Challenge);
        return true;
    }
}

/// <summary>The OAuth broker the room <c>secrets</c> toolkit delegates to (implemented in this folder).</summary>
internal interface IOAuthBroker
{
    /// <summary>Creates a PKCE pair (S256).</summary>
    PkcePair CreatePkce();

    /// <summary>A valid (or refreshed) stored access token for the request's owner/delegation/endpoint, else null. Never prompts.</summary>
    Task<string?> GetStoredAccessTokenAsync(Principal caller, OAuthTokenRequest request, CancellationToken ct);

    /// <summary>Exchanges an authorization code at the token endpoint, stores the credential and returns the access token;
    /// throws <see cref="Keyroom.Core.KeyroomException"/> on failure.</summary>
    Task<string> ExchangeCodeAsync(Principal caller, OAuthTokenRequest request, string code, string? codeVerifier, CancellationToken ct);
}
