using System.Net;

namespace Keyroom.Client;

/// <summary>
/// The server answered with an error status. Carries the status code and the ProblemDetails
/// <c>code</c> and <c>detail</c>; never the request body.
/// </summary>
public sealed class KeyroomApiException : Exception
{
    /// <summary>Creates an exception with a generic message.</summary>
    public KeyroomApiException()
        : this("the Keyroom server rejected the request")
    {
    }

    /// <summary>Creates an exception with a message and no status.</summary>
    /// <param name="message">The message.</param>
    public KeyroomApiException(string message)
        : base(message)
    {
        Detail = message;
    }

    /// <summary>Creates an exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public KeyroomApiException(string message, Exception innerException)
        : base(message, innerException)
    {
        Detail = message;
    }

    /// <summary>Creates an exception for an error response.</summary>
    /// <param name="statusCode">The HTTP status.</param>
    /// <param name="code">The ProblemDetails <c>code</c> extension (for example <c>not_found</c>), if any.</param>
    /// <param name="detail">The ProblemDetails <c>detail</c> (or title, or reason phrase).</param>
    public KeyroomApiException(HttpStatusCode statusCode, string? code, string? detail)
        : base(Describe(statusCode, code, detail))
    {
        StatusCode = statusCode;
        Code = code;
        Detail = detail;
    }

    /// <summary>The HTTP status of the response (0 when there was none).</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>The stable error code, such as <c>not_found</c> or <c>permission_denied</c>; null when the server sent none.</summary>
    public string? Code { get; }

    /// <summary>The server's human-readable explanation; it never contains secret values.</summary>
    public string? Detail { get; }

    private static string Describe(HttpStatusCode statusCode, string? code, string? detail)
    {
        var text = string.IsNullOrWhiteSpace(detail) ? "the request failed" : detail;
        return string.IsNullOrEmpty(code)
            ? $"{text} (HTTP {(int)statusCode})"
            : $"{text} ({code}, HTTP {(int)statusCode})";
    }
}
