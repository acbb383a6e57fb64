namespace Keyroom.Protocol;

/// <summary>
/// Numeric codes carried in <see cref="ErrorContent.Code"/> (spec 3.4; the Python SDK's <c>ErrorCode</c>).
/// </summary>
public static class ErrorCodes
{
    /// <summary>The caller may not do this.</summary>
    public const int PermissionDenied = 1001;

    /// <summary>The request is malformed or invalid.</summary>
    public const int InvalidRequest = 1002;

    /// <summary>The target does not exist (also "the participant was not found").</summary>
    public const int NotFound = 1003;

    /// <summary>The target already exists.</summary>
    public const int AlreadyExists = 1004;

    /// <summary>A conflicting concurrent change.</summary>
    public const int Conflict = 1005;

    /// <summary>The operation is not valid in the current state.</summary>
    public const int InvalidState = 1006;

    /// <summary>Something the operation needs is missing.</summary>
    public const int DependencyMissing = 1007;

    /// <summary>The operation failed.</summary>
    public const int OperationFailed = 1008;

    /// <summary>Waiting took too long (for example no answer to a secret request).</summary>
    public const int Timeout = 1009;

    /// <summary>The reply had an unexpected content type (raised client-side by the official SDKs).</summary>
    public const int UnexpectedResponseType = 1100;

    /// <summary>The service does not exist.</summary>
    public const int ServiceNotFound = 7001;

    /// <summary>The service may not be restarted.</summary>
    public const int ServiceRestartNotAllowed = 7002;

    /// <summary>The service already exists.</summary>
    public const int ServiceAlreadyExists = 7003;
}
