using Keyroom.Core;
using Keyroom.Server.Errors;

namespace Keyroom.Server.Accounts;

/// <summary>
/// The accounts REST API (spec §5, docs/rest-contract.md). Every route lives under
/// <c>/accounts/projects/{projectId}</c>, needs a bearer credential, and has its domain errors turned into
/// ProblemDetails here, in one place: handlers just throw <see cref="KeyroomException"/>.
/// </summary>
internal static class AccountsEndpoints
{
    public static IEndpointRouteBuilder MapAccountsEndpoints(this IEndpointRouteBuilder app)
    {
        var project = app.MapGroup("/accounts/projects/{projectId}");

        // Outermost first: the error mapping wraps authentication and every handler.
        project.AddEndpointFilter(MapErrorsAsync);
        project.RequireKeyroomAuth();
        project.ProducesProblem(StatusCodes.Status401Unauthorized);

        project.MapSecretsEndpoints();
        project.MapRoomSecretsEndpoints();
        project.MapRoomsEndpoints();
        project.MapApiKeysEndpoints();
        project.MapRoleEndpoints();
        return app;
    }

    /// <summary>The one mapping from <see cref="KeyroomException"/> to a ProblemDetails response.</summary>
    private static async ValueTask<object?> MapErrorsAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (KeyroomException ex)
        {
            if (ex.Error == KeyroomError.Unauthenticated)
            {
                context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
            }

            return ProblemMapping.Problem(ex);
        }
    }
}
