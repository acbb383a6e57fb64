namespace Keyroom.Core;

/// <summary>Stable error categories. The server maps each to one HTTP status and one room protocol code.</summary>
public enum KeyroomError
{
    /// <summary>The input is malformed or violates a rule (HTTP 400, room code 1002).</summary>
    InvalidRequest,
    /// <summary>No credentials, or credentials that do not verify (HTTP 401, room code 1001).</summary>
    Unauthenticated,
    /// <summary>The caller is known but may not do this (HTTP 403, room code 1001).</summary>
    PermissionDenied,
    /// <summary>The thing does not exist, or the caller may not know it exists (HTTP 404, room code 1003).</summary>
    NotFound,
    /// <summary>The thing already exists (HTTP 409, room code 1004).</summary>
    AlreadyExists,
    /// <summary>A concurrent change or state conflict (HTTP 409, room code 1005).</summary>
    Conflict,
    /// <summary>A value or message exceeds a configured limit (HTTP 413, room code 1002).</summary>
    TooLarge,
    /// <summary>Waiting for something took too long (HTTP 504, room code 1009).</summary>
    Timeout,
    /// <summary>Stored data failed an integrity check (HTTP 500, room code 1008). Never retried silently.</summary>
    IntegrityFailure,
    /// <summary>
    /// A service this call depends on failed or could not be reached (HTTP 502, room code 1008): not the caller's
    /// mistake, and worth retrying later.
    /// </summary>
    Unavailable,
}

/// <summary>
/// The one domain exception type. Its message is shown to callers, so it must never contain a secret value:
/// construct it only from identifiers, names and fixed text.
/// </summary>
public sealed class KeyroomException : Exception
{
    /// <summary>Creates an exception with a category and a caller-safe message.</summary>
    public KeyroomException(KeyroomError error, string message)
        : base(message)
    {
        Error = error;
    }

    /// <summary>Creates an exception wrapping a cause; the cause's message is not shown to callers.</summary>
    public KeyroomException(KeyroomError error, string message, Exception innerException)
        : base(message, innerException)
    {
        Error = error;
    }

    /// <summary>The error category.</summary>
    public KeyroomError Error { get; }

    /// <summary>Shorthand for <see cref="KeyroomError.NotFound"/>.</summary>
    public static KeyroomException NotFound(string what) => new(KeyroomError.NotFound, what + " was not found");

    /// <summary>Shorthand for <see cref="KeyroomError.InvalidRequest"/>.</summary>
    public static KeyroomException Invalid(string message) => new(KeyroomError.InvalidRequest, message);

    /// <summary>Shorthand for <see cref="KeyroomError.PermissionDenied"/>.</summary>
    public static KeyroomException Denied(string message) => new(KeyroomError.PermissionDenied, message);
}
