using Keyroom.Core.Accounts;
using Keyroom.Core.Audit;
using Keyroom.Core.Secrets;

namespace Keyroom.Core.Storage;

/// <summary>
/// Secret persistence. Only ciphertext crosses this boundary. Implementations make each write atomic and
/// serialize writers to one secret, so versions are never skipped or reused.
/// </summary>
public interface ISecretStore
{
    /// <summary>
    /// Writes a new version. <paramref name="seal"/> is called inside the write transaction with the version
    /// number being written, so the ciphertext's associated data names exactly that version. Keeps at most
    /// <paramref name="keepVersions"/> versions.
    /// </summary>
    Task<SecretInfo> WriteAsync(SecretKey key, string name, string type, WriteMode mode, Func<int, byte[]> seal, int keepVersions, CancellationToken cancellationToken);

    /// <summary>Reads the current (or a given) version; null when the secret or version does not exist.</summary>
    Task<SealedSecret?> ReadAsync(SecretKey key, int? version, CancellationToken cancellationToken);

    /// <summary>Finds the first secret in a scope by owner/delegation and type and/or name.</summary>
    Task<SecretInfo?> FindAsync(SecretQuery query, string? type, string? name, CancellationToken cancellationToken);

    /// <summary>Lists secrets (metadata only), ordered by id.</summary>
    Task<IReadOnlyList<SecretInfo>> ListAsync(SecretQuery query, CancellationToken cancellationToken);

    /// <summary>Lists the stored versions of a secret, newest first; empty when it does not exist.</summary>
    Task<IReadOnlyList<SecretVersionInfo>> ListVersionsAsync(SecretKey key, CancellationToken cancellationToken);

    /// <summary>Deletes a secret and all its versions; false when it did not exist.</summary>
    Task<bool> DeleteAsync(SecretKey key, CancellationToken cancellationToken);

    /// <summary>Deletes every secret of a scope (for example when a room is deleted).</summary>
    Task<int> DeleteScopeAsync(string projectId, string scope, CancellationToken cancellationToken);
}

/// <summary>Projects, API keys and rooms.</summary>
public interface IAccountStore
{
    /// <summary>Creates a project.</summary>
    Task CreateProjectAsync(Project project, CancellationToken cancellationToken);

    /// <summary>Reads a project.</summary>
    Task<Project?> GetProjectAsync(string projectId, CancellationToken cancellationToken);

    /// <summary>Lists every project.</summary>
    Task<IReadOnlyList<Project>> ListProjectsAsync(CancellationToken cancellationToken);

    /// <summary>Stores a new API key (its secret sealed).</summary>
    Task CreateApiKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken);

    /// <summary>Reads an API key by id.</summary>
    Task<ApiKeyRecord?> GetApiKeyAsync(Guid keyId, CancellationToken cancellationToken);

    /// <summary>Lists a project's API keys.</summary>
    Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(string projectId, CancellationToken cancellationToken);

    /// <summary>Deletes an API key; false when it did not exist in that project.</summary>
    Task<bool> DeleteApiKeyAsync(string projectId, Guid keyId, CancellationToken cancellationToken);

    /// <summary>Creates a room; throws AlreadyExists when the name is taken in the project.</summary>
    Task CreateRoomAsync(Room room, CancellationToken cancellationToken);

    /// <summary>Reads a room by name.</summary>
    Task<Room?> GetRoomByNameAsync(string projectId, string name, CancellationToken cancellationToken);

    /// <summary>Reads a room by id.</summary>
    Task<Room?> GetRoomByIdAsync(string projectId, string roomId, CancellationToken cancellationToken);

    /// <summary>Lists rooms ordered by name.</summary>
    Task<IReadOnlyList<Room>> ListRoomsAsync(string projectId, int limit, int offset, CancellationToken cancellationToken);

    /// <summary>Replaces a room's name, metadata and annotations; false when it does not exist.</summary>
    Task<bool> UpdateRoomAsync(Room room, CancellationToken cancellationToken);

    /// <summary>Deletes a room; false when it did not exist.</summary>
    Task<bool> DeleteRoomAsync(string projectId, string roomId, CancellationToken cancellationToken);
}

/// <summary>Append-only audit storage. The chain itself is computed in Core.</summary>
public interface IAuditStore
{
    /// <summary>The last stored record (for continuing the chain), or null when empty.</summary>
    Task<AuditRecord?> GetLastAuditRecordAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Appends records and replaces the chain's head in one transaction. <paramref name="head"/> is an opaque,
    /// MAC'd value (<see cref="AuditChain.SealHead"/>) naming the last sequence; the store keeps it beside the
    /// entries so that deleting entries at the end of the chain is detected. <paramref name="records"/> may be
    /// empty (only the head is written).
    /// </summary>
    Task AppendAuditAsync(IReadOnlyList<AuditRecord> records, byte[] head, CancellationToken cancellationToken);

    /// <summary>The head written by the last <see cref="AppendAuditAsync"/>, or null when none was written.</summary>
    Task<byte[]?> GetAuditHeadAsync(CancellationToken cancellationToken);

    /// <summary>Reads records in sequence order, optionally only a project's.</summary>
    IAsyncEnumerable<AuditRecord> ReadAuditAsync(long afterSequence, CancellationToken cancellationToken);
}

/// <summary>Small named values the server keeps beside the data (key registry, sealed internal keys).</summary>
public interface IMetaStore
{
    /// <summary>Reads a value.</summary>
    Task<byte[]?> GetMetaAsync(string name, CancellationToken cancellationToken);

    /// <summary>Writes a value.</summary>
    Task SetMetaAsync(string name, byte[] value, CancellationToken cancellationToken);
}

/// <summary>An encrypted item visited during master key rotation.</summary>
/// <param name="Blob">The sealed bytes.</param>
/// <param name="AssociatedData">The associated data it was sealed with.</param>
public readonly record struct EncryptedItem(byte[] Blob, byte[] AssociatedData);

/// <summary>Visits every ciphertext so a rotation can re-wrap its data key.</summary>
public interface IRewrapStore
{
    /// <summary>
    /// Calls <paramref name="rewrap"/> on every sealed blob and stores the non-null results, in batches of
    /// their own transactions so a long rotation never blocks readers. Returns how many were rewritten.
    /// </summary>
    Task<int> RewrapAllAsync(Func<EncryptedItem, byte[]?> rewrap, CancellationToken cancellationToken);

    /// <summary>The distinct master key ids that still seal anything.</summary>
    Task<IReadOnlyCollection<string>> GetKeyIdsInUseAsync(CancellationToken cancellationToken);
}

/// <summary>Everything a server needs from its storage backend.</summary>
public interface IKeyroomStore : ISecretStore, IAccountStore, IAuditStore, IMetaStore, IRewrapStore
{
    /// <summary>Creates or migrates the schema.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);
}
