using System.Text;
using Keyroom.Core.Crypto;
using Keyroom.Core.Storage;

namespace Keyroom.Server.Admin;

/// <summary>
/// The system project: the one created on first start. Admin-role keys of this project are server admins
/// (<c>/admin/…</c>). Its id is kept sealed in meta (so a database edit cannot promote another project); for
/// stores created before it was recorded, the oldest project counts, and start-up records that.
/// </summary>
internal sealed class SystemProject
{
    /// <summary>The meta entry; sealed, so it is bound to the master key and re-wrapped by rotations.</summary>
    public const string MetaName = "sealed:system-project-id";

    private readonly IKeyroomStore _store;
    private readonly EnvelopeCipher _cipher;
    private volatile string? _id;

    public SystemProject(IKeyroomStore store, EnvelopeCipher cipher)
    {
        _store = store;
        _cipher = cipher;
    }

    /// <summary>The system project's id, or null when the store has no project at all.</summary>
    public async ValueTask<string?> GetIdAsync(CancellationToken cancellationToken)
    {
        if (_id is { } cached)
        {
            return cached;
        }

        var id = await ReadRecordedAsync(_store, _cipher, cancellationToken)
            ?? (await _store.ListProjectsAsync(cancellationToken)).MinBy(p => p.CreatedAt)?.Id;
        _id = id;
        return id;
    }

    /// <summary>The recorded id, or null when none is recorded. Throws IntegrityFailure when it was tampered with.</summary>
    public static async Task<string?> ReadRecordedAsync(IMetaStore store, EnvelopeCipher cipher, CancellationToken cancellationToken)
    {
        var blob = await store.GetMetaAsync(MetaName, cancellationToken);
        return blob is null ? null : Encoding.UTF8.GetString(cipher.Open(blob, AssociatedData.ForInternal(MetaName)));
    }

    /// <summary>Records the system project's id.</summary>
    public static Task RecordAsync(IMetaStore store, EnvelopeCipher cipher, string projectId, CancellationToken cancellationToken) =>
        store.SetMetaAsync(MetaName, cipher.Seal(Encoding.UTF8.GetBytes(projectId), AssociatedData.ForInternal(MetaName)), cancellationToken);
}
