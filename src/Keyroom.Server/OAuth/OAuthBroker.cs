using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Keyroom.Core;
using Keyroom.Core.Auth;
using Keyroom.Core.Secrets;
using Keyroom.Server.Concurrency;
using Keyroom.Server.Hosting;
using Microsoft.Extensions.Options;

namespace Keyroom.Server.OAuth;

/// <summary>
/// The OAuth broker behind the room <c>secrets</c> toolkit (spec §4.2, §4.3). A credential (access token,
/// refresh token, expiry, scope, endpoints, client id and secret) is one encrypted room secret of type
/// <see cref="OAuthClientConfig.CredentialType"/>, owned by the request's owner and delegation, with an id
/// derived from (authorization endpoint, client id). Every read and write goes through
/// <see cref="SecretService"/>, so the caller's grants decide as for any room secret.
/// </summary>
/// <remarks>
/// Refresh is single-flight per credential (see <see cref="KeyedLocks{TKey}"/>). Once a code or refresh token has
/// been sent, the call runs to the end (store included) even if the caller goes away, because the provider
/// has already spent what was sent and a rotated refresh token that is not stored would be lost.
/// </remarks>
internal sealed class OAuthBroker : IOAuthBroker
{
    private readonly SecretService _secrets;
    private readonly TokenEndpoint _tokens;
    private readonly TimeProvider _time;
    private readonly ILogger<OAuthBroker> _logger;
    private readonly SecretLimits _limits;
    private readonly KeyedLocks<string> _locks = new();

    public OAuthBroker(SecretService secrets, TokenEndpoint tokens, IOptions<KeyroomOptions> keyroom, TimeProvider time, ILogger<OAuthBroker> logger)
    {
        _secrets = secrets;
        _tokens = tokens;
        _time = time;
        _logger = logger;
        // Only the current credential is kept: superseded refresh tokens are useless and still sensitive.
        _limits = new SecretLimits(keyroom.Value.MaxRoomSecretBytes, KeepVersions: 1);
    }

    /// <summary>Locks currently held or awaited (for tests).</summary>
    internal int ActiveLocks => _locks.Count;

