using Keyroom.Core.Secrets;

namespace Keyroom.Core.Auth;

/// <summary>What a caller wants to do with a secret.</summary>
public enum SecretAction
{
    /// <summary>List metadata.</summary>
    List,
    /// <summary>Read a value.</summary>
    Read,
    /// <summary>Create or update.</summary>
    Write,
    /// <summary>Delete.</summary>
    Delete,
}

/// <summary>
/// The one authorization decision for secrets: who may do what to which secret. Every path (REST, room
/// toolkit, CLI through REST) calls it, so the rules live in one place.
/// </summary>
/// <remarks>
/// Rules:
/// <list type="bullet">
/// <item>Another project's secrets do not exist for the caller: NotFound, never PermissionDenied, so nothing
/// leaks their existence.</item>
/// <item>Project secrets: API keys need the developer role (members get PermissionDenied). Tokens need an
/// <c>api.secrets</c> grant and a signing key with the developer role.</item>
/// <item>Room secrets: tokens need <c>api.secrets</c> and the token's room; API keys need the developer role.
/// The owner is the caller's identity; acting for another identity needs <c>api.admin</c> (tokens) or the
/// admin role (API keys).</item>
/// <item>A token's grants never exceed the role of the key that signed it: whoever holds a key can sign a
/// token with any grants, so a member key's token cannot use secrets at all, and <c>api.admin</c> counts only
/// in tokens signed by an admin key. (A developer key can still sign tokens for any identity; that is the
/// MeshAgent model, where the key holder mints participant identities.)</item>
/// </list>
/// </remarks>
public static class SecretAuthorizer
{
    /// <summary>Throws <see cref="KeyroomException"/> unless the caller may act on the secret.</summary>
    public static void Demand(Principal principal, SecretAction action, in SecretKey target)
    {
        ArgumentNullException.ThrowIfNull(principal);
        if (!string.Equals(principal.ProjectId, target.ProjectId, StringComparison.Ordinal))
        {
            throw KeyroomException.NotFound("secret");
        }

        if (principal.Kind == CredentialKind.ParticipantToken)
        {
            if (principal.Api?.Secrets is null)
            {
                throw KeyroomException.Denied("this token has no secrets grant (api.secrets)");
            }

            if (target.Scope != SecretKey.ProjectScope && target.Scope != SecretKey.RoomScope(principal.Token!.Room ?? string.Empty))
            {
                throw KeyroomException.Denied("this token is not granted that room");
            }
        }

        if (target.Scope == SecretKey.ProjectScope)
        {
            if (principal.Role < ProjectRole.Developer)
            {
                throw KeyroomException.Denied("project secrets need the developer or admin role");
            }

            return;
        }

        if (principal.Role < ProjectRole.Developer)
        {
            throw KeyroomException.Denied(principal.Kind == CredentialKind.ApiKey
                ? "room secrets need the developer or admin role"
                : "tokens signed by a member key cannot use secrets");
        }

        if (!string.Equals(target.Owner, principal.Identity, StringComparison.Ordinal))
        {
            DemandActForOthers(principal);
        }
    }

    /// <summary>Throws unless the caller may act for another identity (<c>for_identity</c>).</summary>
    public static void DemandActForOthers(Principal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        var allowed = principal.Role == ProjectRole.Admin
            && (principal.Kind == CredentialKind.ApiKey || principal.Api?.IsAdmin == true);
        if (!allowed)
        {
            throw KeyroomException.Denied("acting for another identity needs the admin grant");
        }
    }

    /// <summary>Throws unless the caller may manage the project itself (keys, rooms, audit, rotation).</summary>
    public static void DemandAdmin(Principal principal, string projectId)
    {
        ArgumentNullException.ThrowIfNull(principal);
        if (!string.Equals(principal.ProjectId, projectId, StringComparison.Ordinal))
        {
            throw KeyroomException.NotFound("project");
        }

        if (principal.Role != ProjectRole.Admin || (principal.Kind == CredentialKind.ParticipantToken && principal.Api?.IsAdmin != true))
        {
            throw KeyroomException.Denied("this needs the admin role");
        }
    }

    /// <summary>Throws unless the caller belongs to the project (any role).</summary>
    public static void DemandMember(Principal principal, string projectId)
    {
        ArgumentNullException.ThrowIfNull(principal);
        if (!string.Equals(principal.ProjectId, projectId, StringComparison.Ordinal))
        {
            throw KeyroomException.NotFound("project");
        }
    }
}
