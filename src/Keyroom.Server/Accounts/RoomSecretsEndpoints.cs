using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Keyroom.Core;
using Keyroom.Core.Auth;
using Keyroom.Core.Secrets;
using Keyroom.Core.Storage;
using Keyroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Keyroom.Server.Accounts;

/// <summary>
/// Room secrets over REST, spec §5.3: <c>/accounts/projects/{projectId}/rooms/{roomName}/secrets</c>. The same
/// store as the room <c>secrets</c> toolkit: scope <c>room:&lt;name&gt;</c>, owned by <c>for_identity</c> or
/// else the caller's identity, keyed also by <c>delegated_to</c> ("" when absent).
/// </summary>
internal static class RoomSecretsEndpoints
{
    /// <summary>The type of a room secret created without one.</summary>
    private const string DefaultType = "application/octet-stream";

    public static RouteGroupBuilder MapRoomSecretsEndpoints(this RouteGroupBuilder project)
    {
        var secrets = project.MapGroup("/rooms/{roomName}/secrets").WithTags("Room secrets");

        secrets.MapPost("", CreateAsync)
            .WithName("createRoomSecret")
            .WithSummary("Creates a room secret (201); with secret_id it sets that secret, replacing an existing value (200).")
            .Accepts<RoomSecretWriteRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

        secrets.MapGet("", ListAsync)
            .WithName("listRoomSecrets")
            .WithSummary("Lists the room secrets of an identity (for_identity, else the caller) without values.")
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        secrets.MapGet("/{secretId}", GetAsync)
            .WithName("getRoomSecret")
            .WithSummary("Reads a room secret's value.")
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        secrets.MapPut("/{secretId}", UpdateAsync)
            .WithName("updateRoomSecret")
            .WithSummary("Writes a new version of a room secret; name and type keep their values when absent.")
            .Accepts<RoomSecretWriteRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

        secrets.MapDelete("/{secretId}", DeleteAsync)
            .WithName("deleteRoomSecret")
            .WithSummary("Deletes a room secret.")
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        return project;
    }

    private static async Task<Results<Created<SecretVersionResponse>, Ok<SecretVersionResponse>>> CreateAsync(
        string projectId, string roomName, HttpContext http, SecretService secrets, IAccountStore accounts, IOptions<KeyroomOptions> options, CancellationToken cancellationToken)
    {
        var principal = http.GetPrincipal();
        var limits = Limits(options.Value);
        var body = await JsonBody.ReadAsync<RoomSecretWriteRequest>(http, JsonBody.LimitForValue(limits.MaxValueBytes));
        try
        {
            var value = RequestRules.Required(body.Data, "data_base64");
            var id = body.SecretId is null ? RequestRules.NewId() : RequestRules.SecretId(body.SecretId, "secret_id");
            await RequireRoomAsync(accounts, principal, projectId, roomName, cancellationToken);
            var key = Key(principal, projectId, roomName, body.ForIdentity, body.DelegatedTo, id);

            // A chosen id sets that secret, as the toolkit's set_secret does; without one a new secret is made.
            var mode = body.SecretId is null ? WriteMode.Create : WriteMode.Upsert;
            var name = RequestRules.OptionalText(body.Name, "name") ?? id;
            var type = RequestRules.OptionalText(body.Type, "type") ?? DefaultType;
            var info = await secrets.WriteAsync(principal, key, name, type, value, mode, limits, cancellationToken);
            var response = new SecretVersionResponse(id, info.Version);
            return info.Version == 1
                ? TypedResults.Created($"/accounts/projects/{projectId}/rooms/{roomName}/secrets/{Uri.EscapeDataString(id)}", response)
                : TypedResults.Ok(response);
        }
        finally
        {
            RequestRules.Zero(body.Data);
        }
    }

    private static async Task<Ok<SecretListResponse>> ListAsync(
        string projectId, string roomName, [AsParameters] RoomSecretQuery query, HttpContext http, SecretService secrets, IAccountStore accounts,
        CancellationToken cancellationToken)
    {
        var principal = http.GetPrincipal();
        await RequireRoomAsync(accounts, principal, projectId, roomName, cancellationToken);
        var owner = RequestRules.Optional(query.ForIdentity) ?? principal.Identity;
        var filter = new SecretQuery(projectId, SecretKey.RoomScope(roomName), owner, RequestRules.Optional(query.DelegatedTo));
        var list = await secrets.ListAsync(principal, filter, cancellationToken);
        return TypedResults.Ok(new SecretListResponse([.. list.Select(SecretInfoResponse.From)]));
    }

