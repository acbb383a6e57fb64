using System.Text.Json.Serialization;

namespace Keyroom.Client.Serialization;

/// <summary>
/// Every type the SDK reads or writes, serialized snake_case through source generation (no reflection),
/// so the SDK works trimmed and ahead-of-time compiled. Null members are omitted, as the official
/// clients omit optional fields rather than sending null.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CreateSecretRequest))]
[JsonSerializable(typeof(UpdateSecretRequest))]
[JsonSerializable(typeof(SecretVersionRef))]
[JsonSerializable(typeof(ManagedSecret))]
[JsonSerializable(typeof(SecretList))]
[JsonSerializable(typeof(SecretVersionList))]
[JsonSerializable(typeof(DockerCredentials))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(CreateRoomSecretRequest))]
[JsonSerializable(typeof(UpdateRoomSecretRequest))]
[JsonSerializable(typeof(CreateRoomRequest))]
[JsonSerializable(typeof(UpdateRoomRequest))]
[JsonSerializable(typeof(Room))]
[JsonSerializable(typeof(RoomList))]
[JsonSerializable(typeof(RoomConnection))]
[JsonSerializable(typeof(CreateApiKeyRequest))]
[JsonSerializable(typeof(CreatedApiKey))]
[JsonSerializable(typeof(ApiKeyList))]
[JsonSerializable(typeof(RoleResponse))]
[JsonSerializable(typeof(NameRequest))]
[JsonSerializable(typeof(EmptyRequest))]
[JsonSerializable(typeof(IdResponse))]
[JsonSerializable(typeof(CreatedProject))]
[JsonSerializable(typeof(ProjectList))]
[JsonSerializable(typeof(MasterKeyStatus))]
[JsonSerializable(typeof(MasterKeyRotation))]
[JsonSerializable(typeof(AuditVerification))]
[JsonSerializable(typeof(AuditEntryList))]
[JsonSerializable(typeof(ProblemBody))]
internal sealed partial class KeyroomJsonContext : JsonSerializerContext;
