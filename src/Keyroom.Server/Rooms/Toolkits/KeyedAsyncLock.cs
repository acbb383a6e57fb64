namespace Keyroom.Server.Rooms.Toolkits;

/// <summary>
/// An async mutual exclusion per key, for read-then-write sequences that must not interleave (two
/// <c>set_secret</c> calls by name that would otherwise both find nothing and both create). Entries exist only
/// while held or awaited. In-process only: one Keyroom server per database.
/// </summary>
internal sealed class KeyedAsyncLock<TKey>
    where TKey : notnull
{
    private readonly Dictionary<TKey, Entry> _entries = new();

    /// <summary>Waits for the key and returns the release (dispose it once).</summary>
    public async ValueTask<Releaser> AcquireAsync(TKey key, CancellationToken cancellationToken)
    {
        Entry entry;
        lock (_entries)
        {
            if (!_entries.TryGetValue(key, out entry!))
            {
                entry = new Entry();
                _entries.Add(key, entry);
            }

            entry.Users++;
        }

        try
        {
            await entry.Semaphore.WaitAsync(cancellationToken);
        }
        catch
        {
            Forget(key, entry);
            throw;
        }

        return new Releaser(this, key, entry);
    }

    /// <summary>Keys currently held or awaited (for tests).</summary>
    internal int Count
    {
        get
        {
            lock (_entries)
            {
                return _entries.Count;
            }
        }
    }

    private void Forget(TKey key, Entry entry)
    {
        lock (_entries)
        {
            if (--entry.Users == 0)
            {
                _entries.Remove(key);
            }
        }
    }

    /// <summary>Releases the key when disposed.</summary>
    internal readonly struct Releaser(KeyedAsyncLock<TKey> owner, TKey key, Entry entry) : IDisposable
    {
        public void Dispose()
        {
            entry.Semaphore.Release();
            owner.Forget(key, entry);
        }
    }

    internal sealed class Entry
    {
        public SemaphoreSlim Semaphore { get; } = new(1, 1);

        public int Users { get; set; }
    }
}
