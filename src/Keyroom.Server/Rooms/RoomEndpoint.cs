using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Keyroom.Core;
using Keyroom.Protocol;
using Keyroom.Server.Accounts;
using Keyroom.Server.Errors;
using Keyroom.Server.Hosting;
using Keyroom.Server.Rooms.Toolkits;
using Microsoft.Extensions.Options;

namespace Keyroom.Server.Rooms;

/// <summary>
/// <c>GET /rooms/{room}?token=&lt;JWT&gt;</c>: the room WebSocket (spec 2). A plain GET gets 400 ProblemDetails.
/// </summary>
/// <remarks>
/// A WebSocket upgrade is never refused with an HTTP status: the Node client crashes on any refused upgrade
/// (spec 2.6). A refused connection is accepted, told why in a <c>room.status</c> message
/// <c>{status:"error", message}</c>, and closed with 1000 and the same short reason, which the client treats as
/// final (<c>start()</c> rejects "…before the room became ready", no retry). Only a server fault during admission
/// closes with 1011, which the client retries.
/// </remarks>
internal static class RoomEndpoint
{
    public static async Task<IResult> ConnectAsync(
        string room,
        HttpContext http,
        RoomGate gate,
        RoomHub hub,
        RoomToolkits toolkits,
        RoomMetrics metrics,
        IOptions<RoomOptions> roomOptions,
        IOptions<KeyroomOptions> keyroomOptions,
        IHostApplicationLifetime lifetime,
        TimeProvider time,
        ILoggerFactory loggerFactory)
    {
        if (!http.WebSockets.IsWebSocketRequest)
        {
            return ProblemMapping.Problem(
                KeyroomError.InvalidRequest,
                "this is the room WebSocket endpoint: connect with a WebSocket upgrade and ?token=<participant JWT>");
        }

        var logger = loggerFactory.CreateLogger("Keyroom.Rooms");
        RoomAdmission admission;
        try
        {
            admission = await gate.AdmitAsync(room, http.Request.Query["token"].FirstOrDefault(), http.RequestAborted);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            RoomsLog.AdmissionFailed(logger, ex, room.Length <= 128 ? room : room[..128]);
            admission = new RoomAdmission(null, "internal error", Transient: true);
        }

        var options = roomOptions.Value;
        var socket = await http.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            KeepAliveInterval = options.KeepAliveIntervalSeconds > 0 ? TimeSpan.FromSeconds(options.KeepAliveIntervalSeconds) : TimeSpan.Zero,
            KeepAliveTimeout = options.KeepAliveIntervalSeconds > 0 && options.KeepAliveTimeoutSeconds > 0
                ? TimeSpan.FromSeconds(options.KeepAliveTimeoutSeconds)
                : Timeout.InfiniteTimeSpan,
        });

        if (admission.Principal is not { } principal)
        {
            await RefuseAsync(socket, BatchingUpgradeFeature.TransportOf(http), admission, options);
            return Results.Empty;
        }

        await using var connection = new RoomConnection(socket, BatchingUpgradeFeature.TransportOf(http), principal, options, toolkits, metrics, logger);
        var roomUrl = RoomsEndpoints.RoomUrl(http.Request, keyroomOptions.Value.PublicUrl, room);
        await connection.RunAsync(hub, principal.ProjectId, room, roomUrl, time, lifetime.ApplicationStopping);
        return Results.Empty;
    }

    private static async Task RefuseAsync(WebSocket socket, BatchingTransportStream? transport, RoomAdmission admission, RoomOptions options)
    {
        var reason = admission.Refusal ?? "refused";
        var channel = new WebSocketMessageChannel(socket, options.ToChannelOptions(), transport);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(options.CloseTimeoutSeconds));
        try
        {
            var status = new PackedMessage(new JsonObject { ["status"] = "error", ["message"] = reason }).Encode();
            await channel.SendAsync(RoomConnection.FirstServerMessageId, MessageTypes.RoomStatus, status, deadline.Token);
            await channel.CloseAsync(admission.Transient ? WebSocketCloseStatus.InternalServerError : WebSocketCloseStatus.NormalClosure, reason, deadline.Token);

            // Wait for the peer's close frame so the close handshake completes cleanly.
            while (await channel.ReceiveAsync(deadline.Token) is not null)
            {
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ProtocolException or InvalidOperationException or IOException)
        {
            // The peer went away or misbehaved while being refused; nothing more to do.
        }
        finally
        {
            await channel.DisposeAsync();
        }
    }
}
