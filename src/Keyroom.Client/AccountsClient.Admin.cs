using Keyroom.Client.Serialization;

namespace Keyroom.Client;

// Keyroom's server-wide admin endpoints (an admin key of the system project) and the project audit log.
public sealed partial class AccountsClient
{
    /// <summary>Creates a project with a first admin API key (server admin).</summary>
    /// <param name="name">The project's display name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The project and its admin key (shown once).</returns>
    public Task<CreatedProject> CreateProjectAsync(string name, CancellationToken cancellationToken = default) =>
        SendJsonAsync(HttpMethod.Post, "/admin/projects", new NameRequest(name),
            KeyroomJsonContext.Default.NameRequest, KeyroomJsonContext.Default.CreatedProject, cancellationToken);

    /// <summary>Lists every project on the server (server admin).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The projects.</returns>
    public async Task<IReadOnlyList<ProjectInfo>> ListProjectsAsync(CancellationToken cancellationToken = default)
    {
        var list = await GetAsync("/admin/projects", KeyroomJsonContext.Default.ProjectList, cancellationToken).ConfigureAwait(false);
        return list.Projects ?? [];
    }

    /// <summary>Reports the master keys in use (server admin).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The active key id, the ids in use and the key source.</returns>
    public Task<MasterKeyStatus> GetMasterKeyStatusAsync(CancellationToken cancellationToken = default) =>
        GetAsync("/admin/master-key", KeyroomJsonContext.Default.MasterKeyStatus, cancellationToken);

    /// <summary>Rotates the master key and re-wraps every data key (server admin).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new and previous key ids and how many data keys were re-wrapped.</returns>
    public Task<MasterKeyRotation> RotateMasterKeyAsync(CancellationToken cancellationToken = default) =>
        SendJsonAsync(HttpMethod.Post, "/admin/master-key/rotate", new EmptyRequest(),
            KeyroomJsonContext.Default.EmptyRequest, KeyroomJsonContext.Default.MasterKeyRotation, cancellationToken);

    /// <summary>Checks the whole audit chain (server admin).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether it is intact and, if not, where it breaks.</returns>
    public Task<AuditVerification> VerifyAuditAsync(CancellationToken cancellationToken = default) =>
        GetAsync("/admin/audit/verify", KeyroomJsonContext.Default.AuditVerification, cancellationToken);

    /// <summary>Reads the project's audit entries after a sequence number (project admin).</summary>
    /// <param name="after">Returns entries with a larger sequence number.</param>
    /// <param name="limit">The most entries to return.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The entries, oldest first.</returns>
    public async Task<IReadOnlyList<AuditEntry>> ListAuditAsync(long after = 0, int limit = 100, CancellationToken cancellationToken = default)
    {
        var list = await GetAsync(ProjectPath("/audit" + Query(("after", Number(after)), ("limit", Number(limit)))),
            KeyroomJsonContext.Default.AuditEntryList, cancellationToken).ConfigureAwait(false);
        return list.Entries ?? [];
    }
}
