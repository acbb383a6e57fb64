using Keyroom.Core;
using Keyroom.Core.Accounts;
using Keyroom.Core.Audit;
using Keyroom.Core.Auth;
using Keyroom.Core.Storage;
using Keyroom.Server.Accounts;

namespace Keyroom.Server.Rooms;

/// <summary>The outcome of admitting a WebSocket to a room: a principal, or a short refusal reason.</summary>
/// <param name="Principal">The participant, when admitted.</param>
/// <param name="Refusal">Why not (shown to the client in <c>room.status</c> and the close reason; no values).</param>
/// <param name="Transient">True when the refusal is a server fault the client should retry.</param>
internal sealed record RoomAdmission(Principal? Principal, string? Refusal, bool Transient = false)
{
    public static RoomAdmission Refuse(string reason) => new(null, reason);
}

/// <summary>
/// Decides who may join a room (spec 1.5, 2.6): a valid participant JWT from <c>?token=</c>, whose <c>room</c>
/// grant names this room, for a room of the token's project. A room that does not exist yet is created on the
/// first join when the token's signing key has the developer or admin role (as <c>connect</c> does over REST);
/// tokens of member keys can only join existing rooms. Every refusal and every join is audited (value-free).
/// </summary>
internal sealed class RoomGate
{
    private readonly ApiKeyService _apiKeys;
    private readonly IAccountStore _accounts;
    private readonly AuditLog _audit;
    private readonly TimeProvider _time;
    private readonly RoomMetrics _metrics;
    private readonly ILogger<RoomGate> _logger;

    public RoomGate(ApiKeyService apiKeys, IAccountStore accounts, AuditLog audit, TimeProvider time, RoomMetrics metrics, ILogger<RoomGate> logger)
    {
        _apiKeys = apiKeys;
        _accounts = accounts;
        _audit = audit;
        _time = time;
        _metrics = metrics;
        _logger = logger;
    }

    public async Task<RoomAdmission> AdmitAsync(string room, string? token, CancellationToken cancellationToken)
    {
        Principal principal;
        try
        {
            // Audits the failure reason itself (bad signature, unknown key, expired, malformed).
            principal = await _apiKeys.AuthenticateTokenAsync(token ?? string.Empty, cancellationToken);
        }
        catch (KeyroomException ex) when (ex.Error == KeyroomError.Unauthenticated)
        {
            return Refuse(room, "invalid-token", "invalid or expired token");
        }

        if (!string.Equals(principal.Token?.Room, room, StringComparison.Ordinal))
        {
            Audit(principal, room, "denied");
            return Refuse(room, "room-not-granted", "the token does not grant this room");
        }

        if (!IsRoomName(room))
        {
            Audit(principal, room, "invalid");
            return Refuse(room, "room-not-found", "room not found");
        }

        if (await _accounts.GetRoomByNameAsync(principal.ProjectId, room, cancellationToken) is null)
        {
            if (principal.Role < ProjectRole.Developer)
            {
                Audit(principal, room, "not_found");
                return Refuse(room, "room-not-found", "room not found");
            }

            await CreateAsync(principal, room, cancellationToken);
        }

        Audit(principal, room, "ok");
        return new RoomAdmission(principal, null);
    }

    private async Task CreateAsync(Principal principal, string room, CancellationToken cancellationToken)
    {
        try
        {
            await _accounts.CreateRoomAsync(new Room(Guid.NewGuid().ToString("D"), principal.ProjectId, room, [], [], null, _time.GetUtcNow()), cancellationToken);
        }
        catch (KeyroomException ex) when (ex.Error == KeyroomError.AlreadyExists)
        {
            return; // created concurrently: join that one
        }

        await _audit.RecordDurablyAsync(new AuditEvent(principal.ProjectId, principal.AuditActor, "room.create", AccountsAudit.Room(room), "ok"));
        RoomsLog.RoomCreated(_logger, room, principal.KeyId);
    }

    private static bool IsRoomName(string room)
    {
        try
        {
            RequestRules.RoomName(room, "room");
            return true;
        }
        catch (KeyroomException)
        {
            return false;
        }
    }

    private void Audit(Principal principal, string room, string outcome) =>
        _audit.Record(new AuditEvent(principal.ProjectId, principal.AuditActor, "room.join", AccountsAudit.Room(room), outcome));

    private RoomAdmission Refuse(string room, string metric, string reason)
    {
        _metrics.Rejected(metric);
        RoomsLog.Refused(_logger, room.Length <= 128 ? room : room[..128], reason);
        return RoomAdmission.Refuse(reason);
    }
}
