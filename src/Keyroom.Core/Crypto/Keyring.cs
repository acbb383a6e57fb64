namespace Keyroom.Core.Crypto;

/// <summary>
/// The master keys a server holds: one active key that seals everything new, and previous keys that can
/// still open data sealed before a rotation finished.
/// </summary>
/// <remarks>
/// Thread safety: the active key and the id lookup are immutable snapshots published through volatile
/// fields, so <see cref="Active"/>, <see cref="TryGet"/> and <see cref="KeyIds"/> never lock and never see
/// a half-made change. <see cref="Rotate"/> and <see cref="Retire"/> are serialized by a lock. A key is
/// added to the lookup before it becomes active, so a blob sealed with the new active key can always be
/// opened by a reader that sees it. The keyring owns its keys: a retired key leaves the lookup at once, but
/// its material is only zeroed when the keyring is disposed, because an operation that read it just before
/// the retirement may still be using it.
/// </remarks>
public sealed class Keyring : IDisposable
{
    private readonly Lock _gate = new();
    private readonly List<MasterKey> _owned = [];
    private volatile MasterKey _active;
    private volatile Dictionary<string, MasterKey> _byId;
    private bool _disposed;

    /// <summary>Creates a keyring; the first key is active.</summary>
    public Keyring(MasterKey active, IEnumerable<MasterKey>? previous = null)
    {
        ArgumentNullException.ThrowIfNull(active);
        _active = active;
        _owned.Add(active);
        var byId = new Dictionary<string, MasterKey>(StringComparer.Ordinal) { [active.KeyId] = active };
        foreach (var key in previous ?? [])
        {
            _owned.Add(key);
            byId.TryAdd(key.KeyId, key);
        }

        _byId = byId;
    }

    /// <summary>The key that seals new data.</summary>
    public MasterKey Active => _active;

    /// <summary>Every key id this keyring can open (a snapshot).</summary>
    public IReadOnlyCollection<string> KeyIds => _byId.Keys;

    /// <summary>The ids of the keys that can open data but do not seal new data (a snapshot).</summary>
    public IReadOnlyList<string> PreviousKeyIds
    {
        get
        {
            var active = _active.KeyId;
            return [.. _byId.Keys.Where(id => !string.Equals(id, active, StringComparison.Ordinal)).Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>Finds a key by id.</summary>
    public bool TryGet(string keyId, out MasterKey key) => _byId.TryGetValue(keyId, out key!);

    /// <summary>
    /// Makes <paramref name="newActive"/> the key that seals new data, keeping every key held so far
    /// readable. The keyring takes ownership of the key. Returns the key that was active before.
    /// </summary>
    public MasterKey Rotate(MasterKey newActive)
    {
        ArgumentNullException.ThrowIfNull(newActive);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var previous = _active;
            if (!_owned.Contains(newActive))
            {
                _owned.Add(newActive);
            }

            if (_byId.TryGetValue(newActive.KeyId, out var existing))
            {
                // Rotating back to a key still held (e.g. undoing a rotation): keep the instance readers use.
                _active = existing;
                return previous;
            }

            // Publish the lookup first, then the active key: whoever seals with the new key can be opened.
            _byId = new Dictionary<string, MasterKey>(_byId, StringComparer.Ordinal) { [newActive.KeyId] = newActive };
            _active = newActive;
            return previous;
        }
    }

    /// <summary>
    /// Removes a previous key so nothing can be opened with it any more. Only call this once nothing stored
    /// is sealed with it. Returns false when the key is not held; throws when it is the active key.
    /// </summary>
    public bool Retire(string keyId)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (string.Equals(_active.KeyId, keyId, StringComparison.Ordinal))
            {
                throw new InvalidOperationException("the active master key cannot be retired");
            }

            if (!_byId.ContainsKey(keyId))
            {
                return false;
            }

            var byId = new Dictionary<string, MasterKey>(_byId, StringComparer.Ordinal);
            byId.Remove(keyId);
            _byId = byId;
            return true;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var key in _owned)
            {
                key.Dispose();
            }
        }
    }
}
