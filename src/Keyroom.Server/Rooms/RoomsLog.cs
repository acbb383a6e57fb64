namespace Keyroom.Server.Rooms;

/// <summary>
/// Room log messages. They carry ids, tool names, sizes and reason categories only: never tokens, secret values,
/// payloads, attribute values or free text sent by a client.
/// </summary>
internal static partial class RoomsLog
{
    [LoggerMessage(EventId = 4000, Level = LogLevel.Information, Message = "Participant {ParticipantId} joined room {Room} (role {Role})")]
    public static partial void Joined(ILogger logger, string room, string participantId, string role);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Participant {ParticipantId} left room {Room} (close status {CloseStatus})")]
    public static partial void Left(ILogger logger, string room, string participantId, string closeStatus);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Room connection to {Room} refused: {Reason}")]
    public static partial void Refused(ILogger logger, string room, string reason);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Room {Room} created on first join by a token of key {KeyId}")]
    public static partial void RoomCreated(ILogger logger, string room, Guid keyId);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Error, Message = "Room admission to {Room} failed unexpectedly; closing with 1011")]
    public static partial void AdmissionFailed(ILogger logger, Exception exception, string room);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Warning, Message = "Participant {ParticipantId} broke the framing ({Kind}); closing the connection")]
    public static partial void ProtocolViolation(ILogger logger, string participantId, string kind);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Debug, Message = "Participant {ParticipantId}: connection ended ({Reason})")]
    public static partial void PeerGone(ILogger logger, string participantId, string reason);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Debug, Message = "Participant {ParticipantId}: ignored a message of unknown type {Type}")]
    public static partial void UnknownMessageType(ILogger logger, string participantId, string type);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Debug, Message = "Participant {ParticipantId}: ignored set_attributes ({Bytes} bytes, malformed or too large)")]
    public static partial void AttributesIgnored(ILogger logger, string participantId, int bytes);

    [LoggerMessage(EventId = 4014, Level = LogLevel.Debug, Message = "Participant {ParticipantId}: dropped an outgoing {Type} ({Reason})")]
    public static partial void SendDropped(ILogger logger, string participantId, string type, string reason);

    [LoggerMessage(EventId = 4020, Level = LogLevel.Debug, Message = "{Toolkit}.{Tool} by {ParticipantId}: {RequestBytes} B in, {ReplyBytes} B out, error code {ErrorCode}, {ElapsedMs:F2} ms")]
    public static partial void ToolCalled(ILogger logger, string toolkit, string tool, string participantId, int requestBytes, int replyBytes, int errorCode, double elapsedMs);

    [LoggerMessage(EventId = 4021, Level = LogLevel.Error, Message = "{Toolkit}.{Tool} by {ParticipantId} failed unexpectedly; replied with error 1008")]
    public static partial void ToolFailed(ILogger logger, Exception exception, string toolkit, string tool, string participantId);

    [LoggerMessage(EventId = 4022, Level = LogLevel.Warning, Message = "Participant {ParticipantId} has {Limit} calls in flight; refused another with error 1006")]
    public static partial void TooManyPending(ILogger logger, string participantId, int limit);

    [LoggerMessage(EventId = 4030, Level = LogLevel.Debug, Message = "Request {RequestId} ({Kind}) from {Requester} to {Target} ended: {Outcome}")]
    public static partial void RequestEnded(ILogger logger, string requestId, string kind, string requester, string target, string outcome);

    [LoggerMessage(EventId = 4031, Level = LogLevel.Warning, Message = "A secret provided for request {RequestId} could not be cached ({Error}); it was delivered anyway")]
    public static partial void CacheWriteFailed(ILogger logger, string requestId, string error);

    [LoggerMessage(EventId = 4040, Level = LogLevel.Information, Message = "Participant {ParticipantId}: its token expired; closing the connection")]
    public static partial void TokenExpired(ILogger logger, string participantId);
}
