using System.Text.Json;
using System.Text.Json.Nodes;
using Keyroom.Core;
using Keyroom.Protocol;

using JsonContent = Keyroom.Protocol.JsonContent;

namespace Keyroom.Server.Rooms.Toolkits;

/// <summary>
/// Reads tool inputs strictly: the content type must be the one the tool takes, known keys must have the right
/// JSON kind (absent and null are the same), unknown keys are ignored. Every violation is an InvalidRequest
/// (error 1002) naming the key, never quoting a value.
/// </summary>
internal static class ToolInput
{
    /// <summary>The JSON object of a tool that takes <c>json</c> input.</summary>
    public static JsonObject Json(RoomToolCall call) =>
        call.Arguments is JsonContent json
            ? json.Json
            : throw KeyroomException.Invalid($"{call.Request.Toolkit}.{call.Tool} takes json input, not {call.Arguments.Type}");

    /// <summary>The binary input of a tool that takes <c>binary</c> input (headers plus bytes).</summary>
    public static BinaryContent Binary(RoomToolCall call) =>
        call.Arguments is BinaryContent binary
            ? binary
            : throw KeyroomException.Invalid($"{call.Request.Toolkit}.{call.Tool} takes binary input, not {call.Arguments.Type}");

    public static string? OptionalString(JsonObject input, string key) =>
        input[key] switch
        {
            null => null,
            JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
            _ => throw KeyroomException.Invalid($"'{key}' must be a string or null"),
        };

    /// <summary>A string that is present and not empty.</summary>
    public static string RequiredString(JsonObject input, string key) =>
        OptionalString(input, key) is { Length: > 0 } value ? value : throw KeyroomException.Invalid($"'{key}' is required");

    public static bool? OptionalBool(JsonObject input, string key) =>
        input[key] switch
        {
            null => null,
            JsonValue value when value.GetValueKind() is JsonValueKind.True or JsonValueKind.False => value.GetValue<bool>(),
            _ => throw KeyroomException.Invalid($"'{key}' must be a boolean or null"),
        };

    public static double? OptionalNumber(JsonObject input, string key) =>
        input[key] switch
        {
            null => null,
            JsonValue value when value.GetValueKind() == JsonValueKind.Number => value.GetValue<double>(),
            _ => throw KeyroomException.Invalid($"'{key}' must be a number or null"),
        };

    public static JsonObject? OptionalObject(JsonObject input, string key) =>
        input[key] switch
        {
            null => null,
            JsonObject value => value,
            _ => throw KeyroomException.Invalid($"'{key}' must be an object or null"),
        };

    public static JsonObject RequiredObject(JsonObject input, string key) =>
        OptionalObject(input, key) ?? throw KeyroomException.Invalid($"'{key}' is required");
}