    private static async Task<Ok<SecretValueResponse>> GetAsync(
        string projectId, string roomName, string secretId, [AsParameters] RoomSecretQuery query, HttpContext http, SecretService secrets,
        IAccountStore accounts, CancellationToken cancellationToken)
    {
        var principal = http.GetPrincipal();
        await RequireRoomAsync(accounts, principal, projectId, roomName, cancellationToken);
        var key = Key(principal, projectId, roomName, query.ForIdentity, query.DelegatedTo, secretId);
        var secret = await secrets.ReadAsync(principal, key, null, cancellationToken);
        http.Response.ZeroAfterResponse(secret.Value);
        return TypedResults.Ok(SecretValueResponse.From(secret));
    }

    private static async Task<Ok<SecretVersionResponse>> UpdateAsync(
        string projectId, string roomName, string secretId, HttpContext http, SecretService secrets, IAccountStore accounts, IOptions<KeyroomOptions> options,
        CancellationToken cancellationToken)
    {
        var principal = http.GetPrincipal();
        var limits = Limits(options.Value);
        var body = await JsonBody.ReadAsync<RoomSecretWriteRequest>(http, JsonBody.LimitForValue(limits.MaxValueBytes));
        try
        {
            var value = RequestRules.Required(body.Data, "data_base64");
            await RequireRoomAsync(accounts, principal, projectId, roomName, cancellationToken);
            var key = Key(principal, projectId, roomName, body.ForIdentity, body.DelegatedTo, secretId);
            var name = RequestRules.OptionalText(body.Name, "name");
            var type = RequestRules.OptionalText(body.Type, "type");
            if (name is null || type is null)
            {
                // Keep the current name/type. Listing is authorized like the write, so nothing leaks here.
                var owned = await secrets.ListAsync(principal, new SecretQuery(projectId, key.Scope, key.Owner, key.DelegatedTo), cancellationToken);
                var current = owned.FirstOrDefault(s => string.Equals(s.Key.Id, secretId, StringComparison.Ordinal)) ?? throw KeyroomException.NotFound("secret");
                name ??= current.Name;
                type ??= current.Type;
            }

            var info = await secrets.WriteAsync(principal, key, name, type, value, WriteMode.Update, limits, cancellationToken);
            return TypedResults.Ok(new SecretVersionResponse(secretId, info.Version));
        }
        finally
        {
            RequestRules.Zero(body.Data);
        }
    }

    private static async Task<NoContent> DeleteAsync(
        string projectId, string roomName, string secretId, [AsParameters] RoomSecretQuery query, HttpContext http, SecretService secrets,
        IAccountStore accounts, CancellationToken cancellationToken)
    {
        var principal = http.GetPrincipal();
        await RequireRoomAsync(accounts, principal, projectId, roomName, cancellationToken);
        await secrets.DeleteAsync(principal, Key(principal, projectId, roomName, query.ForIdentity, query.DelegatedTo, secretId), cancellationToken);
        return TypedResults.NoContent();
    }

    /// <summary>Room secrets exist only in existing rooms of the caller's project.</summary>
    private static async Task RequireRoomAsync(IAccountStore accounts, Principal principal, string projectId, string roomName, CancellationToken cancellationToken)
    {
        SecretAuthorizer.DemandMember(principal, projectId);
        if (await accounts.GetRoomByNameAsync(projectId, roomName, cancellationToken) is null)
        {
            throw KeyroomException.NotFound("room");
        }
    }

    private static SecretKey Key(Principal principal, string projectId, string roomName, string? forIdentity, string? delegatedTo, string id) =>
        new(projectId, SecretKey.RoomScope(roomName), RequestRules.Optional(forIdentity) ?? principal.Identity, delegatedTo ?? string.Empty, id);

    private static SecretLimits Limits(KeyroomOptions options) => new(options.MaxRoomSecretBytes, options.KeepVersions);
}

/// <summary>The query of room secret reads, lists and deletes.</summary>
internal sealed record RoomSecretQuery
{
    /// <summary>The owning identity; the caller's own when absent (another identity needs the admin role or grant).</summary>
    [FromQuery(Name = "for_identity")]
    public string? ForIdentity { get; init; }

    /// <summary>The identity the secret is delegated to; none when absent (lists: any).</summary>
    [FromQuery(Name = "delegated_to")]
    public string? DelegatedTo { get; init; }
}

/// <summary>The body of createRoomSecret / updateRoomSecret.</summary>
internal sealed record RoomSecretWriteRequest(
    [property: JsonPropertyName("data_base64"), Required] byte[]? Data = null,
    [property: JsonPropertyName("secret_id")] string? SecretId = null,
    [property: JsonPropertyName("name")] string? Name = null,
    [property: JsonPropertyName("type")] string? Type = null,
    [property: JsonPropertyName("delegated_to")] string? DelegatedTo = null,
    [property: JsonPropertyName("for_identity")] string? ForIdentity = null);
