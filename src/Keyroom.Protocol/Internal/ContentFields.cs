using System.Text.Json.Nodes;

namespace Keyroom.Protocol.Internal;

/// <summary>
/// The fields of a content header as read, before <see cref="Content.FromFields"/> checks them: strings are null
/// when absent or not a string, objects null when absent or not an object, integers read leniently.
/// </summary>
internal readonly record struct ContentFields(
    string? Type,
    JsonObject? Json,
    JsonObject? Headers,
    string? Name,
    string? MimeType,
    string? Text,
    string? Url,
    int? Code,
    string? Method,
    int? StatusCode,
    string? Message);
