using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keyroom.Core;
using Keyroom.Protocol;

namespace Keyroom.Server.Rooms.Toolkits;

/// <summary>
/// The <c>messaging</c> toolkit (spec 6): presence (<c>enable</c>, <c>disable</c>) and participant messages
/// (<c>send</c>, <c>broadcast</c>), delivered as <c>messaging.send</c> envelopes to messaging-enabled
/// participants of the same room. Needs the token's <c>api.messaging</c> grant; its <c>send</c> and
/// <c>broadcast</c> flags (default true) are honoured.
/// </summary>
internal sealed class MessagingToolkit : IRoomToolkit
{
    public const string ToolkitName = "messaging";

    /// <summary>The error text the client treats as "that participant is offline" (spec 3.4).</summary>
    public const string ParticipantNotFound = "the participant was not found";

    private static readonly FrozenSet<string> Tools = FrozenSet.Create(StringComparer.Ordinal, "enable", "disable", "send", "broadcast");

    public string Name => ToolkitName;

    public bool HasTool(string tool) => Tools.Contains(tool);

    /// <summary>All in memory.</summary>
    public bool StartsInline(string tool) => true;

    public ValueTask<Content> InvokeAsync(RoomToolCall call, CancellationToken cancellationToken)
    {
        var grant = call.Principal.Api?.Json["messaging"] as JsonObject;
        if (call.Principal.Api?.HasMessaging != true)
        {
            throw KeyroomException.Denied(RoomErrors.PermissionDenied + ": the token has no messaging grant (api.messaging)");
        }

        switch (call.Tool)
        {
            case "enable":
                call.WrapReply(reply => call.Room.EnableMessaging(call.Caller, reply));
                return new ValueTask<Content>(EmptyContent.Instance);
            case "disable":
                call.WrapReply(reply => call.Room.DisableMessaging(call.Caller, reply));
                return new ValueTask<Content>(EmptyContent.Instance);
            case "send":
                DemandFlag(grant, "send");
                return new ValueTask<Content>(Send(call, ToolInput.RequiredString(ToolInput.Json(call), "to_participant_id")));
            case "broadcast":
                DemandFlag(grant, "broadcast");
                return new ValueTask<Content>(Send(call, null));
            default:
                throw KeyroomException.Invalid($"unknown tool '{call.Tool}'");
        }
    }

    private static EmptyContent Send(RoomToolCall call, string? to)
    {
        var input = ToolInput.Json(call);
        var type = ToolInput.RequiredString(input, "type");
        JsonNode? message;
        try
        {
            message = JsonNode.Parse(ToolInput.RequiredString(input, "message_json"));
        }
        catch (JsonException)
        {
            throw KeyroomException.Invalid("'message_json' must be JSON text");
        }

        byte[] attachment = [];
        if (ToolInput.OptionalString(input, "attachment_base64") is { } base64)
        {
            try
            {
                attachment = Convert.FromBase64String(base64);
            }
            catch (FormatException)
            {
                throw KeyroomException.Invalid("'attachment_base64' must be standard base64");
            }
        }

        return call.Room.Deliver(call.Caller, to, type, message, attachment)
            ? EmptyContent.Instance
            : throw new KeyroomException(KeyroomError.NotFound, ParticipantNotFound);
    }

    private static void DemandFlag(JsonObject? grant, string flag)
    {
        if (grant?[flag] is JsonValue value && value.GetValueKind() == JsonValueKind.False)
        {
            throw KeyroomException.Denied(RoomErrors.PermissionDenied + $": the token's messaging grant does not allow {flag}");
        }
    }
}
