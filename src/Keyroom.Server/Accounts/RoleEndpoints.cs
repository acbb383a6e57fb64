using System.Text.Json.Serialization;
using Keyroom.Core.Auth;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Keyroom.Server.Accounts;

/// <summary>The caller's project role, spec §5.6: <c>GET /accounts/projects/{projectId}/role</c>.</summary>
internal static class RoleEndpoints
{
    public static RouteGroupBuilder MapRoleEndpoints(this RouteGroupBuilder project)
    {
        project.MapGet("/role", GetRole)
            .WithTags("Projects")
            .WithName("getProjectRole")
            .WithSummary("Returns the caller's role in the project: admin, developer or member (for tokens, the signing key's role).")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return project;
    }

    private static Ok<RoleResponse> GetRole(string projectId, HttpContext http)
    {
        var principal = http.GetPrincipal();
        SecretAuthorizer.DemandMember(principal, projectId);
        return TypedResults.Ok(new RoleResponse(principal.Role.ToWire()));
    }
}

/// <summary>The caller's role.</summary>
internal sealed record RoleResponse([property: JsonPropertyName("role")] string Role);
