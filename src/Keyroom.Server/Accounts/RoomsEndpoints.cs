using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Keyroom.Core;
using Keyroom.Core.Accounts;
using Keyroom.Core.Audit;
using Keyroom.Core.Auth;
using Keyroom.Core.Secrets;
using Keyroom.Core.Storage;
using Keyroom.Server.Hosting;
using Keyroom.Server.Rooms;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Keyroom.Server.Accounts;

/// <summary>
/// Rooms and connect, spec §5.6: <c>/accounts/projects/{projectId}/rooms</c>. Any member may list, read
/// and connect; creating, renaming and deleting need the admin role. <c>connect</c> also creates a missing
/// room for developers and admins, and mints a participant JWT signed with the caller's API key.
/// </summary>
internal static class RoomsEndpoints
{
    private const int DefaultListLimit = 50;
    private const int MaxListLimit = 1000;

    public static RouteGroupBuilder MapRoomsEndpoints(this RouteGroupBuilder project)
    {
        var rooms = project.MapGroup("/rooms").WithTags("Rooms");

        rooms.MapPost("", CreateAsync)
            .WithName("createRoom")
            .WithSummary("Creates a room (201), or returns the existing one (200) when if_not_exists is true. Needs the admin role.")
            .Accepts<RoomCreateRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

        rooms.MapGet("", ListAsync)
            .WithName("listRooms")
            .WithSummary("Lists rooms ordered by name (limit defaults to 50, at most 1000).")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        rooms.MapGet("/{room}", GetAsync)
            .WithName("getRoom")
            .WithSummary("Reads a room by name, or else by id.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        rooms.MapPut("/{room}", UpdateAsync)
            .WithName("updateRoom")
            .WithSummary("Renames a room or replaces its metadata/annotations; the room is found by name, or else by id. Needs the admin role.")
            .Accepts<RoomUpdateRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

        rooms.MapDelete("/{room}", DeleteAsync)
            .WithName("deleteRoom")
            .WithSummary("Deletes a room and all its room secrets; the room is found by name, or else by id. Needs the admin role.")
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        rooms.MapPost("/{roomName}/connect", ConnectAsync)
            .WithName("connectRoom")
            .WithSummary("Mints a participant JWT for the room, signed with the calling API key; creates the room if missing (developer or admin).")
            .Accepts<JsonObject>(isOptional: true, "application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        return project;
    }

    private static async Task<Results<Created<RoomResponse>, Ok<RoomResponse>>> CreateAsync(
        string projectId, HttpContext http, IAccountStore accounts, AuditLog audit, TimeProvider time, CancellationToken cancellationToken)
    {
        var principal = http.GetPrincipal();
        var target = "room";
        try
        {
            SecretAuthorizer.DemandAdmin(principal, projectId);
            var body = await JsonBody.ReadAsync<RoomCreateRequest>(http, JsonBody.SmallBodyLimit);
            var name = RequestRules.RoomName(RequestRules.Required(body.Name, "name"));
            target = AccountsAudit.Room(name);
            var ifNotExists = body.IfNotExists == true;
            if (ifNotExists && await accounts.GetRoomByNameAsync(projectId, name, cancellationToken) is { } existing)
            {
                return TypedResults.Ok(RoomResponse.From(existing));
            }

            var room = new Room(
                Guid.NewGuid().ToString("D"), projectId, name, body.Metadata ?? [], Annotations(body.Annotations), Permissions(body.Permissions), time.GetUtcNow());
            try
            {
                await accounts.CreateRoomAsync(room, cancellationToken);
            }
            catch (KeyroomException ex) when (ex.Error == KeyroomError.AlreadyExists)
            {
                if (ifNotExists && await accounts.GetRoomByNameAsync(projectId, name, cancellationToken) is { } raced)
                {
                    return TypedResults.Ok(RoomResponse.From(raced));
                }

                throw new KeyroomException(KeyroomError.AlreadyExists, $"a room named '{name}' already exists");
            }

            await audit.RecordAsync(principal, projectId, "room.create", target, "ok");
            return TypedResults.Created($"/accounts/projects/{projectId}/rooms/{name}", RoomResponse.From(room));
        }
        catch (KeyroomException ex)
        {
            await audit.RecordAsync(principal, projectId, "room.create", target, SecretService.Outcome(ex));
            throw;
        }
    }

    private static async Task<Ok<RoomListResponse>> ListAsync(
        string projectId, int? limit, int? offset, HttpContext http, IAccountStore accounts, CancellationToken cancellationToken)
    {
        SecretAuthorizer.DemandMember(http.GetPrincipal(), projectId);
        if (limit is < 1 or > MaxListLimit)
        {
            throw KeyroomException.Invalid($"'limit' must be between 1 and {MaxListLimit}");
        }

        if (offset is < 0)
        {
            throw KeyroomException.Invalid("'offset' must not be negative");
        }

        var rooms = await accounts.ListRoomsAsync(projectId, limit ?? DefaultListLimit, offset ?? 0, cancellationToken);
        return TypedResults.Ok(new RoomListResponse([.. rooms.Select(RoomResponse.From)]));
    }

    private static async Task<Ok<RoomResponse>> GetAsync(
        string projectId, string room, HttpContext http, IAccountStore accounts, CancellationToken cancellationToken)
    {
        SecretAuthorizer.DemandMember(http.GetPrincipal(), projectId);
        return TypedResults.Ok(RoomResponse.From(await ResolveAsync(accounts, projectId, room, cancellationToken)));
    }

    private static async Task<Ok<RoomResponse>> UpdateAsync(
        string projectId, string room, HttpContext http, IAccountStore accounts, ISecretStore secretStore, AuditLog audit, CancellationToken cancellationToken)
    {
        var principal = http.GetPrincipal();
        var updated = await audit.AuditedAsync(principal, projectId, "room.update", r => AccountsAudit.Room(r.Name), AccountsAudit.Room(room), async () =>
        {
            SecretAuthorizer.DemandAdmin(principal, projectId);
            var body = await JsonBody.ReadAsync<RoomUpdateRequest>(http, JsonBody.SmallBodyLimit);
            var name = RequestRules.RoomName(RequestRules.Required(body.Name, "name"));
            var current = await ResolveAsync(accounts, projectId, room, cancellationToken);

            // Room secrets are sealed under their room's name, so they cannot follow a rename; refuse rather
            // than leave them to whichever room takes the old name next.
            if (!string.Equals(name, current.Name, StringComparison.Ordinal)
                && await secretStore.FindAsync(new SecretQuery(projectId, SecretKey.RoomScope(current.Name)), null, null, cancellationToken) is not null)
            {
                throw new KeyroomException(KeyroomError.Conflict, $"room '{current.Name}' has room secrets and cannot be renamed; delete them first");
            }

            var next = current with
            {
                Name = name,
                Metadata = body.Metadata ?? current.Metadata,
                Annotations = body.Annotations is null ? current.Annotations : Annotations(body.Annotations),
                Permissions = body.Permissions is null ? current.Permissions : Permissions(body.Permissions),
            };
            try
            {
                return await accounts.UpdateRoomAsync(next, cancellationToken) ? next : throw KeyroomException.NotFound("room");
            }
            catch (KeyroomException ex) when (ex.Error == KeyroomError.AlreadyExists)
            {
                throw new KeyroomException(KeyroomError.AlreadyExists, $"a room named '{name}' already exists");
            }
        });
        return TypedResults.Ok(RoomResponse.From(updated));
    }

    private static async Task<NoContent> DeleteAsync(
        string projectId, string room, HttpContext http, IAccountStore accounts, ISecretStore secretStore, AuditLog audit, RoomHub hub,
        CancellationToken cancellationToken)
    {
        var principal = http.GetPrincipal();
        await audit.AuditedAsync(principal, projectId, "room.delete", r => AccountsAudit.Room(r.Name), AccountsAudit.Room(room), async () =>
        {
            SecretAuthorizer.DemandAdmin(principal, projectId);
            var current = await ResolveAsync(accounts, projectId, room, cancellationToken);
            var scope = SecretKey.RoomScope(current.Name);

            // Participants go first: a deleted room has nobody left in it writing secrets into the deleted scope.
            hub.CloseRoom(projectId, current.Name, "room deleted");

            // Secrets first, so a failure midway never leaves secrets behind for a later room of the same
            // name; and again after, for any written while the room was being deleted.
            await secretStore.DeleteScopeAsync(projectId, scope, cancellationToken);
            if (!await accounts.DeleteRoomAsync(projectId, current.Id, cancellationToken))
            {
                throw KeyroomException.NotFound("room");
            }

            await secretStore.DeleteScopeAsync(projectId, scope, CancellationToken.None);
            return current;
        });
        return TypedResults.NoContent();
    }

    private static async Task<Ok<RoomConnectResponse>> ConnectAsync(
        string projectId, string roomName, HttpContext http, IAccountStore accounts, ApiKeyService apiKeys, AuditLog audit, TimeProvider time,
        IOptions<KeyroomOptions> options, CancellationToken cancellationToken)
    {
        var principal = http.GetPrincipal();
        SecretAuthorizer.DemandMember(principal, projectId);
        if (principal.Kind != CredentialKind.ApiKey)
        {
            throw KeyroomException.Denied("connect needs an API key; a participant token cannot mint tokens");
        }

        var room = await accounts.GetRoomByNameAsync(projectId, roomName, cancellationToken)
            ?? await CreateForConnectAsync(principal, projectId, roomName, accounts, audit, time, cancellationToken);

        var api = principal.Role switch
        {
            ProjectRole.Admin => ApiScope.Full(),
            ProjectRole.Developer => ApiScope.AgentDefault(),
            _ => ApiScope.UserDefault().Without("secrets"),
        };
        var token = new ParticipantToken(principal.Identity).AddRoomGrant(room.Name).AddRoleGrant("user").AddApiGrant(api);
        var jwt = await apiKeys.SignAsync(principal.KeyId, token, cancellationToken);
        audit.Record(new AuditEvent(projectId, principal.AuditActor, "room.connect", AccountsAudit.Room(room.Name), "ok"));
        return TypedResults.Ok(new RoomConnectResponse(jwt, room.Name, projectId, RoomUrl(http.Request, options.Value.PublicUrl, room.Name)));
    }

    private static async Task<Room> CreateForConnectAsync(
        Principal principal, string projectId, string roomName, IAccountStore accounts, AuditLog audit, TimeProvider time, CancellationToken cancellationToken)
    {
        if (principal.Role < ProjectRole.Developer)
        {
            // Members may join existing rooms only; to them a missing room is just missing.
            throw KeyroomException.NotFound("room");
        }

        RequestRules.RoomName(roomName, "room");
        var room = new Room(Guid.NewGuid().ToString("D"), projectId, roomName, [], [], null, time.GetUtcNow());
        try
        {
            await accounts.CreateRoomAsync(room, cancellationToken);
        }
        catch (KeyroomException ex) when (ex.Error == KeyroomError.AlreadyExists)
        {
            // Created concurrently: join that one.
            return await accounts.GetRoomByNameAsync(projectId, roomName, cancellationToken) ?? throw KeyroomException.NotFound("room");
        }

        await audit.RecordAsync(principal, projectId, "room.create", AccountsAudit.Room(roomName), "ok");
        return room;
    }

    /// <summary>Finds a room by name, or else by id; NotFound otherwise.</summary>
    internal static async Task<Room> ResolveAsync(IAccountStore accounts, string projectId, string nameOrId, CancellationToken cancellationToken) =>
        await accounts.GetRoomByNameAsync(projectId, nameOrId, cancellationToken)
        ?? await accounts.GetRoomByIdAsync(projectId, nameOrId, cancellationToken)
        ?? throw KeyroomException.NotFound("room");

    /// <summary>The room's WebSocket URL: the public URL (or this request's origin) with ws/wss and /rooms/&lt;name&gt;.</summary>
    internal static string RoomUrl(HttpRequest request, string? publicUrl, string roomName)
    {
        var origin = string.IsNullOrEmpty(publicUrl) ? $"{request.Scheme}://{request.Host}{request.PathBase}" : publicUrl.TrimEnd('/');
        var socketOrigin = origin.StartsWith("https://", StringComparison.OrdinalIgnoreCase) ? "wss://" + origin[8..]
            : origin.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ? "ws://" + origin[7..]
            : origin;
        return socketOrigin + "/rooms/" + roomName;
    }

    private static JsonObject Annotations(Dictionary<string, string?>? annotations)
    {
        var result = new JsonObject();
        foreach (var (key, value) in annotations ?? [])
        {
            result[key] = value ?? throw KeyroomException.Invalid($"annotation '{key}' must be a string");
        }

        return result;
    }

    private static JsonObject? Permissions(JsonObject? permissions)
    {
        foreach (var (key, value) in permissions ?? [])
        {
            if (value is not JsonObject)
            {
                throw KeyroomException.Invalid($"permissions['{key}'] must be an ApiScope object");
            }
        }

        return permissions;
    }
}

/// <summary>The body of createRoom.</summary>
internal sealed record RoomCreateRequest(
    [property: JsonPropertyName("name"), Required] string? Name = null,
    [property: JsonPropertyName("if_not_exists")] bool? IfNotExists = null,
    [property: JsonPropertyName("metadata")] JsonObject? Metadata = null,
    [property: JsonPropertyName("annotations")] Dictionary<string, string?>? Annotations = null,
    [property: JsonPropertyName("permissions")] JsonObject? Permissions = null);

/// <summary>The body of updateRoom; absent fields keep their current values.</summary>
internal sealed record RoomUpdateRequest(
    [property: JsonPropertyName("name"), Required] string? Name = null,
    [property: JsonPropertyName("metadata")] JsonObject? Metadata = null,
    [property: JsonPropertyName("annotations")] Dictionary<string, string?>? Annotations = null,
    [property: JsonPropertyName("permissions")] JsonObject? Permissions = null);

/// <summary>A room.</summary>
internal sealed record RoomResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("metadata")] JsonObject Metadata,
    [property: JsonPropertyName("annotations")] JsonObject Annotations)
{
    public static RoomResponse From(Room room) => new(room.Id, room.Name, room.Metadata, room.Annotations);
}

/// <summary>A page of rooms.</summary>
internal sealed record RoomListResponse(
    [property: JsonPropertyName("rooms")] IReadOnlyList<RoomResponse> Rooms);

/// <summary>What connectRoom returns.</summary>
internal sealed record RoomConnectResponse(
    [property: JsonPropertyName("jwt")] string Jwt,
    [property: JsonPropertyName("room_name")] string RoomName,
    [property: JsonPropertyName("project_id")] string ProjectId,
    [property: JsonPropertyName("room_url")] string RoomUrl);
