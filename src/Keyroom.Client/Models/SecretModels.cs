using System.Text;
using System.Text.Json.Serialization;

namespace Keyroom.Client;

/// <summary>The secret types that have meaning to the server.</summary>
public static class SecretTypes
{
    /// <summary>A flat map of environment variable names to string values (project runtime secrets).</summary>
    public const string Keys = "keys";

    /// <summary>Image pull credentials: server, username, password and email.</summary>
    public const string Docker = "docker";
}

/// <summary>A request to create a project secret.</summary>
public sealed record CreateSecretRequest
{
    /// <summary>The display name.</summary>
    public required string Name { get; init; }

    /// <summary>The type; see <see cref="SecretTypes"/>. Other values are stored as opaque bytes.</summary>
    public required string Type { get; init; }

    /// <summary>The value. Sent as standard base64 in <c>data_base64</c>.</summary>
    [JsonPropertyName("data_base64")]
    public required ReadOnlyMemory<byte> Data { get; init; }

    /// <summary>An id to give the secret; when null the server chooses one.</summary>
    public string? Id { get; init; }
}

/// <summary>A request to replace a project secret's value (a new version).</summary>
public sealed record UpdateSecretRequest
{
    /// <summary>The display name.</summary>
    public required string Name { get; init; }

    /// <summary>The type; see <see cref="SecretTypes"/>.</summary>
    public required string Type { get; init; }

    /// <summary>The new value. Sent as standard base64 in <c>data_base64</c>.</summary>
    [JsonPropertyName("data_base64")]
    public required ReadOnlyMemory<byte> Data { get; init; }
}

/// <summary>The id and version a create or update produced.</summary>
public sealed record SecretVersionRef
{
    /// <summary>The secret's id.</summary>
    public string Id { get; init; } = string.Empty;

    /// <summary>The version now current (1 after a create).</summary>
    public int Version { get; init; }
}

/// <summary>A secret without its value, as lists return it.</summary>
public sealed record ManagedSecretInfo
{
    /// <summary>The secret's id.</summary>
    public string Id { get; init; } = string.Empty;

    /// <summary>The type (<c>keys</c>, <c>docker</c> or free text).</summary>
    public string Type { get; init; } = string.Empty;

    /// <summary>The display name.</summary>
    public string Name { get; init; } = string.Empty;

    /// <summary>The identity the secret is delegated to, if any.</summary>
    public string? DelegatedTo { get; init; }

    /// <summary>The current version (0 when the server does not report versions).</summary>
    public int Version { get; init; }

    /// <summary>When the secret was created, if reported.</summary>
    public DateTimeOffset? CreatedAt { get; init; }

    /// <summary>When the secret last changed, if reported.</summary>
    public DateTimeOffset? UpdatedAt { get; init; }
}

/// <summary>A secret with its value.</summary>
public sealed record ManagedSecret
{
    /// <summary>The secret's id.</summary>
    public string Id { get; init; } = string.Empty;

    /// <summary>The type (<c>keys</c>, <c>docker</c> or free text).</summary>
    public string Type { get; init; } = string.Empty;

    /// <summary>The display name.</summary>
    public string Name { get; init; } = string.Empty;

    /// <summary>The identity the secret is delegated to, if any.</summary>
    public string? DelegatedTo { get; init; }

    /// <summary>The value (decoded from <c>data_base64</c>).</summary>
    [JsonPropertyName("data_base64")]
    public ReadOnlyMemory<byte> Data { get; init; }

    /// <summary>The version returned (0 when the server does not report versions).</summary>
    public int Version { get; init; }

    /// <summary>When the secret was created, if reported.</summary>
    public DateTimeOffset? CreatedAt { get; init; }

    /// <summary>When the secret last changed, if reported.</summary>
    public DateTimeOffset? UpdatedAt { get; init; }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Id = ").Append(Id).Append(", Type = ").Append(Type).Append(", Name = ").Append(Name)
            .Append(", Version = ").Append(Version).Append(", Data = [").Append(Data.Length).Append(" bytes]");
        return true;
    }
}

