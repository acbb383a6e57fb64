using System.Net;
using System.Net.WebSockets;

namespace Keyroom.Client.Rooms;

/// <summary>The base class of the room SDK's exceptions.</summary>
public class RoomException : Exception
{
    /// <summary>Creates an exception with a generic message.</summary>
    public RoomException()
        : this("the room request failed")
    {
    }

    /// <summary>Creates an exception.</summary>
    /// <param name="message">The message.</param>
    public RoomException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public RoomException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The server answered a request with an <c>error</c> content (<c>{"type":"error","text":…,"code":…}</c>), or with a
/// reply the SDK cannot accept. <see cref="Exception.Message"/> is the server's text; <see cref="Code"/> its code
/// (see <see cref="Keyroom.Protocol.ErrorCodes"/>), if it sent one.
/// </summary>
public sealed class RoomServerException : RoomException
{
    /// <summary>Creates an exception with a generic message and no code.</summary>
    public RoomServerException()
        : this("the server rejected the request")
    {
    }

    /// <summary>Creates an exception without a code.</summary>
    /// <param name="message">The server's error text.</param>
    public RoomServerException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception without a code, with a cause.</summary>
    /// <param name="message">The error text.</param>
    /// <param name="innerException">The cause.</param>
    public RoomServerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for an error reply.</summary>
    /// <param name="message">The server's error text.</param>
    /// <param name="code">The error code, or null when the server sent none.</param>
    public RoomServerException(string message, int? code)
        : base(message)
    {
        Code = code;
    }

    /// <summary>The error code (for example 1001 permission denied, 1003 not found), or null.</summary>
    public int? Code { get; }
}

/// <summary>
/// The room connection could not be opened, was lost, or the client was closed before a request completed.
/// Requests that were in flight when a connection was lost are never replayed.
/// </summary>
public sealed class RoomConnectionException : RoomException
{
    /// <summary>Creates an exception with a generic message.</summary>
    public RoomConnectionException()
        : this("the room connection failed")
    {
    }

    /// <summary>Creates an exception.</summary>
    /// <param name="message">The message.</param>
    public RoomConnectionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public RoomConnectionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception with connection details.</summary>
    /// <param name="message">The message.</param>
    /// <param name="closeStatus">The WebSocket close status the server sent, if any.</param>
    /// <param name="closeDescription">The close reason the server sent, if any.</param>
    /// <param name="httpStatusCode">The HTTP status of a refused upgrade, if any.</param>
    /// <param name="isPermanent">Whether retrying with the same token cannot help.</param>
    /// <param name="innerException">The cause, if any.</param>
    public RoomConnectionException(
        string message,
        WebSocketCloseStatus? closeStatus,
        string? closeDescription,
        HttpStatusCode? httpStatusCode,
        bool isPermanent,
        Exception? innerException = null)
        : base(message, innerException!)
    {
        CloseStatus = closeStatus;
        CloseDescription = closeDescription;
        HttpStatusCode = httpStatusCode;
        IsPermanent = isPermanent;
    }

    /// <summary>The WebSocket close status the server sent, if the connection was closed by it.</summary>
    public WebSocketCloseStatus? CloseStatus { get; }

    /// <summary>The close reason the server sent, if any.</summary>
    public string? CloseDescription { get; }

    /// <summary>The HTTP status of a refused WebSocket upgrade (for example 403 or 404), if that is what happened.</summary>
    public HttpStatusCode? HttpStatusCode { get; }

    /// <summary>
    /// Whether the failure is permanent (a refused token or room, or a normal close by the server), so the client
    /// does not retry.
    /// </summary>
    public bool IsPermanent { get; }
}
