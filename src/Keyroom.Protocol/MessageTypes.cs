namespace Keyroom.Protocol;

/// <summary>The logical message type names used on the room WebSocket (spec 2.2, 2.3, 2.7, 3.2).</summary>
public static class MessageTypes
{
    /// <summary>Server→client handshake message; payload <c>{room_name, room_url, session_id}</c>.</summary>
    public const string RoomReady = "room_ready";

    /// <summary>Server→client handshake message; payload <c>{"type":"init","participantId":…,"attributes":{…}}</c>.</summary>
    public const string Connected = "connected";

    /// <summary>The reply to a request; it reuses the request's message id and carries a packed content.</summary>
    public const string Response = "__response__";

    /// <summary>Client→server tool invocation (<see cref="InvokeToolRequest"/>).</summary>
    public const string InvokeTool = "room.invoke_tool";

    /// <summary>Client→server one-way attribute update; payload is the attributes object.</summary>
    public const string SetAttributes = "set_attributes";

    /// <summary>Server→client messaging envelope (presence and participant messages).</summary>
    public const string MessagingSend = "messaging.send";

    /// <summary>Server→client prompt asking the target participant for a secret.</summary>
    public const string RequestSecret = "secrets.request_secret";

    /// <summary>Server→client prompt asking the target participant to authorize an OAuth client.</summary>
    public const string RequestOAuthToken = "secrets.request_oauth_token";

    /// <summary>Server→client room status event; payload <c>{status, message}</c>.</summary>
    public const string RoomStatus = "room.status";

    /// <summary>Server→client streaming tool chunk; payload <c>{tool_call_id, chunk}</c> plus bytes.</summary>
    public const string ToolCallResponseChunk = "room.tool_call_response_chunk";
}
