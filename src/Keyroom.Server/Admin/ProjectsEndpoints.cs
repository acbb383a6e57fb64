using System.Text.Json.Serialization;
using Keyroom.Core;
using Keyroom.Core.Accounts;
using Keyroom.Core.Audit;
using Keyroom.Core.Auth;
using Keyroom.Core.Storage;
using Keyroom.Server.Accounts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Keyroom.Server.Admin;

/// <summary><c>POST/GET /admin/projects</c>: create a project with its first admin key, list projects.</summary>
internal static class ProjectsEndpoints
{
    private const int MaxNameLength = 200;

    public static RouteGroupBuilder MapProjectsEndpoints(this RouteGroupBuilder admin)
    {
        admin.MapPost("/projects", CreateAsync)
            .WithName("AdminCreateProject")
            .WithSummary("Creates a project and its first admin API key (shown once)")
            .Produces<CreatedProjectResponse>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        admin.MapGet("/projects", ListAsync)
            .WithName("AdminListProjects")
            .WithSummary("Lists every project")
            .Produces<ProjectListResponse>();
        return admin;
    }

    private static async Task<Created<CreatedProjectResponse>> CreateAsync(
        CreateProjectRequest? request, HttpContext http, IAccountStore store, ApiKeyService apiKeys, AuditLog audit, TimeProvider time)
    {
        var principal = http.GetPrincipal();
        var name = request?.Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength)
        {
            throw KeyroomException.Invalid($"a project needs a name of 1 to {MaxNameLength} characters");
        }

        var project = new Project(Guid.NewGuid().ToString("D"), name, time.GetUtcNow());
        await store.CreateProjectAsync(project, http.RequestAborted);
        var (record, key) = await apiKeys.CreateAsync(project.Id, "admin", "created with the project", ProjectRole.Admin, http.RequestAborted);
        await audit.RecordDurablyAsync(new AuditEvent(principal.ProjectId, principal.AuditActor, "project.create", "project/" + project.Id, "ok"));
        await audit.RecordDurablyAsync(new AuditEvent(project.Id, principal.AuditActor, "api_key.create", "api-key/" + record.Id.ToString("D"), "ok"));
        return TypedResults.Created((string?)null, new CreatedProjectResponse(project.Id, project.Name, key.ToString()));
    }

    private static async Task<Ok<ProjectListResponse>> ListAsync(HttpContext http, IAccountStore store)
    {
        var projects = await store.ListProjectsAsync(http.RequestAborted);
        return TypedResults.Ok(new ProjectListResponse([.. projects.Select(p => new ProjectResponse(p.Id, p.Name, AdminEndpoints.Utc(p.CreatedAt)))]));
    }
}

/// <summary>The body of <c>POST /admin/projects</c>.</summary>
internal sealed record CreateProjectRequest([property: JsonPropertyName("name")] string? Name);

/// <summary>A created project with its first admin key (the only time the key is shown).</summary>
internal sealed record CreatedProjectResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("admin_api_key")] string AdminApiKey);

/// <summary>A project in a listing.</summary>
internal sealed record ProjectResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("created_at")] DateTime CreatedAt);

/// <summary>The body of <c>GET /admin/projects</c>.</summary>
internal sealed record ProjectListResponse([property: JsonPropertyName("projects")] IReadOnlyList<ProjectResponse> Projects);
