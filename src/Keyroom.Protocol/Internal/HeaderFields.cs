using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Keyroom.Protocol.Internal;

/// <summary>Typed reads of JSON header fields that report problems as <see cref="ProtocolException"/>.</summary>
internal static class HeaderFields
{
    private const int MaxQuotedLength = 64;

    public static string RequireString(JsonObject header, string name, string context)
    {
        var node = header[name];
        if (node is null || node.GetValueKind() != JsonValueKind.String)
        {
            throw new ProtocolException($"{context}: '{name}' must be a string.");
        }

        return node.GetValue<string>();
    }

    public static string RequireNonEmptyString(JsonObject header, string name, string context)
    {
        var value = RequireString(header, name, context);
        if (value.Length == 0)
        {
            throw new ProtocolException($"{context}: '{name}' must not be empty.");
        }

        return value;
    }

    /// <summary>A string, or null when the field is absent or JSON null; any other kind is an error.</summary>
    public static string? OptionalString(JsonObject header, string name, string context)
    {
        var node = header[name];
        if (node is null)
        {
            return null;
        }

        if (node.GetValueKind() != JsonValueKind.String)
        {
            throw new ProtocolException($"{context}: '{name}' must be a string or null.");
        }

        return node.GetValue<string>();
    }

    public static JsonObject RequireObject(JsonObject header, string name, string context) =>
        header[name] as JsonObject ?? throw new ProtocolException($"{context}: '{name}' must be a JSON object.");

    /// <summary>An object, or null when the field is absent or JSON null; any other kind is an error.</summary>
    public static JsonObject? OptionalObject(JsonObject header, string name, string context)
    {
        var node = header[name];
        return node switch
        {
            null => null,
            JsonObject obj => obj,
            _ => throw new ProtocolException($"{context}: '{name}' must be a JSON object or null."),
        };
    }

    /// <summary>
    /// Reads an integer the way the official client does: a JSON number with an integral value, or a string
    /// holding a decimal integer. Anything else (absent, null, fractional, out of range, other kinds) is null.
    /// </summary>
    public static int? LenientInteger(JsonNode? node)
    {
        if (node is null)
        {
            return null;
        }

        return node.GetValueKind() switch
        {
            JsonValueKind.Number => LenientNumber(node.ToJsonString()),
            JsonValueKind.String => LenientIntegerText(node.GetValue<string>()),
            _ => null,
        };
    }

    /// <summary>A JSON number's text as an integer when its value is integral and fits; null otherwise.</summary>
    public static int? LenientNumber(string raw)
    {
        if (int.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var exact))
        {
            return exact;
        }

        return double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
            && double.IsFinite(number) && Math.Floor(number) == number
            && number is >= int.MinValue and <= int.MaxValue
                ? (int)number
                : null;
    }

    /// <summary>A JSON string holding a decimal integer (surrounding spaces allowed); null otherwise.</summary>
    public static int? LenientIntegerText(string text) =>
        int.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;

    /// <summary>Shortens a peer-supplied value for an error message.</summary>
    public static string Quote(string value) =>
        value.Length <= MaxQuotedLength ? value : string.Concat(value.AsSpan(0, MaxQuotedLength), "…");
}
