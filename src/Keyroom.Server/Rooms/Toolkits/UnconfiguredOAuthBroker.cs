using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Keyroom.Core.Auth;
using Keyroom.Server.OAuth;

namespace Keyroom.Server.Rooms.Toolkits;

/// <summary>
/// Stands in for the OAuth broker until one is registered: real S256 PKCE pairs, no stored tokens, and code
/// exchanges that fail with error 1007 (dependency missing).
/// </summary>
internal sealed class UnconfiguredOAuthBroker : IOAuthBroker
{
    public PkcePair CreatePkce()
    {
        var verifier = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        return new PkcePair(verifier, Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
    }

    public Task<string?> GetStoredAccessTokenAsync(Principal caller, OAuthTokenRequest request, CancellationToken ct) => Task.FromResult<string?>(null);

    public Task<string> ExchangeCodeAsync(Principal caller, OAuthTokenRequest request, string code, string? codeVerifier, CancellationToken ct) =>
        Task.FromException<string>(new NotSupportedException("OAuth code exchange is not available: this server has no OAuth broker configured"));
}
