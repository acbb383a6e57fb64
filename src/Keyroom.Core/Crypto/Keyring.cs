namespace Keyroom.Core.Crypto;

/// <summary>
/// The master keys a server holds: one active key that seals everything new, and previous keys that can
/// still open data sealed before a rotation finished.
/// </summary>
public sealed class Keyring : IDisposable
{
    private readonly Dictionary<string, MasterKey> _byId;

    /// <summary>Creates a keyring; the first key is active.</summary>
    public Keyring(MasterKey active, IEnumerable<MasterKey>? previous = null)
    {
        ArgumentNullException.ThrowIfNull(active);
        Active = active;
        _byId = new Dictionary<string, MasterKey>(StringComparer.Ordinal) { [active.KeyId] = active };
        foreach (var key in previous ?? [])
        {
            _byId.TryAdd(key.KeyId, key);
        }
    }

    /// <summary>The key that seals new data.</summary>
    public MasterKey Active { get; }

    /// <summary>Every key id this keyring can open.</summary>
    public IReadOnlyCollection<string> KeyIds => _byId.Keys;

    /// <summary>Finds a key by id.</summary>
    public bool TryGet(string keyId, out MasterKey key) => _byId.TryGetValue(keyId, out key!);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var key in _byId.Values)
        {
            key.Dispose();
        }
    }
}
