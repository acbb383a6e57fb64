using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Keyroom.Core.Accounts;
using Keyroom.Core.Audit;
using Keyroom.Core.Crypto;
using Keyroom.Core.Storage;

namespace Keyroom.Core.Auth;

/// <summary>
/// Issues API keys and authenticates callers. A key's secret part is stored sealed under the master key
/// (it is also the HMAC key of the participant JWTs it signs, so it cannot be a one-way hash); it is
/// decrypted once and cached in memory so authentication costs one dictionary lookup and one constant-time
/// comparison or HMAC.
/// </summary>
public sealed class ApiKeyService : IDisposable
{
    private readonly IAccountStore _store;
    private readonly EnvelopeCipher _cipher;
    private readonly AuditLog _audit;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<Guid, CachedKey> _cache = new();
    private readonly SemaphoreSlim _deleteGate = new(1, 1);

    // Verified tokens by their exact text. Parsing and verifying a JWT costs several times a cache hit, and
    // agents reuse one token for many calls. A hit is valid only while the signing key is still cached (so
    // deleting a key or clearing the cache revokes its tokens at once) and the token has not expired.
    private const int MaxVerifiedTokens = 10_000;
    private readonly ConcurrentDictionary<string, VerifiedToken> _verifiedTokens = new(StringComparer.Ordinal);

    /// <summary>Creates the service.</summary>
    public ApiKeyService(IAccountStore store, EnvelopeCipher cipher, AuditLog audit, TimeProvider time)
    {
        _store = store;
        _cipher = cipher;
        _audit = audit;
        _time = time;
    }

    /// <summary>Creates a key. The returned text is the only time the secret is shown.</summary>
    public async Task<(ApiKeyRecord Record, ApiKeyString Key)> CreateAsync(string projectId, string name, string description, ProjectRole role, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(projectId);
        if (string.IsNullOrWhiteSpace(name) || name.Length > 200)
        {
            throw KeyroomException.Invalid("an API key needs a name of 1 to 200 characters");
        }

        var key = ApiKeyString.Generate(Guid.Parse(projectId));
        var sealedSecret = _cipher.Seal(Encoding.UTF8.GetBytes(key.Secret), AssociatedData.ForApiKey(key.KeyId));
        var record = new ApiKeyRecord(key.KeyId, projectId, name, description ?? string.Empty, role, sealedSecret, _time.GetUtcNow());
        await _store.CreateApiKeyAsync(record, cancellationToken);
        return (record, key);
    }

    /// <summary>Deletes a key and forgets it at once; false when the project has no such key.</summary>
    /// <exception cref="KeyroomException">
    /// <see cref="KeyroomError.Conflict"/>: the key is the project's last admin key. Nobody could create keys,
    /// rotate or read the audit of the project afterwards, so another admin key must exist first.
    /// </exception>
    public async Task<bool> DeleteAsync(string projectId, Guid keyId, CancellationToken cancellationToken)
    {
        // Deletes are rare: one at a time, so two concurrent deletes cannot remove the last two admin keys
        // (each seeing the other still there). Per process, like the other write locks of a single node.
        await _deleteGate.WaitAsync(cancellationToken);
        try
        {
            var keys = await _store.ListApiKeysAsync(projectId, cancellationToken);
            var target = keys.FirstOrDefault(k => k.Id == keyId);
            if (target is null)
            {
                return false;
            }

            if (target.Role == ProjectRole.Admin && !keys.Any(k => k.Id != keyId && k.Role == ProjectRole.Admin))
            {
                throw new KeyroomException(
                    KeyroomError.Conflict,
                    "this is the project's last admin API key: create another admin key before deleting it");
            }

            var deleted = await _store.DeleteApiKeyAsync(projectId, keyId, cancellationToken);
            _cache.TryRemove(keyId, out _);
            return deleted;
        }
        finally
        {
            _deleteGate.Release();
        }
    }

    /// <summary>Releases the delete lock.</summary>
    public void Dispose() => _deleteGate.Dispose();

    /// <summary>Forgets every cached key (after a master key rotation or for tests).</summary>
    public void ClearCache()
    {
        _cache.Clear();
        _verifiedTokens.Clear();
    }

    /// <summary>
    /// Authenticates a bearer credential: a <c>ma-…</c> API key or a participant JWT. Throws
    /// Unauthenticated with a generic message; the reason is only audited.
    /// </summary>
    public async ValueTask<Principal> AuthenticateAsync(string? bearer, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(bearer))
        {
            throw Fail("none", "missing credentials");
        }

