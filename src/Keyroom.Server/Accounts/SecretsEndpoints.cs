using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Keyroom.Core.Secrets;
using Keyroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Keyroom.Server.Accounts;

/// <summary>
/// Project (managed) secrets, spec §5.2: <c>/accounts/projects/{projectId}/secrets</c>. Authorization,
/// validation of <c>keys</c>/<c>docker</c> values, sealing, versions and audit are <see cref="SecretService"/>'s.
/// </summary>
internal static class SecretsEndpoints
{
    public static RouteGroupBuilder MapSecretsEndpoints(this RouteGroupBuilder project)
    {
        var secrets = project.MapGroup("/secrets").WithTags("Project secrets");

        secrets.MapPost("", CreateAsync)
            .WithName("createProjectSecret")
            .WithSummary("Creates a project secret (version 1). Needs the developer or admin role.")
            .Accepts<ProjectSecretWriteRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

        secrets.MapGet("", ListAsync)
            .WithName("listProjectSecrets")
            .WithSummary("Lists the project's secrets without values.")
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        secrets.MapGet("/{secretId}", GetAsync)
            .WithName("getProjectSecret")
            .WithSummary("Reads a project secret's value: the current version, or ?version=N while it is kept.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        secrets.MapGet("/{secretId}/versions", ListVersionsAsync)
            .WithName("listProjectSecretVersions")
            .WithSummary("Lists the kept versions of a project secret, newest first.")
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        secrets.MapPut("/{secretId}", UpdateAsync)
            .WithName("updateProjectSecret")
            .WithSummary("Writes a new version of a project secret; earlier versions are kept up to the configured count.")
            .Accepts<ProjectSecretWriteRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

        secrets.MapDelete("/{secretId}", DeleteAsync)
            .WithName("deleteProjectSecret")
            .WithSummary("Deletes a project secret with all its versions.")
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        return project;
    }

    private static async Task<Created<SecretVersionResponse>> CreateAsync(
        string projectId, HttpContext http, SecretService secrets, IOptions<KeyroomOptions> options, CancellationToken cancellationToken)
    {
        var limits = Limits(options.Value);
        var body = await JsonBody.ReadAsync<ProjectSecretWriteRequest>(http, JsonBody.LimitForValue(limits.MaxValueBytes));
        try
        {
            var name = RequestRules.RequiredText(body.Name, "name");
            var type = RequestRules.RequiredText(body.Type, "type");
            var value = RequestRules.Required(body.Data, "data_base64");
            var id = body.Id is null ? RequestRules.NewId() : RequestRules.SecretId(body.Id, "id");
            var info = await secrets.WriteAsync(
                http.GetPrincipal(), SecretKey.Project(projectId, id), name, type, value, WriteMode.Create, limits, cancellationToken);
            return TypedResults.Created(Location(projectId, id), new SecretVersionResponse(id, info.Version));
        }
        finally
        {
            RequestRules.Zero(body.Data);
        }
    }

    private static async Task<Ok<SecretListResponse>> ListAsync(
        string projectId, HttpContext http, SecretService secrets, CancellationToken cancellationToken)
    {
        var query = new SecretQuery(projectId, SecretKey.ProjectScope, string.Empty, string.Empty);
        var list = await secrets.ListAsync(http.GetPrincipal(), query, cancellationToken);
        return TypedResults.Ok(new SecretListResponse([.. list.Select(SecretInfoResponse.From)]));
    }

    private static async Task<Ok<SecretValueResponse>> GetAsync(
        string projectId, string secretId, int? version, HttpContext http, SecretService secrets, CancellationToken cancellationToken)
    {
        if (version is < 1)
        {
            throw Core.KeyroomException.Invalid("'version' must be a positive integer");
        }

        var secret = await secrets.ReadAsync(http.GetPrincipal(), SecretKey.Project(projectId, secretId), version, cancellationToken);
        http.Response.ZeroAfterResponse(secret.Value);
        return TypedResults.Ok(SecretValueResponse.From(secret));
    }

    private static async Task<Ok<SecretVersionsResponse>> ListVersionsAsync(
        string projectId, string secretId, HttpContext http, SecretService secrets, CancellationToken cancellationToken)
    {
        var versions = await secrets.ListVersionsAsync(http.GetPrincipal(), SecretKey.Project(projectId, secretId), cancellationToken);
        return TypedResults.Ok(new SecretVersionsResponse([.. versions.Select(v => new SecretVersionItem(v.Version, v.CreatedAt))]));
    }

    private static async Task<Ok<SecretVersionResponse>> UpdateAsync(
        string projectId, string secretId, HttpContext http, SecretService secrets, IOptions<KeyroomOptions> options, CancellationToken cancellationToken)
    {
        var limits = Limits(options.Value);
        var body = await JsonBody.ReadAsync<ProjectSecretWriteRequest>(http, JsonBody.LimitForValue(limits.MaxValueBytes));
        try
        {
            var name = RequestRules.RequiredText(body.Name, "name");
            var type = RequestRules.RequiredText(body.Type, "type");
            var value = RequestRules.Required(body.Data, "data_base64");
            var info = await secrets.WriteAsync(
                http.GetPrincipal(), SecretKey.Project(projectId, secretId), name, type, value, WriteMode.Update, limits, cancellationToken);
            return TypedResults.Ok(new SecretVersionResponse(secretId, info.Version));
        }
        finally
        {
            RequestRules.Zero(body.Data);
        }
    }

    private static async Task<NoContent> DeleteAsync(
        string projectId, string secretId, HttpContext http, SecretService secrets, CancellationToken cancellationToken)
    {
        await secrets.DeleteAsync(http.GetPrincipal(), SecretKey.Project(projectId, secretId), cancellationToken);
        return TypedResults.NoContent();
    }

    private static SecretLimits Limits(KeyroomOptions options) => new(options.MaxSecretBytes, options.KeepVersions);

    private static string Location(string projectId, string id) =>
        $"/accounts/projects/{Uri.EscapeDataString(projectId)}/secrets/{Uri.EscapeDataString(id)}";
}

/// <summary>The body of createProjectSecret / updateProjectSecret.</summary>
/// <param name="Id">Create only: the id to use instead of a generated one.</param>
/// <param name="Name">The display name.</param>
/// <param name="Type">"keys", "docker" or free text.</param>
/// <param name="Data">The value, standard base64.</param>
internal sealed record ProjectSecretWriteRequest(
    [property: JsonPropertyName("id")] string? Id = null,
    [property: JsonPropertyName("name"), Required] string? Name = null,
    [property: JsonPropertyName("type"), Required] string? Type = null,
    [property: JsonPropertyName("data_base64"), Required] byte[]? Data = null);

/// <summary>A secret id and the version just written.</summary>
internal sealed record SecretVersionResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("version")] int Version);

