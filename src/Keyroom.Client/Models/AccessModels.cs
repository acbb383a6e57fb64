using System.Text;

namespace Keyroom.Client;

/// <summary>The project roles on the wire. Higher roles include the rights of lower ones.</summary>
public static class ProjectRoles
{
    /// <summary>Everything, including API keys, rooms, audit and key rotation.</summary>
    public const string Admin = "admin";

    /// <summary>Project secrets, room secrets and services.</summary>
    public const string Developer = "developer";

    /// <summary>List and join rooms.</summary>
    public const string Member = "member";
}

/// <summary>A request to create an API key.</summary>
public sealed record CreateApiKeyRequest
{
    /// <summary>The key's name; also the identity its room tokens carry.</summary>
    public required string Name { get; init; }

    /// <summary>Free text.</summary>
    public string Description { get; init; } = string.Empty;

    /// <summary>The role (see <see cref="ProjectRoles"/>); the server defaults to <c>developer</c>.</summary>
    public string? Role { get; init; }
}

/// <summary>An API key without its secret, as lists return it.</summary>
public sealed record ApiKeyInfo
{
    /// <summary>The key's id.</summary>
    public string Id { get; init; } = string.Empty;

    /// <summary>The key's name.</summary>
    public string Name { get; init; } = string.Empty;

    /// <summary>Free text.</summary>
    public string? Description { get; init; }

    /// <summary>The role it acts with.</summary>
    public string? Role { get; init; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset? CreatedAt { get; init; }
}

/// <summary>A newly created API key, with its value (shown once).</summary>
public sealed record CreatedApiKey
{
    /// <summary>The key's id.</summary>
    public string Id { get; init; } = string.Empty;

    /// <summary>The key's name.</summary>
    public string Name { get; init; } = string.Empty;

    /// <summary>Free text.</summary>
    public string? Description { get; init; }

    /// <summary>The role it acts with.</summary>
    public string? Role { get; init; }

    /// <summary>The <c>ma-…</c> key. The server shows it once; <see cref="object.ToString"/> never shows it.</summary>
    public string Value { get; init; } = string.Empty;

    /// <summary>When it was created.</summary>
    public DateTimeOffset? CreatedAt { get; init; }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Id = ").Append(Id).Append(", Name = ").Append(Name).Append(", Role = ").Append(Role).Append(", Value = ***");
        return true;
    }
}