        if (bearer.StartsWith("ma-", StringComparison.Ordinal))
        {
            if (!ApiKeyString.TryParse(bearer, out var apiKey))
            {
                throw Fail("malformed-key", "malformed API key");
            }

            var cached = await GetAsync(apiKey.KeyId, cancellationToken);
            if (cached is null || !string.Equals(cached.Record.ProjectId, apiKey.ProjectId.ToString("D"), StringComparison.Ordinal)
                || !CryptographicOperations.FixedTimeEquals(cached.SecretUtf8, Encoding.UTF8.GetBytes(apiKey.Secret)))
            {
                throw Fail("key:" + apiKey.KeyId.ToString("D"), "unknown or wrong API key");
            }

            return new Principal(cached.Record.ProjectId, cached.Record.Name, cached.Record.Role, CredentialKind.ApiKey, cached.Record.Id, null);
        }

        return await AuthenticateTokenAsync(bearer, cancellationToken);
    }

    /// <summary>Authenticates a participant JWT (room connections and REST bearer tokens).</summary>
    public async ValueTask<Principal> AuthenticateTokenAsync(string jwt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jwt);
        if (_verifiedTokens.TryGetValue(jwt, out var hit))
        {
            if (_cache.TryGetValue(hit.Principal.KeyId, out var current) && ReferenceEquals(current, hit.SigningKey)
                && (hit.Principal.Token!.ExpiresAt is not { } expires || expires > _time.GetUtcNow()))
            {
                return hit.Principal;
            }

            _verifiedTokens.TryRemove(jwt, out _);
        }

        var unverified = ParticipantToken.ReadUnverified(jwt) ?? throw Fail("malformed-token", "malformed token");
        var token = unverified.Token;
        if (token.KeyId is null || !Guid.TryParse(token.KeyId, out var keyId))
        {
            // Tokens without kid are signed with a deployment secret in MeshAgent (spec U1); Keyroom has none.
            throw Fail("token:" + token.Name, "token has no kid");
        }

        var cached = await GetAsync(keyId, cancellationToken);
        if (cached is null || !unverified.Verify(cached.SecretUtf8, _time.GetUtcNow()))
        {
            throw Fail("token:" + token.Name + "@" + keyId.ToString("D"), "bad signature, unknown key or expired");
        }

        if (token.ProjectId is not null && !string.Equals(token.ProjectId, cached.Record.ProjectId, StringComparison.Ordinal))
        {
            throw Fail("token:" + token.Name + "@" + keyId.ToString("D"), "token project does not match its key");
        }

        var principal = new Principal(cached.Record.ProjectId, token.Name, cached.Record.Role, CredentialKind.ParticipantToken, keyId, token);
        if (_verifiedTokens.Count >= MaxVerifiedTokens)
        {
            _verifiedTokens.Clear();
        }

        _verifiedTokens[jwt] = new VerifiedToken(principal, cached);
        return principal;
    }

    /// <summary>Signs a participant token with the secret of an API key (used by <c>connect</c>).</summary>
    public async Task<string> SignAsync(Guid keyId, ParticipantToken token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        var cached = await GetAsync(keyId, cancellationToken) ?? throw KeyroomException.NotFound("API key");
        token.KeyId = keyId.ToString("D");
        token.ProjectId = cached.Record.ProjectId;
        return token.Sign(Encoding.UTF8.GetString(cached.SecretUtf8));
    }

    private async ValueTask<CachedKey?> GetAsync(Guid keyId, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue(keyId, out var cached))
        {
            return cached;
        }

        var record = await _store.GetApiKeyAsync(keyId, cancellationToken);
        if (record is null)
        {
            return null;
        }

        var secret = _cipher.Open(record.SealedSecret, AssociatedData.ForApiKey(record.Id));
        cached = new CachedKey(record, secret);
        _cache[keyId] = cached;
        return cached;
    }

    private KeyroomException Fail(string actor, string reason)
    {
        _audit.Record(new AuditEvent(string.Empty, actor, "auth.failure", reason, "denied"));
        return new KeyroomException(KeyroomError.Unauthenticated, "invalid or missing credentials");
    }

    private sealed record CachedKey(ApiKeyRecord Record, byte[] SecretUtf8);

    private sealed record VerifiedToken(Principal Principal, CachedKey SigningKey);
}
