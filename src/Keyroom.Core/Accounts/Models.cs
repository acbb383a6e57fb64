using System.Text.Json.Nodes;
using Keyroom.Core.Auth;

namespace Keyroom.Core.Accounts;

/// <summary>A project: the unit that owns keys, secrets and rooms.</summary>
/// <param name="Id">A UUID string.</param>
/// <param name="Name">The display name.</param>
/// <param name="CreatedAt">When it was created.</param>
public sealed record Project(string Id, string Name, DateTimeOffset CreatedAt);

/// <summary>An API key as stored: its secret part only as ciphertext.</summary>
/// <param name="Id">The key id.</param>
/// <param name="ProjectId">The project.</param>
/// <param name="Name">The name; also the identity its room tokens carry.</param>
/// <param name="Description">Free text.</param>
/// <param name="Role">The project role it acts with.</param>
/// <param name="SealedSecret">The secret part, sealed with <see cref="Crypto.AssociatedData.ForApiKey"/>.</param>
/// <param name="CreatedAt">When it was created.</param>
public sealed record ApiKeyRecord(Guid Id, string ProjectId, string Name, string Description, ProjectRole Role, byte[] SealedSecret, DateTimeOffset CreatedAt);

/// <summary>A room.</summary>
/// <param name="Id">A UUID string.</param>
/// <param name="ProjectId">The project.</param>
/// <param name="Name">The name (unique in the project; the WebSocket path segment).</param>
/// <param name="Metadata">Free JSON.</param>
/// <param name="Annotations">String map.</param>
/// <param name="Permissions">Optional per-user ApiScope JSON.</param>
/// <param name="CreatedAt">When it was created.</param>
public sealed record Room(string Id, string ProjectId, string Name, JsonObject Metadata, JsonObject Annotations, JsonObject? Permissions, DateTimeOffset CreatedAt);
