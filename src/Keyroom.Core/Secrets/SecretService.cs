using Keyroom.Core.Audit;
using Keyroom.Core.Auth;
using Keyroom.Core.Crypto;
using Keyroom.Core.Storage;

namespace Keyroom.Core.Secrets;

/// <summary>Limits applied to every secret write.</summary>
/// <param name="MaxValueBytes">The largest value accepted.</param>
/// <param name="KeepVersions">How many versions of each secret are kept.</param>
public sealed record SecretLimits(int MaxValueBytes, int KeepVersions)
{
    /// <summary>Project (REST) secrets: 64 KiB, 10 versions.</summary>
    public static SecretLimits ProjectDefault { get; } = new(64 * 1024, 10);
}

/// <summary>A decrypted secret. The caller owns <see cref="Value"/> and should zero it when done.</summary>
/// <param name="Info">Its metadata.</param>
/// <param name="Version">Which version was read.</param>
/// <param name="Value">The plaintext.</param>
public sealed record SecretValue(SecretInfo Info, int Version, byte[] Value);

/// <summary>
/// Secret operations: authorize, seal or open, store, audit. The read path is exactly: authorization
/// decision → one store read → unwrap and decrypt with the row's associated data; the audit entry is
/// queued on the side. Writes are audited durably before they return.
/// </summary>
public sealed class SecretService
{
    private readonly ISecretStore _store;
    private readonly EnvelopeCipher _cipher;
    private readonly AuditLog _audit;

    /// <summary>Creates the service.</summary>
    public SecretService(ISecretStore store, EnvelopeCipher cipher, AuditLog audit)
    {
        _store = store;
        _cipher = cipher;
        _audit = audit;
    }

    /// <summary>Creates, updates or upserts a secret, keeping previous versions.</summary>
    public async Task<SecretInfo> WriteAsync(
        Principal principal, SecretKey key, string name, string type, ReadOnlyMemory<byte> value, WriteMode mode, SecretLimits limits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var action = mode == WriteMode.Create ? "secret.create" : "secret.write";
        try
        {
            SecretAuthorizer.Demand(principal, SecretAction.Write, key);
            ValidateKey(key);
            if (value.Length > limits.MaxValueBytes)
            {
                throw new KeyroomException(KeyroomError.TooLarge, $"a secret value may be at most {limits.MaxValueBytes} bytes; this one is {value.Length}");
            }

            SecretValueRules.Validate(type, value.Span);
            var info = await _store.WriteAsync(
                key, name, type, mode, version => _cipher.Seal(value.Span, AssociatedData.ForSecret(key, version)), limits.KeepVersions, cancellationToken);
            await _audit.RecordDurablyAsync(Event(principal, action, key, "ok"));
            return info;
        }
        catch (KeyroomException ex)
        {
            await _audit.RecordDurablyAsync(Event(principal, action, key, Outcome(ex)));
            throw;
        }
    }

    /// <summary>Reads and decrypts the current or a given version; NotFound when it does not exist.</summary>
    public async Task<SecretValue> ReadAsync(Principal principal, SecretKey key, int? version, CancellationToken cancellationToken)
    {
        try
        {
            SecretAuthorizer.Demand(principal, SecretAction.Read, key);
            var sealedSecret = await _store.ReadAsync(key, version, cancellationToken)
                ?? throw KeyroomException.NotFound(version is null ? "secret" : "secret version");
            var value = _cipher.Open(sealedSecret.Blob, AssociatedData.ForSecret(key, sealedSecret.Version));
            _audit.Record(Event(principal, "secret.read", key, "ok"));
            return new SecretValue(sealedSecret.Info, sealedSecret.Version, value);
        }
        catch (KeyroomException ex)
        {
            _audit.Record(Event(principal, "secret.read", key, Outcome(ex)));
            throw;
        }
    }

    /// <summary>Finds a secret by type and/or name (room lookups without an id); null when none matches.</summary>
    public async Task<SecretInfo?> FindAsync(Principal principal, SecretQuery query, string? type, string? name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        SecretAuthorizer.Demand(principal, SecretAction.List, new SecretKey(query.ProjectId, query.Scope, query.Owner ?? principal.Identity, query.DelegatedTo ?? string.Empty, string.Empty));
        return await _store.FindAsync(query, type, name, cancellationToken);
    }

