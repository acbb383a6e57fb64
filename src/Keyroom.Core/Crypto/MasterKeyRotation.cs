using System.Text;
using System.Text.Json;
using Keyroom.Core.Storage;
using Microsoft.Extensions.Logging;

namespace Keyroom.Core.Crypto;

/// <summary>Which master keys a store uses right now.</summary>
/// <param name="ActiveKeyId">The key that seals new data.</param>
/// <param name="KeyIdsInUse">The key ids that seal at least one stored value, sorted.</param>
/// <param name="HeldKeyIds">The key ids this server can open, sorted.</param>
public sealed record MasterKeyStatus(string ActiveKeyId, IReadOnlyList<string> KeyIdsInUse, IReadOnlyList<string> HeldKeyIds);

/// <summary>The result of re-wrapping every stored value under the active master key.</summary>
/// <param name="ActiveKeyId">The key everything is now wrapped under.</param>
/// <param name="Rewrapped">How many stored values were re-wrapped.</param>
/// <param name="Passes">How many passes over the store it took (more than one when writes raced the first).</param>
/// <param name="KeyIdsInUse">The key ids in use afterwards; only the active one when complete.</param>
public sealed record RewrapOutcome(string ActiveKeyId, int Rewrapped, int Passes, IReadOnlyList<string> KeyIdsInUse)
{
    /// <summary>Whether nothing stored uses any key but the active one.</summary>
    public bool IsComplete => KeyIdsInUse.All(id => string.Equals(id, ActiveKeyId, StringComparison.Ordinal));
}

/// <summary>
/// Online master key rotation. Values are never decrypted: only each value's data key is unwrapped with the
/// key that sealed it and wrapped again under the active key (<see cref="EnvelopeCipher.Rewrap"/>).
/// </summary>
/// <remarks>
/// <para>Order of a rotation, and why it is safe while the server keeps serving:</para>
/// <list type="number">
/// <item>The keyring is rotated first, so every seal from then on uses the new key; the old key stays
/// readable.</item>
/// <item>Every stored value is re-wrapped in short batches (<see cref="IRewrapStore.RewrapAllAsync"/>). A
/// store only replaces a blob that is still the one it read, so a concurrent write is never overwritten with
/// an older value.</item>
/// <item>A write barrier (a store write, which queues behind every write transaction already running) lets
/// writes that sealed with the old key just before the rotation commit, then
/// <see cref="IRewrapStore.GetKeyIdsInUseAsync"/> is asked again. Steps 2–3 repeat until only the active key
/// is in use, and once more after a short settle delay, because a caller may seal outside a store
/// transaction and write a moment later.</item>
/// <item>Only then may the caller retire old keys (<see cref="RetireUnused"/>), and remove them from
/// wherever keys are kept.</item>
/// </list>
/// A value that cannot be re-wrapped (tampered, or sealed with a key the server does not hold) is counted,
/// not fatal for the rest; the rotation then fails with <see cref="KeyroomError.IntegrityFailure"/> and no key
/// is reported as retirable.
/// </remarks>
public sealed partial class MasterKeyRotation
{
    /// <summary>The meta entry that records the progress of the last rotation (plain JSON, no secrets).</summary>
    public const string StateMetaName = "master-key-rotation";

    private readonly IRewrapStore _store;
    private readonly IMetaStore _meta;
    private readonly EnvelopeCipher _cipher;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the service.</summary>
    public MasterKeyRotation(IRewrapStore store, IMetaStore meta, EnvelopeCipher cipher, TimeProvider time, ILogger<MasterKeyRotation> logger)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _meta = meta ?? throw new ArgumentNullException(nameof(meta));
        _cipher = cipher ?? throw new ArgumentNullException(nameof(cipher));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>How long to wait before the final check (see the remarks). Default 200 ms.</summary>
    public TimeSpan SettleDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The most passes over the store before giving up with a Conflict. Default 20.</summary>
    public int MaxPasses { get; init; } = 20;

    /// <summary>The keyring being rotated.</summary>
    public Keyring Keyring => _cipher.Keyring;

    /// <summary>The active key and the keys in use.</summary>
    public async Task<MasterKeyStatus> GetStatusAsync(CancellationToken cancellationToken)
    {
        var active = Keyring.Active.KeyId;
        var inUse = await _store.GetKeyIdsInUseAsync(cancellationToken);
        return new MasterKeyStatus(active, Sorted(inUse), Sorted(Keyring.KeyIds));
    }

    /// <summary>
    /// Makes <paramref name="newActive"/> the active key (the keyring takes ownership), then re-wraps
    /// everything under it. Old keys stay in the keyring; retire them with <see cref="RetireUnused"/>.
    /// </summary>
    public async Task<RewrapOutcome> RotateAsync(MasterKey newActive, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(newActive);
        var previous = Keyring.Rotate(newActive);
        Log.Rotated(_logger, previous.KeyId, newActive.KeyId);
        return await RewrapToActiveAsync(cancellationToken);
    }

