using Keyroom.Core;
using Keyroom.Core.Audit;
using Keyroom.Core.Auth;
using Keyroom.Core.Secrets;
using Keyroom.Server.Accounts;
using Keyroom.Server.Errors;

namespace Keyroom.Server.Admin;

/// <summary>
/// Server administration: projects, master key rotation and audit verification under <c>/admin</c> (server
/// admins only: admin-role keys of the system project), and the per-project audit trail for project admins.
/// </summary>
internal static class AdminEndpoints
{
    public static IServiceCollection AddAdmin(this IServiceCollection services)
    {
        services.AddSingleton<SystemProject>();
        services.AddSingleton<MasterKeyAdministration>();
        return services;
    }

    public static IEndpointRouteBuilder MapAdminEndpoints(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin")
            .RequireKeyroomAuth()
            .AddEndpointFilter(RequireServerAdminAsync)
            .WithTags("Admin")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapProjectsEndpoints();
        admin.MapMasterKeyEndpoints();
        admin.MapAuditVerifyEndpoint();

        var project = app.MapGroup("/accounts/projects/{projectId}")
            .RequireKeyroomAuth()
            .AddEndpointFilter(MapDomainErrorsAsync)
            .WithTags("Audit")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        project.MapProjectAuditEndpoint();
        return app;
    }

    /// <summary>An ISO-8601 UTC timestamp as the contract writes them.</summary>
    public static DateTime Utc(DateTimeOffset at) => at.UtcDateTime;

    /// <summary>
    /// Lets only server admins through: an admin-role credential of the system project. Callers of another
    /// project get 404 (as for any other project's resource), members and developers of the system project
    /// 403. Refusals are audited; domain errors of the endpoints become ProblemDetails.
    /// </summary>
    private static async ValueTask<object?> RequireServerAdminAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var principal = http.GetPrincipal();
        try
        {
            var systemProject = await http.RequestServices.GetRequiredService<SystemProject>().GetIdAsync(http.RequestAborted)
                ?? throw KeyroomException.NotFound("project");
            SecretAuthorizer.DemandAdmin(principal, systemProject);
        }
        catch (KeyroomException ex)
        {
            http.RequestServices.GetRequiredService<AuditLog>().Record(
                new AuditEvent(principal.ProjectId, principal.AuditActor, "admin.access", Target(http), SecretService.Outcome(ex)));
            return ProblemMapping.Problem(ex);
        }

        return await MapDomainErrorsAsync(context, next);
    }

    private static async ValueTask<object?> MapDomainErrorsAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (KeyroomException ex)
        {
            return ProblemMapping.Problem(ex);
        }
    }

    private static string Target(HttpContext http) => (http.Request.Path.Value ?? string.Empty).TrimStart('/');
}