    /// <summary>
    /// The metadata of the current version, for a caller about to write <paramref name="key"/> (so an update can keep
    /// the name and type it did not give); null when the secret does not exist. Nothing is decrypted or audited here:
    /// the write that follows is.
    /// </summary>
    public async Task<SecretInfo?> InfoForWriteAsync(Principal principal, SecretKey key, CancellationToken cancellationToken)
    {
        SecretAuthorizer.Demand(principal, SecretAction.Write, key);
        return (await _store.ReadAsync(key, null, cancellationToken))?.Info;
    }

    /// <summary>Lists metadata in a scope (owner as in the query).</summary>
    public async Task<IReadOnlyList<SecretInfo>> ListAsync(Principal principal, SecretQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var probe = new SecretKey(query.ProjectId, query.Scope, query.Owner ?? string.Empty, query.DelegatedTo ?? string.Empty, string.Empty);
        try
        {
            SecretAuthorizer.Demand(principal, SecretAction.List, probe);
            var list = await _store.ListAsync(query, cancellationToken);
            _audit.Record(Event(principal, "secret.list", probe, "ok"));
            return list;
        }
        catch (KeyroomException ex)
        {
            _audit.Record(Event(principal, "secret.list", probe, Outcome(ex)));
            throw;
        }
    }

    /// <summary>Lists a secret's stored versions, newest first; NotFound when it does not exist.</summary>
    public async Task<IReadOnlyList<SecretVersionInfo>> ListVersionsAsync(Principal principal, SecretKey key, CancellationToken cancellationToken)
    {
        SecretAuthorizer.Demand(principal, SecretAction.Read, key);
        var versions = await _store.ListVersionsAsync(key, cancellationToken);
        return versions.Count == 0 ? throw KeyroomException.NotFound("secret") : versions;
    }

    /// <summary>Deletes a secret with all versions; NotFound when it does not exist.</summary>
    public async Task DeleteAsync(Principal principal, SecretKey key, CancellationToken cancellationToken)
    {
        try
        {
            SecretAuthorizer.Demand(principal, SecretAction.Delete, key);
            if (!await _store.DeleteAsync(key, cancellationToken))
            {
                throw KeyroomException.NotFound("secret");
            }

            await _audit.RecordDurablyAsync(Event(principal, "secret.delete", key, "ok"));
        }
        catch (KeyroomException ex)
        {
            await _audit.RecordDurablyAsync(Event(principal, "secret.delete", key, Outcome(ex)));
            throw;
        }
    }

    /// <summary>Checks an id or identity is usable as a key field.</summary>
    public static void ValidateKey(in SecretKey key)
    {
        if (string.IsNullOrWhiteSpace(key.Id) || key.Id.Length > 256)
        {
            throw KeyroomException.Invalid("a secret id must be 1 to 256 characters");
        }

        if (key.Owner.Length > 256 || key.DelegatedTo.Length > 256)
        {
            throw KeyroomException.Invalid("identities are at most 256 characters");
        }
    }

    private static AuditEvent Event(Principal principal, string action, in SecretKey key, string outcome) =>
        new(key.ProjectId, principal.AuditActor, action, Target(key), outcome);

    /// <summary>The value-free audit target of a secret.</summary>
    public static string Target(in SecretKey key) =>
        key.Scope == SecretKey.ProjectScope
            ? "project/secret/" + key.Id
            : key.Scope + "/owner/" + key.Owner + (key.DelegatedTo.Length > 0 ? "/delegated/" + key.DelegatedTo : string.Empty) + "/secret/" + key.Id;

    /// <summary>The audit outcome for an error.</summary>
    public static string Outcome(KeyroomException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        return ex.Error switch
        {
            KeyroomError.PermissionDenied or KeyroomError.Unauthenticated => "denied",
            KeyroomError.NotFound => "not_found",
            KeyroomError.InvalidRequest or KeyroomError.TooLarge => "invalid",
            KeyroomError.AlreadyExists or KeyroomError.Conflict => "conflict",
            _ => "error",
        };
    }
}