/// <summary>One stored version of a secret.</summary>
public sealed record SecretVersionInfo
{
    /// <summary>The version number.</summary>
    public int Version { get; init; }

    /// <summary>When this version was written.</summary>
    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>Image pull credentials, the value of a <c>docker</c> secret.</summary>
public sealed record DockerCredentials
{
    /// <summary>The registry host, for example <c>registry.example.com</c>.</summary>
    public required string Server { get; init; }

    /// <summary>The user name.</summary>
    public required string Username { get; init; }

    /// <summary>The password or token. <see cref="object.ToString"/> never shows it.</summary>
    public required string Password { get; init; }

    /// <summary>The e-mail address; the official clients send <c>none@example.com</c> when there is none.</summary>
    public string? Email { get; init; }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Server = ").Append(Server).Append(", Username = ").Append(Username)
            .Append(", Password = ***, Email = ").Append(Email);
        return true;
    }
}

/// <summary>A <c>keys</c> secret with its value decoded.</summary>
public sealed record KeysSecret
{
    /// <summary>The secret's id.</summary>
    public required string Id { get; init; }

    /// <summary>The display name.</summary>
    public required string Name { get; init; }

    /// <summary>The version returned.</summary>
    public int Version { get; init; }

    /// <summary>When the secret last changed, if reported.</summary>
    public DateTimeOffset? UpdatedAt { get; init; }

    /// <summary>The environment variable names and values, in stored order.</summary>
    public required IReadOnlyDictionary<string, string> Keys { get; init; }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Id = ").Append(Id).Append(", Name = ").Append(Name).Append(", Version = ").Append(Version)
            .Append(", Keys = [").Append(string.Join(", ", Keys.Keys)).Append(']');
        return true;
    }
}

/// <summary>A <c>docker</c> secret with its value decoded.</summary>
public sealed record DockerSecret
{
    /// <summary>The secret's id.</summary>
    public required string Id { get; init; }

    /// <summary>The display name.</summary>
    public required string Name { get; init; }

    /// <summary>The version returned.</summary>
    public int Version { get; init; }

    /// <summary>When the secret last changed, if reported.</summary>
    public DateTimeOffset? UpdatedAt { get; init; }

    /// <summary>The credentials.</summary>
    public required DockerCredentials Credentials { get; init; }
}

/// <summary>A request to create a room secret (spec §5.3). Null fields are omitted from the body.</summary>
public sealed record CreateRoomSecretRequest
{
    /// <summary>The value. Sent as standard base64 in <c>data_base64</c>.</summary>
    [JsonPropertyName("data_base64")]
    public required ReadOnlyMemory<byte> Data { get; init; }

    /// <summary>An id to give the secret; when null the server chooses one.</summary>
    public string? SecretId { get; init; }

    /// <summary>The display name.</summary>
    public string? Name { get; init; }

    /// <summary>The type.</summary>
    public string? Type { get; init; }

    /// <summary>The identity the secret is delegated to.</summary>
    public string? DelegatedTo { get; init; }

    /// <summary>The owner; only admins may name an identity other than their own.</summary>
    public string? ForIdentity { get; init; }
}

/// <summary>A request to replace a room secret's value. Null fields are omitted from the body.</summary>
public sealed record UpdateRoomSecretRequest
{
    /// <summary>The new value. Sent as standard base64 in <c>data_base64</c>.</summary>
    [JsonPropertyName("data_base64")]
    public required ReadOnlyMemory<byte> Data { get; init; }

    /// <summary>The display name.</summary>
    public string? Name { get; init; }

    /// <summary>The type.</summary>
    public string? Type { get; init; }

    /// <summary>The identity the secret is delegated to.</summary>
    public string? DelegatedTo { get; init; }

    /// <summary>The owner; only admins may name an identity other than their own.</summary>
    public string? ForIdentity { get; init; }
}
