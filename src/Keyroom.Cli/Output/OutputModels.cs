using Keyroom.Client;
using Keyroom.Client.Rooms;

namespace Keyroom.Cli.Output;

// The JSON shapes the CLI prints with --json (snake_case). Lists are wrapped as the REST API wraps them.

internal sealed record SetupOutput(string ConfigPath, string Url, string ProjectId, string Role);

internal sealed record SecretListOutput(IReadOnlyList<ManagedSecretInfo> Secrets);

internal sealed record SecretVersionsOutput(string Id, IReadOnlyList<SecretVersionInfo> Versions);

internal sealed record KeysSecretOutput(
    string Id,
    string Name,
    string Type,
    int Version,
    DateTimeOffset? CreatedAt,
    DateTimeOffset? UpdatedAt,
    IReadOnlyDictionary<string, string> Data);

internal sealed record DeletedOutput(string Id, bool Deleted);

internal sealed record RoomListOutput(IReadOnlyList<Room> Rooms);

internal sealed record ApiKeyListOutput(IReadOnlyList<ApiKeyInfo> Tokens);

internal sealed record ProjectListOutput(IReadOnlyList<ProjectInfo> Projects);

internal sealed record AuditListOutput(IReadOnlyList<AuditEntry> Entries);

internal sealed record RoomSecretListOutput(IReadOnlyList<RoomSecretInfo> Secrets);

internal sealed record RoomSecretExistsOutput(bool Exists);

internal sealed record RoomSecretSetOutput(string? Id, bool Stored);
