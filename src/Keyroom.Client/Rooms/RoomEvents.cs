using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Keyroom.Protocol;

namespace Keyroom.Client.Rooms;

/// <summary>The state of a <see cref="RoomClient"/>.</summary>
public enum RoomClientState
{
    /// <summary>The first connection and handshake are in progress.</summary>
    Connecting,

    /// <summary>Connected and ready for requests.</summary>
    Connected,

    /// <summary>The connection was lost; the client is reconnecting. New requests wait for it.</summary>
    Reconnecting,

    /// <summary>The client has ended (disposed, closed by the server with 1000, or reconnecting gave up).</summary>
    Closed,
}

/// <summary>A server-to-client message other than a reply (presence, prompts, <c>room.status</c>, …).</summary>
public sealed class RoomMessageEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    /// <param name="message">The raw message.</param>
    /// <param name="packed">The decoded envelope, or null when the data is not a packed message.</param>
    public RoomMessageEventArgs(ProtocolMessage message, PackedMessage? packed)
    {
        ArgumentNullException.ThrowIfNull(message);
        Message = message;
        Packed = packed;
    }

    /// <summary>The message type, for example <c>messaging.send</c>.</summary>
    public string Type => Message.Type;

    /// <summary>The raw message (id, type, data).</summary>
    public ProtocolMessage Message { get; }

    /// <summary>The decoded packMessage envelope (header and payload), or null when the data is not one.</summary>
    public PackedMessage? Packed { get; }
}

/// <summary>A <c>room.status</c> message from the server.</summary>
public sealed class RoomStatusEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    /// <param name="status">The status.</param>
    /// <param name="message">The message, if any.</param>
    public RoomStatusEventArgs(string status, string? message)
    {
        Status = status;
        Message = message;
    }

    /// <summary>The status name.</summary>
    public string Status { get; }

    /// <summary>The accompanying message, if any.</summary>
    public string? Message { get; }
}

/// <summary>Why a connection ended (a lost connection before a reconnect, or the end of the client).</summary>
public sealed class RoomDisconnectedEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    /// <param name="closeStatus">The close status the server sent, if any.</param>
    /// <param name="closeDescription">The close reason the server sent, if any.</param>
    /// <param name="exception">The error that ended the connection, if any.</param>
    public RoomDisconnectedEventArgs(WebSocketCloseStatus? closeStatus, string? closeDescription, Exception? exception)
    {
        CloseStatus = closeStatus;
        CloseDescription = closeDescription;
        Exception = exception;
    }

    /// <summary>The close status the server sent (1000 = normal end), or null when the socket failed without one.</summary>
    public WebSocketCloseStatus? CloseStatus { get; }

    /// <summary>The close reason the server sent, if any.</summary>
    public string? CloseDescription { get; }

    /// <summary>The socket or protocol error, or for a closed client the reason it gave up; null for a clean close.</summary>
    public Exception? Exception { get; }

    /// <inheritdoc />
    public override string ToString() =>
        CloseStatus is { } status
            ? $"closed with {(int)status}{(string.IsNullOrEmpty(CloseDescription) ? string.Empty : ": " + CloseDescription)}"
            : Exception is { } ex ? $"failed: {ex.Message}" : "closed";
}

/// <summary>The client reconnected after a lost connection.</summary>
public sealed class RoomReconnectedEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    /// <param name="participantId">The new connection's participant id.</param>
    /// <param name="previousParticipantId">The lost connection's participant id.</param>
    public RoomReconnectedEventArgs(string participantId, string previousParticipantId)
    {
        ParticipantId = participantId;
        PreviousParticipantId = previousParticipantId;
    }

    /// <summary>The new participant id.</summary>
    public string ParticipantId { get; }

    /// <summary>The participant id of the lost connection.</summary>
    public string PreviousParticipantId { get; }
}

/// <summary>An exception thrown by an application callback (an event handler or a prompt handler) or by an automatic answer.</summary>
public sealed class RoomErrorEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    /// <param name="source">What failed, for example <c>secrets.request_secret handler</c>.</param>
    /// <param name="exception">The exception.</param>
    public RoomErrorEventArgs(string source, Exception exception)
    {
        Source = source;
        Exception = exception;
    }

    /// <summary>What failed.</summary>
    public string Source { get; }

    /// <summary>The exception.</summary>
    public Exception Exception { get; }
}

/// <summary>The handshake data of one connection.</summary>
internal sealed record RoomHandshake(string ParticipantId, JsonObject Attributes, string? RoomName, string? RoomUrl, string? SessionId);
