using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Keyroom.Cli.Config;
using Keyroom.Client;

namespace Keyroom.Cli.Output;

/// <summary>Everything the CLI prints as JSON or stores in its config file, snake_case, source generated.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true)]
[JsonSerializable(typeof(ConfigFile))]
[JsonSerializable(typeof(SetupOutput))]
[JsonSerializable(typeof(SecretVersionRef))]
[JsonSerializable(typeof(SecretListOutput))]
[JsonSerializable(typeof(SecretVersionsOutput))]
[JsonSerializable(typeof(KeysSecretOutput))]
[JsonSerializable(typeof(DeletedOutput))]
[JsonSerializable(typeof(Room))]
[JsonSerializable(typeof(RoomListOutput))]
[JsonSerializable(typeof(RoomConnection))]
[JsonSerializable(typeof(RoomSecretListOutput))]
[JsonSerializable(typeof(RoomSecretExistsOutput))]
[JsonSerializable(typeof(RoomSecretSetOutput))]
[JsonSerializable(typeof(CreatedApiKey))]
[JsonSerializable(typeof(ApiKeyListOutput))]
[JsonSerializable(typeof(CreatedProject))]
[JsonSerializable(typeof(ProjectListOutput))]
[JsonSerializable(typeof(MasterKeyStatus))]
[JsonSerializable(typeof(MasterKeyRotation))]
[JsonSerializable(typeof(AuditVerification))]
[JsonSerializable(typeof(AuditListOutput))]
internal sealed partial class CliJsonContext : JsonSerializerContext
{
    /// <summary>For printing: quotes and non-ASCII text are not \u-escaped (this is for people and jq, not HTML).</summary>
    public static CliJsonContext Output { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
