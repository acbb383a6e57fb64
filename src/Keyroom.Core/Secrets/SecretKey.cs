namespace Keyroom.Core.Secrets;

/// <summary>
/// The full identity of a secret. Project secrets live in scope <see cref="ProjectScope"/> with empty owner
/// and delegation; room secrets live in <c>room:&lt;name&gt;</c>, owned by an identity and optionally
/// delegated to another. The associated data of every ciphertext is built from these fields.
/// </summary>
/// <param name="ProjectId">The project.</param>
/// <param name="Scope">"project" or "room:&lt;room name&gt;".</param>
/// <param name="Owner">The owning identity ("" for project secrets).</param>
/// <param name="DelegatedTo">The identity it is delegated to ("" when none).</param>
/// <param name="Id">The secret id.</param>
public readonly record struct SecretKey(string ProjectId, string Scope, string Owner, string DelegatedTo, string Id)
{
    /// <summary>The scope of project (managed) secrets.</summary>
    public const string ProjectScope = "project";

    /// <summary>The scope of a room's secrets.</summary>
    public static string RoomScope(string room) => "room:" + room;

    /// <summary>A project secret's key.</summary>
    public static SecretKey Project(string projectId, string id) => new(projectId, ProjectScope, string.Empty, string.Empty, id);
}

/// <summary>What a secret is, without its value.</summary>
/// <param name="Key">Its identity.</param>
/// <param name="Name">Its display name.</param>
/// <param name="Type">Its type: "keys", "docker", a MIME type, or free text.</param>
/// <param name="Version">The current version (1 on create).</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="UpdatedAt">When the current version was written.</param>
public sealed record SecretInfo(SecretKey Key, string Name, string Type, int Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>One stored version of a secret.</summary>
/// <param name="Version">The version number (1-based, increasing).</param>
/// <param name="CreatedAt">When it was written.</param>
public sealed record SecretVersionInfo(int Version, DateTimeOffset CreatedAt);

/// <summary>A secret's metadata and one version's ciphertext, as the store holds them.</summary>
/// <param name="Info">The metadata.</param>
/// <param name="Version">Which version the blob is.</param>
/// <param name="Blob">The sealed value.</param>
public sealed record SealedSecret(SecretInfo Info, int Version, byte[] Blob);

/// <summary>How a write treats an existing secret.</summary>
public enum WriteMode
{
    /// <summary>Fail with AlreadyExists when it exists.</summary>
    Create,
    /// <summary>Fail with NotFound when it does not exist.</summary>
    Update,
    /// <summary>Create or update.</summary>
    Upsert,
}

/// <summary>A filter for listing secrets in one scope.</summary>
/// <param name="ProjectId">The project.</param>
/// <param name="Scope">The scope.</param>
/// <param name="Owner">Only this owner; null = any.</param>
/// <param name="DelegatedTo">Only this delegation ("" = not delegated); null = any.</param>
public sealed record SecretQuery(string ProjectId, string Scope, string? Owner = null, string? DelegatedTo = null);
