using System.Text.Json;
using Keyroom.Core;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Keyroom.Server.Errors;

/// <summary>
/// The one place where errors become HTTP responses: every failure is a ProblemDetails with a stable
/// <c>code</c> extension. Messages come from <see cref="KeyroomException"/> (which never carries values) or
/// fixed text; framework exception messages are not echoed, because they can quote request content.
/// </summary>
internal static partial class ProblemMapping
{
    public static int StatusFor(KeyroomError error) => error switch
    {
        KeyroomError.InvalidRequest => StatusCodes.Status400BadRequest,
        KeyroomError.Unauthenticated => StatusCodes.Status401Unauthorized,
        KeyroomError.PermissionDenied => StatusCodes.Status403Forbidden,
        KeyroomError.NotFound => StatusCodes.Status404NotFound,
        KeyroomError.AlreadyExists or KeyroomError.Conflict => StatusCodes.Status409Conflict,
        KeyroomError.TooLarge => StatusCodes.Status413PayloadTooLarge,
        KeyroomError.Timeout => StatusCodes.Status504GatewayTimeout,
        KeyroomError.Unavailable => StatusCodes.Status502BadGateway,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static string CodeFor(KeyroomError error) => error switch
    {
        KeyroomError.InvalidRequest => "invalid_request",
        KeyroomError.Unauthenticated => "unauthenticated",
        KeyroomError.PermissionDenied => "permission_denied",
        KeyroomError.NotFound => "not_found",
        KeyroomError.AlreadyExists => "already_exists",
        KeyroomError.Conflict => "conflict",
        KeyroomError.TooLarge => "too_large",
        KeyroomError.Timeout => "timeout",
        KeyroomError.Unavailable => "unavailable",
        _ => "internal_error",
    };

    /// <summary>A ProblemDetails result for a domain error.</summary>
    public static ProblemHttpResult Problem(KeyroomException ex) => Problem(ex.Error, ex.Message);

    public static ProblemHttpResult Problem(KeyroomError error, string detail) =>
        TypedResults.Problem(
            statusCode: StatusFor(error),
            detail: detail,
            extensions: new Dictionary<string, object?> { ["code"] = CodeFor(error) });

    public static IServiceCollection AddKeyroomProblems(this IServiceCollection services) =>
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            context.ProblemDetails.Extensions.TryAdd("code", context.ProblemDetails.Status switch
            {
                400 => "invalid_request",
                401 => "unauthenticated",
                404 => "not_found",
                405 => "method_not_allowed",
                413 => "too_large",
                415 => "unsupported_media_type",
                _ => "error",
            });
        });

    /// <summary>Turns exceptions that escape endpoints into ProblemDetails without echoing their text.</summary>
    public static IApplicationBuilder UseKeyroomProblems(this IApplicationBuilder app) =>
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = ex => ex switch
            {
                KeyroomException k => StatusFor(k.Error),
                BadHttpRequestException b => b.StatusCode,
                JsonException => StatusCodes.Status400BadRequest,
                _ => StatusCodes.Status500InternalServerError,
            },
            ExceptionHandler = async context =>
            {
                var ex = context.Features.Get<IExceptionHandlerFeature>()?.Error;
                var (status, code, detail) = ex switch
                {
                    KeyroomException k => (StatusFor(k.Error), CodeFor(k.Error), k.Message),
                    BadHttpRequestException { StatusCode: 413 } => (413, "too_large", "the request body is too large"),
                    BadHttpRequestException b => (b.StatusCode, "invalid_request", "the request body is not valid JSON of the expected shape"),
                    JsonException => (400, "invalid_request", "the request body is not valid JSON of the expected shape"),
                    _ => (500, "internal_error", "an internal error occurred; see the server log for the trace id"),
                };
                context.Response.StatusCode = status;
                var writer = context.RequestServices.GetRequiredService<IProblemDetailsService>();
                await writer.WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context,
                    ProblemDetails = { Status = status, Detail = detail, Extensions = { ["code"] = code } },
                });
            },
        });
}
