using Keyroom.Core;
using Keyroom.Protocol;

namespace Keyroom.Server.Rooms;

/// <summary>
/// The one place where failures become room <c>error</c> replies (spec 3.4): domain errors keep their
/// caller-safe message and get a stable code; anything unexpected becomes 1008 with fixed text (its message is
/// only logged, since framework messages can quote input).
/// </summary>
internal static class RoomErrors
{
    /// <summary>The error text for a missing grant.</summary>
    public const string PermissionDenied = "permission denied";

    public static int CodeFor(KeyroomError error) => error switch
    {
        KeyroomError.PermissionDenied or KeyroomError.Unauthenticated => ErrorCodes.PermissionDenied,
        KeyroomError.InvalidRequest or KeyroomError.TooLarge => ErrorCodes.InvalidRequest,
        KeyroomError.NotFound => ErrorCodes.NotFound,
        KeyroomError.AlreadyExists => ErrorCodes.AlreadyExists,
        KeyroomError.Conflict => ErrorCodes.Conflict,
        KeyroomError.Timeout => ErrorCodes.Timeout,
        _ => ErrorCodes.OperationFailed,
    };

    /// <summary>Maps a failure of a tool call to its reply; <paramref name="expected"/> is false when it should be logged as a fault.</summary>
    public static ErrorContent ToContent(Exception exception, out bool expected)
    {
        expected = true;
        switch (exception)
        {
            case KeyroomException k:
                expected = k.Error != KeyroomError.IntegrityFailure;
                return new ErrorContent(k.Message, CodeFor(k.Error));
            case ProtocolException p:
                // Protocol messages name fields and sizes only (never payload contents).
                return new ErrorContent("malformed room.invoke_tool: " + p.Message, ErrorCodes.InvalidRequest);
            case NotSupportedException n:
                return new ErrorContent(n.Message, ErrorCodes.DependencyMissing);
            default:
                expected = false;
                return new ErrorContent("the operation failed; the server log has details", ErrorCodes.OperationFailed);
        }
    }
}
