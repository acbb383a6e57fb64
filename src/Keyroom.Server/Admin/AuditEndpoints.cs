using System.Globalization;
using System.Text.Json.Serialization;
using Keyroom.Core;
using Keyroom.Core.Audit;
using Keyroom.Core.Auth;
using Keyroom.Core.Secrets;
using Keyroom.Core.Storage;
using Keyroom.Server.Accounts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Keyroom.Server.Admin;

/// <summary>
/// <c>GET /admin/audit/verify</c> (server admins: checks the whole MAC chain and its head) and
/// <c>GET /accounts/projects/{p}/audit</c> (project admins: the project's entries, oldest first; for the system
/// project also the server-wide entries that belong to no project).
/// </summary>
internal static class AuditEndpoints
{
    private const int DefaultLimit = 100;
    private const int MaxLimit = 1000;

    public static RouteGroupBuilder MapAuditVerifyEndpoint(this RouteGroupBuilder admin)
    {
        admin.MapGet("/audit/verify", VerifyAsync)
            .WithName("AdminVerifyAudit")
            .WithSummary("Verifies the audit chain: every entry's MAC and link, and that no entry was cut off the end")
            .Produces<AuditVerifyResponse>();
        return admin;
    }

    public static RouteGroupBuilder MapProjectAuditEndpoint(this RouteGroupBuilder project)
    {
        project.MapGet("/audit", ListAsync)
            .WithName("ListProjectAudit")
            .WithSummary("The project's audit entries after a sequence number, oldest first (project admins)")
            .Produces<AuditListResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        return project;
    }

    private static async Task<Ok<AuditVerifyResponse>> VerifyAsync(HttpContext http, AuditLog audit, IAuditStore store)
    {
        var principal = http.GetPrincipal();
        await audit.FlushAsync();
        var result = await AuditVerifier.VerifyAsync(store, audit.Chain, http.RequestAborted);
        audit.Record(new AuditEvent(principal.ProjectId, principal.AuditActor, "audit.verify", "audit", result.IsIntact ? "ok" : "error"));
        return TypedResults.Ok(new AuditVerifyResponse(result.IsIntact, result.Checked, result.FirstBadSequence, result.Problem));
    }

    private static async Task<Ok<AuditListResponse>> ListAsync(
        string projectId, long? after, int? limit, HttpContext http, AuditLog audit, IAuditStore store, SystemProject systemProject)
    {
        var principal = http.GetPrincipal();
        try
        {
            SecretAuthorizer.DemandAdmin(principal, projectId);
            if (after is < 0)
            {
                throw KeyroomException.Invalid("after must be 0 or more");
            }

            if (limit is < 1 or > MaxLimit)
            {
                throw KeyroomException.Invalid(string.Create(CultureInfo.InvariantCulture, $"limit must be between 1 and {MaxLimit}"));
            }
        }
        catch (KeyroomException ex)
        {
            audit.Record(new AuditEvent(principal.ProjectId, principal.AuditActor, "audit.read", "project/" + projectId + "/audit", SecretService.Outcome(ex)));
            throw;
        }

        // Server-wide entries (failed authentications, audit head alarms) belong to no project; the system
        // project's admins are the server admins, so they see them too.
        var includeServerWide = string.Equals(await systemProject.GetIdAsync(http.RequestAborted), projectId, StringComparison.Ordinal);

        // Entries queued a moment ago (this caller's own actions, say) should be visible.
        await audit.FlushAsync();
        var take = limit ?? DefaultLimit;
        var entries = new List<AuditEntryResponse>(Math.Min(take, 128));
        await foreach (var record in store.ReadAuditAsync(after ?? 0, http.RequestAborted))
        {
            if (!string.Equals(record.Event.ProjectId, projectId, StringComparison.Ordinal) && !(includeServerWide && record.Event.ProjectId.Length == 0))
            {
                continue;
            }

            entries.Add(new AuditEntryResponse(
                record.Sequence, AdminEndpoints.Utc(record.At), record.Event.Actor, record.Event.Action, record.Event.Target, record.Event.Outcome));
            if (entries.Count == take)
            {
                break;
            }
        }

        audit.Record(new AuditEvent(projectId, principal.AuditActor, "audit.read", "project/" + projectId + "/audit", "ok"));
        return TypedResults.Ok(new AuditListResponse(entries));
    }
}

/// <summary>The body of <c>GET /admin/audit/verify</c>.</summary>
internal sealed record AuditVerifyResponse(
    [property: JsonPropertyName("intact")] bool Intact,
    [property: JsonPropertyName("checked")] long Checked,
    [property: JsonPropertyName("first_bad_sequence")] long? FirstBadSequence,
    [property: JsonPropertyName("problem")] string? Problem);

/// <summary>One audit entry (never a value).</summary>
internal sealed record AuditEntryResponse(
    [property: JsonPropertyName("sequence")] long Sequence,
    [property: JsonPropertyName("at")] DateTime At,
    [property: JsonPropertyName("actor")] string Actor,
    [property: JsonPropertyName("action")] string Action,
    [property: JsonPropertyName("target")] string Target,
    [property: JsonPropertyName("outcome")] string Outcome);

/// <summary>The body of <c>GET /accounts/projects/{p}/audit</c>.</summary>
internal sealed record AuditListResponse([property: JsonPropertyName("entries")] IReadOnlyList<AuditEntryResponse> Entries);
