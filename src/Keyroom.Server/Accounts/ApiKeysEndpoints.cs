using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Keyroom.Core;
using Keyroom.Core.Accounts;
using Keyroom.Core.Audit;
using Keyroom.Core.Auth;
using Keyroom.Core.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Keyroom.Server.Accounts;

/// <summary>
/// API keys, spec §5.6: <c>/accounts/projects/{projectId}/api-keys</c>. Admin only. The key's value is
/// returned once, by create; lists never carry it. A deleted key stops authenticating at once (its cache
/// entry is dropped), and so do the participant tokens it signed.
/// </summary>
internal static class ApiKeysEndpoints
{
    public static RouteGroupBuilder MapApiKeysEndpoints(this RouteGroupBuilder project)
    {
        var keys = project.MapGroup("/api-keys").WithTags("API keys");

        keys.MapPost("", CreateAsync)
            .WithName("createApiKey")
            .WithSummary("Creates an API key (role admin, developer or member; default developer). The value is shown only in this response.")
            .Accepts<ApiKeyCreateRequest>("application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

        keys.MapGet("", ListAsync)
            .WithName("listApiKeys")
            .WithSummary("Lists the project's API keys, without their values.")
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        keys.MapDelete("/{keyId}", DeleteAsync)
            .WithName("deleteApiKey")
            .WithSummary("Deletes an API key; it and the tokens it signed stop working immediately. The project's last admin key cannot be deleted (409).")
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        return project;
    }

    private static async Task<Created<ApiKeyCreatedResponse>> CreateAsync(
        string projectId, HttpContext http, ApiKeyService apiKeys, AuditLog audit, CancellationToken cancellationToken)
    {
        var principal = http.GetPrincipal();
        var created = await audit.AuditedAsync(principal, projectId, "api_key.create", r => AccountsAudit.ApiKey(r.Id), "api-key", async () =>
        {
            SecretAuthorizer.DemandAdmin(principal, projectId);
            var body = await JsonBody.ReadAsync<ApiKeyCreateRequest>(http, JsonBody.SmallBodyLimit);
            var name = RequestRules.Required(body.Name, "name");
            var role = ProjectRole.Developer;
            if (body.Role is not null && !ProjectRoles.TryParse(body.Role, out role))
            {
                throw KeyroomException.Invalid("'role' must be admin, developer or member");
            }

            var (record, key) = await apiKeys.CreateAsync(projectId, name, body.Description ?? string.Empty, role, cancellationToken);
            return ApiKeyCreatedResponse.From(record, key.ToString());
        });
        return TypedResults.Created((string?)null, created);
    }

    private static async Task<Ok<ApiKeyListResponse>> ListAsync(
        string projectId, HttpContext http, IAccountStore accounts, CancellationToken cancellationToken)
    {
        SecretAuthorizer.DemandAdmin(http.GetPrincipal(), projectId);
        var keys = await accounts.ListApiKeysAsync(projectId, cancellationToken);
        return TypedResults.Ok(new ApiKeyListResponse([.. keys.Select(ApiKeyInfoResponse.From)]));
    }

    private static async Task<NoContent> DeleteAsync(
        string projectId, string keyId, HttpContext http, ApiKeyService apiKeys, AuditLog audit, CancellationToken cancellationToken)
    {
        var principal = http.GetPrincipal();
        await audit.AuditedAsync(principal, projectId, "api_key.delete", id => AccountsAudit.ApiKey(id.ToString("D")), AccountsAudit.ApiKey(keyId), async () =>
        {
            SecretAuthorizer.DemandAdmin(principal, projectId);
            if (!Guid.TryParse(keyId, out var id) || !await apiKeys.DeleteAsync(projectId, id, cancellationToken))
            {
                throw KeyroomException.NotFound("API key");
            }

            return id;
        });
        return TypedResults.NoContent();
    }
}

/// <summary>The body of createApiKey.</summary>
internal sealed record ApiKeyCreateRequest(
    [property: JsonPropertyName("name"), Required] string? Name = null,
    [property: JsonPropertyName("description")] string? Description = null,
    [property: JsonPropertyName("role")] string? Role = null);

/// <summary>An API key without its value.</summary>
internal sealed record ApiKeyInfoResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt)
{
    public static ApiKeyInfoResponse From(ApiKeyRecord record) =>
        new(record.Id.ToString("D"), record.Name, record.Description, record.Role.ToWire(), record.CreatedAt);
}

/// <summary>The project's API keys (<c>tokens</c>, as MeshAgent names the list).</summary>
internal sealed record ApiKeyListResponse(
    [property: JsonPropertyName("tokens")] IReadOnlyList<ApiKeyInfoResponse> Tokens);

/// <summary>A new API key with its value, shown once.</summary>
internal sealed record ApiKeyCreatedResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("value")] string Value,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt)
{
    public static ApiKeyCreatedResponse From(ApiKeyRecord record, string value) =>
        new(record.Id.ToString("D"), record.Name, record.Description, record.Role.ToWire(), value, record.CreatedAt);

    // Records print every member; never the key.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("Id = ").Append(Id).Append(", Name = ").Append(Name).Append(", Role = ").Append(Role).Append(", Value = ***");
        return true;
    }
}
