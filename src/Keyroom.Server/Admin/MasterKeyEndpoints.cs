using System.Text.Json.Serialization;
using Keyroom.Core;
using Keyroom.Core.Audit;
using Keyroom.Core.Crypto;
using Keyroom.Core.Secrets;
using Keyroom.Server.Accounts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Keyroom.Server.Admin;

/// <summary><c>GET /admin/master-key</c> (status) and <c>POST /admin/master-key/rotate</c>.</summary>
internal static class MasterKeyEndpoints
{
    public static RouteGroupBuilder MapMasterKeyEndpoints(this RouteGroupBuilder admin)
    {
        admin.MapGet("/master-key", GetStatusAsync)
            .WithName("AdminGetMasterKeyStatus")
            .WithSummary("The active master key id, the key ids still sealing stored data, and where the keys come from")
            .Produces<MasterKeyStatusResponse>();
        admin.MapPost("/master-key/rotate", RotateAsync)
            .WithName("AdminRotateMasterKey")
            .WithSummary("Rotates the master key online: re-wraps every stored data key under the new (or newly configured) active key")
            .Produces<RotateMasterKeyResponse>()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status500InternalServerError);
        return admin;
    }

    private static async Task<Ok<MasterKeyStatusResponse>> GetStatusAsync(HttpContext http, MasterKeyAdministration keys)
    {
        var status = await keys.GetStatusAsync(http.RequestAborted);
        return TypedResults.Ok(new MasterKeyStatusResponse(status.ActiveKeyId, status.KeyIdsInUse, SourceName(keys.Source), status.HeldKeyIds));
    }

    private static async Task<Ok<RotateMasterKeyResponse>> RotateAsync(HttpContext http, MasterKeyAdministration keys, AuditLog audit)
    {
        var principal = http.GetPrincipal();
        RotationReport report;
        try
        {
            report = await keys.RotateAsync();
        }
        catch (KeyroomException ex)
        {
            await audit.RecordDurablyAsync(new AuditEvent(principal.ProjectId, principal.AuditActor, "master_key.rotate", "master-key", SecretService.Outcome(ex)));
            throw;
        }

        await audit.RecordDurablyAsync(new AuditEvent(principal.ProjectId, principal.AuditActor, "master_key.rotate", "master-key/" + report.ActiveKeyId, "ok"));
        return TypedResults.Ok(new RotateMasterKeyResponse(
            report.ActiveKeyId, report.PreviousKeyId, report.Rewrapped, SourceName(report.Source), report.UnusedPreviousKeyIds));
    }

    private static string SourceName(MasterKeySource source) => source switch
    {
        MasterKeySource.Configuration => "configuration",
        MasterKeySource.KeyFile => "key_file",
        _ => "development_key_file",
    };
}

/// <summary>The body of <c>GET /admin/master-key</c>.</summary>
internal sealed record MasterKeyStatusResponse(
    [property: JsonPropertyName("active_key_id")] string ActiveKeyId,
    [property: JsonPropertyName("key_ids_in_use")] IReadOnlyList<string> KeyIdsInUse,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("held_key_ids")] IReadOnlyList<string> HeldKeyIds);

/// <summary>The body of <c>POST /admin/master-key/rotate</c>.</summary>
/// <param name="ActiveKeyId">The key everything is wrapped under now.</param>
/// <param name="PreviousKeyId">The key that was active before (key file), or the old key that was still in use (configuration).</param>
/// <param name="Rewrapped">How many stored values were re-wrapped.</param>
/// <param name="Source">Where the keys come from.</param>
/// <param name="UnusedPreviousKeyIds">Previous keys nothing uses any more: retired and removed from the key file, or (configuration) safe to drop from KEYROOM_PREVIOUS_MASTER_KEYS.</param>
internal sealed record RotateMasterKeyResponse(
    [property: JsonPropertyName("active_key_id")] string ActiveKeyId,
    [property: JsonPropertyName("previous_key_id")] string? PreviousKeyId,
    [property: JsonPropertyName("rewrapped")] int Rewrapped,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("unused_previous_key_ids")] IReadOnlyList<string> UnusedPreviousKeyIds);
