namespace Keyroom.Client.Serialization;

// Envelopes and small bodies that only exist on the wire; the public API returns their contents.

internal sealed record SecretList(IReadOnlyList<ManagedSecretInfo>? Secrets);

internal sealed record SecretVersionList(IReadOnlyList<SecretVersionInfo>? Versions);

internal sealed record RoomList(IReadOnlyList<Room>? Rooms);

internal sealed record ApiKeyList(IReadOnlyList<ApiKeyInfo>? Tokens);

internal sealed record ProjectList(IReadOnlyList<ProjectInfo>? Projects);

internal sealed record AuditEntryList(IReadOnlyList<AuditEntry>? Entries);

internal sealed record IdResponse(string? Id);

internal sealed record RoleResponse(string? Role);

internal sealed record NameRequest(string Name);

internal sealed record EmptyRequest;

/// <summary>The fields of an RFC 9457 problem document that the client reads.</summary>
internal sealed record ProblemBody(string? Title, int? Status, string? Detail, string? Code);