/// <summary>A list of secrets without values.</summary>
internal sealed record SecretListResponse(
    [property: JsonPropertyName("secrets")] IReadOnlyList<SecretInfoResponse> Secrets);

/// <summary>A secret without its value (ManagedSecretInfo). <c>delegated_to</c> is null when not delegated.</summary>
internal sealed record SecretInfoResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("delegated_to")] string? DelegatedTo,
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("updated_at")] DateTimeOffset UpdatedAt)
{
    public static SecretInfoResponse From(SecretInfo info) =>
        new(info.Key.Id, info.Type, info.Name, NullIfEmpty(info.Key.DelegatedTo), info.Version, info.CreatedAt, info.UpdatedAt);

    internal static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}

/// <summary>A secret with its value (ManagedSecret). <c>version</c> is the version returned.</summary>
internal sealed record SecretValueResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("delegated_to")] string? DelegatedTo,
    [property: JsonPropertyName("data_base64")] byte[] Data,
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("updated_at")] DateTimeOffset UpdatedAt)
{
    public static SecretValueResponse From(SecretValue secret) =>
        new(secret.Info.Key.Id, secret.Info.Type, secret.Info.Name, SecretInfoResponse.NullIfEmpty(secret.Info.Key.DelegatedTo),
            secret.Value, secret.Version, secret.Info.CreatedAt, secret.Info.UpdatedAt);
}

/// <summary>The kept versions of a secret, newest first.</summary>
internal sealed record SecretVersionsResponse(
    [property: JsonPropertyName("versions")] IReadOnlyList<SecretVersionItem> Versions);

/// <summary>One kept version.</summary>
internal sealed record SecretVersionItem(
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt);