    public PkcePair CreatePkce()
    {
        Span<byte> random = stackalloc byte[32];
        RandomNumberGenerator.Fill(random);
        var verifier = Base64Url.EncodeToString(random);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.ASCII.GetBytes(verifier), hash);
        return new PkcePair(verifier, Base64Url.EncodeToString(hash));
    }

    public async Task<string?> GetStoredAccessTokenAsync(Principal caller, OAuthTokenRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        var config = OAuthClientConfig.Parse(request.Oauth);
        var key = config.CredentialKey(request);
        var credential = await ReadAsync(caller, key, config, ct);
        if (credential is null || credential.IsFresh(_time.GetUtcNow()))
        {
            return credential?.AccessToken;
        }

        if (credential.RefreshToken is null)
        {
            return null;
        }

        using (await _locks.AcquireAsync(LockName(key), ct))
        {
            // Another caller may have refreshed it while this one waited.
            credential = await ReadAsync(caller, key, config, ct);
            if (credential is null || credential.IsFresh(_time.GetUtcNow()))
            {
                return credential?.AccessToken;
            }

            return credential.RefreshToken is null ? null : await RefreshAsync(caller, key, config, credential);
        }
    }

    public async Task<string> ExchangeCodeAsync(Principal caller, OAuthTokenRequest request, string code, string? codeVerifier, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrEmpty(code))
        {
            throw KeyroomException.Invalid("the authorization code is empty");
        }

        var config = OAuthClientConfig.Parse(request.Oauth);
        var key = config.CredentialKey(request);
        // Before the code is spent: a caller that may not store the credential gets nothing.
        SecretAuthorizer.Demand(caller, SecretAction.Write, key);
        SecretService.ValidateKey(key);
        ct.ThrowIfCancellationRequested();

        var form = new List<KeyValuePair<string, string>> { new("grant_type", "authorization_code"), new("code", code) };
        if (!string.IsNullOrEmpty(request.RedirectUri))
        {
            form.Add(new("redirect_uri", request.RedirectUri));
        }

        if (!string.IsNullOrEmpty(codeVerifier))
        {
            form.Add(new("code_verifier", codeVerifier));
        }

        var host = config.TokenEndpoint.IdnHost;
        var result = await _tokens.RequestAsync(config.TokenEndpoint, config.ClientId, config.ClientSecret, ClientAuthMethod.ClientSecretPost, form, CancellationToken.None);
        if (result.Response is not { } response)
        {
            OAuthLog.ExchangeFailed(_logger, host, result.Failure, result.Error);
            throw result.Failure switch
            {
                TokenFailure.Rejected => KeyroomException.Invalid($"the OAuth provider at {host} rejected the authorization code ({result.Error})"),
                TokenFailure.Refused => KeyroomException.Invalid($"oauth.token_endpoint cannot be used: {result.Error}"),
                TokenFailure.TimedOut => TimedOut(host),
                _ => new KeyroomException(KeyroomError.Unavailable, $"the OAuth token endpoint at {host} failed ({result.Error})"),
            };
        }

        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var credential = new OAuthCredential
        {
            AccessToken = response.AccessToken,
            TokenType = response.TokenType,
            RefreshToken = response.RefreshToken,
            ObtainedAt = now,
            ExpiresAt = now + response.ExpiresIn,
            Scope = response.Scope ?? config.ScopeText,
            AuthorizationEndpoint = config.AuthorizationEndpoint,
            TokenEndpoint = config.TokenEndpoint.AbsoluteUri,
            ClientId = config.ClientId,
            ClientSecret = config.ClientSecret,
            ClientAuth = result.ClientAuth,
        };
        using (await _locks.AcquireAsync(LockName(key), CancellationToken.None))
        {
            await WriteAsync(caller, key, config, credential);
        }

        OAuthLog.ExchangeSucceeded(_logger, host, response.RefreshToken is not null, response.ExpiresIn);
        return response.AccessToken;
    }

    /// <summary>The error for a token endpoint that did not answer in time (code exchange or refresh).</summary>
    private KeyroomException TimedOut(string host) =>
        new(KeyroomError.Timeout, $"the OAuth token endpoint at {host} did not answer within {_tokens.TimeoutSeconds} s");

    /// <summary>Refreshes under the credential's lock; null when the provider refused the refresh token.</summary>
    private async Task<string?> RefreshAsync(Principal caller, SecretKey key, OAuthClientConfig config, OAuthCredential credential)
    {
        var clientSecret = config.ClientSecret ?? credential.ClientSecret;
        var form = new List<KeyValuePair<string, string>> { new("grant_type", "refresh_token"), new("refresh_token", credential.RefreshToken!) };
        var host = config.TokenEndpoint.IdnHost;
        var result = await _tokens.RequestAsync(config.TokenEndpoint, config.ClientId, clientSecret, credential.ClientAuth, form, CancellationToken.None);
        if (result.Response is not { } response)
        {
            if (result.Failure == TokenFailure.Rejected && result.Error == "invalid_grant")
            {
                // Expired, revoked or already used: it will never work again; the next request prompts.
                await DeleteAsync(caller, key);
                OAuthLog.RefreshRevoked(_logger, host, result.Error);
                return null;
            }

            OAuthLog.RefreshFailed(_logger, host, result.Failure, result.Error);
            throw result.Failure switch
            {
                TokenFailure.TimedOut => TimedOut(host),
                TokenFailure.Unavailable => new KeyroomException(KeyroomError.Unavailable, $"refreshing the OAuth token at {host} failed ({result.Error})"),

                // Rejected (other than invalid_grant) or refused by the outbound guard: the configuration is at fault.
                _ => KeyroomException.Invalid($"refreshing the OAuth token at {host} failed ({result.Error})"),
            };
        }

        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var refreshed = credential with
        {
            AccessToken = response.AccessToken,
            TokenType = response.TokenType ?? credential.TokenType,
            // A provider that does not rotate returns no refresh token: the old one stays valid.
            RefreshToken = response.RefreshToken ?? credential.RefreshToken,
            ObtainedAt = now,
            ExpiresAt = now + response.ExpiresIn,
            Scope = response.Scope ?? credential.Scope,
            ClientSecret = clientSecret,
            ClientAuth = result.ClientAuth,
        };
        await WriteAsync(caller, key, config, refreshed);
        OAuthLog.RefreshSucceeded(_logger, host, response.RefreshToken is not null, response.ExpiresIn);
        return response.AccessToken;
    }

    /// <summary>The stored credential for this configuration; null when there is none or it belongs to another configuration.</summary>
    private async Task<OAuthCredential?> ReadAsync(Principal caller, SecretKey key, OAuthClientConfig config, CancellationToken ct)
    {
        SecretValue stored;
        try
        {
            stored = await _secrets.ReadAsync(caller, key, version: null, ct);
        }
        catch (KeyroomException ex) when (ex.Error == KeyroomError.NotFound)
        {
            return null;
        }

        try
        {
            if (stored.Info.Type != OAuthClientConfig.CredentialType)
            {
                return null;
            }

            var credential = OAuthCredential.FromUtf8Bytes(stored.Value);
            // A different token endpoint for the same authorization endpoint and client: never send the
            // stored refresh token or client secret there; a new authorization replaces the credential.
            return credential is not null
                && credential.ClientId == config.ClientId
                && credential.AuthorizationEndpoint == config.AuthorizationEndpoint
                && credential.TokenEndpoint == config.TokenEndpoint.AbsoluteUri
                ? credential
                : null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(stored.Value);
        }
    }

    private async Task WriteAsync(Principal caller, SecretKey key, OAuthClientConfig config, OAuthCredential credential)
    {
        var bytes = credential.ToUtf8Bytes();
        try
        {
            await _secrets.WriteAsync(caller, key, config.CredentialName, OAuthClientConfig.CredentialType, bytes, WriteMode.Upsert, _limits, CancellationToken.None);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    private async Task DeleteAsync(Principal caller, SecretKey key)
    {
        try
        {
            await _secrets.DeleteAsync(caller, key, CancellationToken.None);
        }
        catch (KeyroomException ex) when (ex.Error == KeyroomError.NotFound)
        {
        }
    }

    private static string LockName(in SecretKey key) =>
        string.Join('\0', key.ProjectId, key.Scope, key.Owner, key.DelegatedTo, key.Id);
}
