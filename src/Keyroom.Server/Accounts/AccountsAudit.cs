using Keyroom.Core;
using Keyroom.Core.Audit;
using Keyroom.Core.Auth;
using Keyroom.Core.Secrets;

namespace Keyroom.Server.Accounts;

/// <summary>
/// Durable audit entries for account changes (API keys, rooms). Secret operations are audited by
/// <see cref="SecretService"/>. Targets are ids and names only, never values.
/// </summary>
internal static class AccountsAudit
{
    /// <summary>Runs a change and records it as ok, or with the failure's outcome before rethrowing.</summary>
    public static async Task<T> AuditedAsync<T>(
        this AuditLog audit, Principal principal, string projectId, string action, Func<T, string> target, string failureTarget, Func<Task<T>> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        T result;
        try
        {
            result = await change();
        }
        catch (KeyroomException ex)
        {
            await audit.RecordAsync(principal, projectId, action, failureTarget, SecretService.Outcome(ex));
            throw;
        }

        await audit.RecordAsync(principal, projectId, action, target(result), "ok");
        return result;
    }

    /// <summary>Records one entry and waits until it is committed.</summary>
    public static Task RecordAsync(this AuditLog audit, Principal principal, string projectId, string action, string target, string outcome)
    {
        ArgumentNullException.ThrowIfNull(audit);
        ArgumentNullException.ThrowIfNull(principal);
        return audit.RecordDurablyAsync(new AuditEvent(projectId, principal.AuditActor, action, target, outcome));
    }

    public static string Room(string name) => "room/" + name;

    public static string ApiKey(string id) => "api-key/" + id;
}