    /// <summary>
    /// Re-wraps every stored value under the active key and repeats until nothing uses another key (see the
    /// remarks). Throws IntegrityFailure when some value could not be re-wrapped, and Conflict when writes
    /// under an old key keep appearing after <see cref="MaxPasses"/> passes.
    /// </summary>
    public async Task<RewrapOutcome> RewrapToActiveAsync(CancellationToken cancellationToken)
    {
        var active = Keyring.Active.KeyId;
        var total = 0;
        var settled = false;
        for (var pass = 1; pass <= MaxPasses; pass++)
        {
            if (!string.Equals(Keyring.Active.KeyId, active, StringComparison.Ordinal))
            {
                throw new KeyroomException(KeyroomError.Conflict, "the active master key changed while re-wrapping; run the rotation again");
            }

            var failures = 0;
            var rewrapped = await _store.RewrapAllAsync(item =>
            {
                try
                {
                    return _cipher.Rewrap(item.Blob, item.AssociatedData);
                }
                catch (KeyroomException ex) when (ex.Error == KeyroomError.IntegrityFailure)
                {
                    failures++;
                    return null;
                }
            }, cancellationToken);
            total += rewrapped;
            Log.Pass(_logger, pass, rewrapped, active);
            if (failures > 0)
            {
                await WriteStateAsync("failed", active, pass, total, cancellationToken);
                throw new KeyroomException(
                    KeyroomError.IntegrityFailure,
                    $"{failures} stored value(s) could not be re-wrapped (tampered, moved, or sealed with a master key this server does not hold); no key may be retired");
            }

            // The barrier: a store write queues behind every write transaction already running, so writes that
            // sealed with an old key before the keyring rotated have committed once it returns.
            await WriteStateAsync("rewrapping", active, pass, total, cancellationToken);
            var inUse = Sorted(await _store.GetKeyIdsInUseAsync(cancellationToken));
            var outcome = new RewrapOutcome(active, total, pass, inUse);
            if (!outcome.IsComplete)
            {
                settled = false;
                continue;
            }

            if (settled)
            {
                await WriteStateAsync("complete", active, pass, total, cancellationToken);
                Log.Complete(_logger, active, total, pass);
                return outcome;
            }

            // Clean once: wait briefly for a seal made outside a store transaction to be written, then look again.
            settled = true;
            if (SettleDelay > TimeSpan.Zero)
            {
                await Task.Delay(SettleDelay, _time, cancellationToken);
            }
        }

        await WriteStateAsync("incomplete", active, MaxPasses, total, cancellationToken);
        throw new KeyroomException(KeyroomError.Conflict,
            $"values sealed with an old master key kept appearing after {MaxPasses} passes; no key may be retired yet, run the rotation again");
    }

    /// <summary>
    /// Retires every held key except the active one that <paramref name="keyIdsInUse"/> does not list, and
    /// returns their ids. Pass the ids from a complete <see cref="RewrapOutcome"/>.
    /// </summary>
    public IReadOnlyList<string> RetireUnused(IReadOnlyCollection<string> keyIdsInUse)
    {
        ArgumentNullException.ThrowIfNull(keyIdsInUse);
        var retired = new List<string>();
        foreach (var id in Keyring.PreviousKeyIds)
        {
            if (!keyIdsInUse.Contains(id, StringComparer.Ordinal) && Keyring.Retire(id))
            {
                retired.Add(id);
                Log.Retired(_logger, id);
            }
        }

        return retired;
    }

    private Task WriteStateAsync(string state, string activeKeyId, int pass, int rewrapped, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["state"] = state,
            ["active_key_id"] = activeKeyId,
            ["pass"] = pass,
            ["rewrapped"] = rewrapped,
            ["at"] = _time.GetUtcNow().ToUnixTimeMilliseconds(),
        });
        return _meta.SetMetaAsync(StateMetaName, Encoding.UTF8.GetBytes(json), cancellationToken);
    }

    private static string[] Sorted(IEnumerable<string> ids) => [.. ids.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    private static partial class Log
    {
        [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Master key rotated: {PreviousKeyId} -> {ActiveKeyId}; re-wrapping stored values")]
        public static partial void Rotated(ILogger logger, string previousKeyId, string activeKeyId);

        [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Re-wrap pass {Pass}: {Count} values re-wrapped under {ActiveKeyId}")]
        public static partial void Pass(ILogger logger, int pass, int count, string activeKeyId);

        [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Re-wrap complete: everything is under master key {ActiveKeyId} ({Count} values re-wrapped in {Passes} passes)")]
        public static partial void Complete(ILogger logger, string activeKeyId, int count, int passes);

        [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Master key {KeyId} retired")]
        public static partial void Retired(ILogger logger, string keyId);
    }
}
