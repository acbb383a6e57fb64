namespace Keyroom.Server.OAuth;

/// <summary>
/// The OAuth broker's log messages (event ids 41xx). Only endpoint hosts, outcomes and sanitized OAuth
/// error codes: never codes, verifiers, tokens or client secrets.
/// </summary>
internal static partial class OAuthLog
{
    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "OAuth code exchange at {Host} succeeded (refresh token: {HasRefreshToken}, expires in: {ExpiresIn} s)")]
    public static partial void ExchangeSucceeded(ILogger logger, string host, bool hasRefreshToken, long? expiresIn);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "OAuth code exchange at {Host} failed: {Failure} ({Error})")]
    public static partial void ExchangeFailed(ILogger logger, string host, TokenFailure failure, string error);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Information, Message = "OAuth token refreshed at {Host} (refresh token rotated: {Rotated}, expires in: {ExpiresIn} s)")]
    public static partial void RefreshSucceeded(ILogger logger, string host, bool rotated, long? expiresIn);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Warning, Message = "OAuth refresh at {Host} was refused ({Error}); the stored credential was deleted and must be authorized again")]
    public static partial void RefreshRevoked(ILogger logger, string host, string error);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Warning, Message = "OAuth refresh at {Host} failed: {Failure} ({Error}); the stored credential was kept")]
    public static partial void RefreshFailed(ILogger logger, string host, TokenFailure failure, string error);

    [LoggerMessage(EventId = 4106, Level = LogLevel.Debug, Message = "OAuth token endpoint {Host} refused client authentication {Method}; trying {Next}")]
    public static partial void ClientAuthRetry(ILogger logger, string host, ClientAuthMethod method, ClientAuthMethod next);

    [LoggerMessage(EventId = 4107, Level = LogLevel.Warning, Message = "OAuth endpoint {Host} refused by the outbound guard: {Reason}")]
    public static partial void EndpointRefused(ILogger logger, string host, string reason);
}
