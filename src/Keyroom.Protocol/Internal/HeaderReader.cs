using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Keyroom.Protocol.Internal;

/// <summary>
/// Decodes the two headers on every request's path (a tool call and a content) in one forward pass of a
/// <see cref="Utf8JsonReader"/> instead of a JSON DOM: known keys are read as they come, unknown keys are
/// skipped, and only the JSON objects a caller keeps (<c>json</c>, <c>headers</c>, <c>caller_context</c>) become
/// <see cref="JsonObject"/>s, built in the same pass (strictly: no duplicate keys). Errors are the same
/// <see cref="ProtocolException"/>s as <see cref="PackedMessage.Decode"/> followed by the DOM-based parsers,
/// except that duplicate keys inside skipped unknown values are not looked for.
/// </summary>
internal static class HeaderReader
{
    private const string InvokeContext = "room.invoke_tool";

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = PackedMessage.MaxHeaderDepth };

    /// <summary>Decodes a packed <c>room.invoke_tool</c> payload.</summary>
    public static InvokeToolRequest DecodeInvoke(ReadOnlyMemory<byte> data)
    {
        var (headerMemory, payload) = PackedMessage.Split(data);
        var header = headerMemory.Span;
        var reader = Open(header);
        string? toolkit = null, tool = null, participantId = null, onBehalfOfId = null, toolCallId = null;
        JsonObject? callerContext = null;
        Content? arguments = null;
        var seen = 0;
        try
        {
            while (NextProperty(ref reader))
            {
                if (reader.ValueTextEquals("toolkit"u8))
                {
                    Once(ref seen, 1, "toolkit");
                    toolkit = RequiredString(ref reader, "toolkit");
                }
                else if (reader.ValueTextEquals("tool"u8))
                {
                    Once(ref seen, 2, "tool");
                    tool = RequiredString(ref reader, "tool");
                }
                else if (reader.ValueTextEquals("arguments"u8))
                {
                    Once(ref seen, 4, "arguments");
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        reader.Skip();
                        throw new ProtocolException($"{InvokeContext}: 'arguments' must be a JSON object.");
                    }

                    arguments = ReadContentFields(ref reader, payload);
                }
                else if (reader.ValueTextEquals("participant_id"u8))
                {
                    Once(ref seen, 8, "participant_id");
                    participantId = OptionalString(ref reader, "participant_id");
                }
                else if (reader.ValueTextEquals("on_behalf_of_id"u8))
                {
                    Once(ref seen, 16, "on_behalf_of_id");
                    onBehalfOfId = OptionalString(ref reader, "on_behalf_of_id");
                }
                else if (reader.ValueTextEquals("tool_call_id"u8))
                {
                    Once(ref seen, 32, "tool_call_id");
                    toolCallId = OptionalString(ref reader, "tool_call_id");
                }
                else if (reader.ValueTextEquals("caller_context"u8))
                {
                    Once(ref seen, 64, "caller_context");
                    reader.Read();
                    callerContext = reader.TokenType switch
                    {
                        JsonTokenType.Null => null,
                        JsonTokenType.StartObject => ParseObject(ref reader),
                        _ => throw new ProtocolException($"{InvokeContext}: 'caller_context' must be a JSON object or null."),
                    };
                }
                else
                {
                    SkipUnknownProperty(ref reader);
                }
            }

            Close(ref reader);
        }
        catch (JsonException ex)
        {
            throw Malformed(ex);
        }
        catch (InvalidOperationException ex)
        {
            throw InvalidString(ex);
        }

        return new InvokeToolRequest(
            RequireNonEmpty(toolkit, "toolkit"),
            RequireNonEmpty(tool, "tool"),
            arguments ?? throw new ProtocolException($"{InvokeContext}: 'arguments' must be a JSON object."))
        {
            ParticipantId = participantId,
            OnBehalfOfId = onBehalfOfId,
            CallerContext = callerContext,
            ToolCallId = toolCallId,
        };

        string RequiredString(ref Utf8JsonReader reader, string name)
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
            {
                reader.Skip();
                throw new ProtocolException($"{InvokeContext}: '{name}' must be a string.");
            }

            return reader.GetString()!;
        }

        string? OptionalString(ref Utf8JsonReader reader, string name)
        {
            reader.Read();
            switch (reader.TokenType)
            {
                case JsonTokenType.Null:
                    return null;
                case JsonTokenType.String:
                    return reader.GetString();
                default:
                    throw new ProtocolException($"{InvokeContext}: '{name}' must be a string or null.");
            }
        }

        static string RequireNonEmpty(string? value, string name) => value switch
        {
            null => throw new ProtocolException($"{InvokeContext}: '{name}' must be a string."),
            "" => throw new ProtocolException($"{InvokeContext}: '{name}' must not be empty."),
            _ => value,
        };
    }

    /// <summary>Decodes a packed content (a reply, or any content envelope).</summary>
    public static Content DecodeContent(ReadOnlyMemory<byte> data)
    {
        var (headerMemory, payload) = PackedMessage.Split(data);
        var header = headerMemory.Span;
        var reader = Open(header);
        Content content;
        try
        {
            content = ReadContentFields(ref reader, payload);
            Close(ref reader);
        }
        catch (JsonException ex)
        {
            throw Malformed(ex);
        }
        catch (InvalidOperationException ex)
        {
            throw InvalidString(ex);
        }

        return content;
    }

    /// <summary>Reads content header fields up to the end of the current object (the reader is on its start).</summary>
    private static Content ReadContentFields(ref Utf8JsonReader reader, ReadOnlyMemory<byte> data)
    {
        Field type = default, name = default, mimeType = default, text = default, url = default, method = default, message = default;
        JsonObject? json = null, headers = null;
        int? code = null, statusCode = null;
        var seen = 0;
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("type"u8))
            {
                Once(ref seen, 1, "type");
                type = ReadField(ref reader);
            }
            else if (reader.ValueTextEquals("json"u8))
            {
                Once(ref seen, 2, "json");
                reader.Read();
                json = reader.TokenType == JsonTokenType.StartObject ? ParseObject(ref reader) : SkipValue(ref reader);
            }
            else if (reader.ValueTextEquals("headers"u8))
            {
                Once(ref seen, 4, "headers");
                reader.Read();
                headers = reader.TokenType == JsonTokenType.StartObject ? ParseObject(ref reader) : SkipValue(ref reader);
            }
            else if (reader.ValueTextEquals("name"u8))
            {
                Once(ref seen, 8, "name");
                name = ReadField(ref reader);
            }
            else if (reader.ValueTextEquals("mime_type"u8))
            {
                Once(ref seen, 16, "mime_type");
                mimeType = ReadField(ref reader);
            }
            else if (reader.ValueTextEquals("text"u8))
            {
                Once(ref seen, 32, "text");
                text = ReadField(ref reader);
            }
            else if (reader.ValueTextEquals("url"u8))
            {
                Once(ref seen, 64, "url");
                url = ReadField(ref reader);
            }
            else if (reader.ValueTextEquals("code"u8))
            {
                Once(ref seen, 128, "code");
                code = ReadLenientInteger(ref reader);
            }
            else if (reader.ValueTextEquals("status_code"u8))
            {
                Once(ref seen, 256, "status_code");
                statusCode = ReadLenientInteger(ref reader);
            }
            else if (reader.ValueTextEquals("method"u8))
            {
                Once(ref seen, 512, "method");
                method = ReadField(ref reader);
            }
            else if (reader.ValueTextEquals("message"u8))
            {
                Once(ref seen, 1024, "message");
                message = ReadField(ref reader);
            }
            else
            {
                SkipUnknownProperty(ref reader);
            }
        }

        return Content.FromFields(
            new ContentFields(type.Value, json, headers, name.Value, mimeType.Value, text.Value, url.Value, code, method.Value, statusCode, message.Value),
            data);
    }

    /// <summary>A reader on the header's opening brace.</summary>
    private static Utf8JsonReader Open(ReadOnlySpan<byte> header)
    {
        if (header.IsEmpty)
        {
            throw new ProtocolException("Packed message header is empty; it must be a JSON object.");
        }

        var reader = new Utf8JsonReader(header, ReaderOptions);
        try
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                return reader;
            }

            var kind = reader.TokenType switch
            {
                JsonTokenType.Null => "null",
                JsonTokenType.StartArray => nameof(JsonValueKind.Array),
                JsonTokenType.String => nameof(JsonValueKind.String),
                JsonTokenType.Number => nameof(JsonValueKind.Number),
                JsonTokenType.True => nameof(JsonValueKind.True),
                _ => nameof(JsonValueKind.False),
            };

            // The rest must still be valid JSON, as with the DOM parser, so a malformed header is reported as such.
            reader.Skip();
            while (reader.Read())
            {
            }

            throw new ProtocolException($"Packed message header must be a JSON object, not {kind}.");
        }
        catch (JsonException ex)
        {
            throw Malformed(ex);
        }
        catch (InvalidOperationException ex)
        {
            throw InvalidString(ex);
        }
    }

    /// <summary>Moves to the next property name of the current object; false at its end.</summary>
    private static bool NextProperty(ref Utf8JsonReader reader)
    {
        reader.Read();
        return reader.TokenType == JsonTokenType.PropertyName;
    }

    /// <summary>After the header's closing brace: nothing but whitespace may follow.</summary>
    private static void Close(ref Utf8JsonReader reader)
    {
        if (reader.Read())
        {
            throw new JsonException("trailing content after the header object", null, null, reader.TokenStartIndex);
        }
    }

    private static void Once(ref int seen, int bit, string name)
    {
        if ((seen & bit) != 0)
        {
            throw new ProtocolException($"Packed message header has a duplicate '{name}' key.");
        }

        seen |= bit;
    }

    /// <summary>
    /// Builds the object the reader is on as it reads it, leaving the reader on its end: no second parse of its
    /// bytes into a <see cref="JsonDocument"/> and no dictionary built later on first access. Strings are checked
    /// by <see cref="Utf8JsonReader.GetString"/>; a key repeated in any nested object is a
    /// <see cref="ProtocolException"/>, as with the strict DOM parser; numbers keep their exact text.
    /// </summary>
    private static JsonObject ParseObject(ref Utf8JsonReader reader) => (JsonObject)ReadNode(ref reader)!;

    private static JsonNode? ReadNode(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                var obj = new JsonObject();
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = reader.GetString()!;
                    reader.Read();
                    if (!obj.TryAdd(name, ReadNode(ref reader)))
                    {
                        throw new ProtocolException("Packed message header has a JSON object with a duplicate key.");
                    }
                }

                return obj;
            case JsonTokenType.StartArray:
                var array = new JsonArray();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    array.Add(ReadNode(ref reader));
                }

                return array;
            case JsonTokenType.String:
                return JsonValue.Create(reader.GetString()!);
            case JsonTokenType.Number:
                return JsonValue.Create(JsonElement.Parse(reader.ValueSpan));
            case JsonTokenType.True:
                return JsonValue.Create(true);
            case JsonTokenType.False:
                return JsonValue.Create(false);
            default:
                return null;
        }
    }

    private static JsonObject? SkipValue(ref Utf8JsonReader reader)
    {
        SkipValidated(ref reader);
        return null;
    }

    /// <summary>The reader is on an unknown property's name: checks the name and skips its value.</summary>
    private static void SkipUnknownProperty(ref Utf8JsonReader reader)
    {
        PackedMessage.ValidateString(ref reader);
        reader.Read();
        SkipValidated(ref reader);
    }

    /// <summary>
    /// Like <see cref="Utf8JsonReader.Skip"/> (the reader is on a value's first token and ends on its last), but
    /// every string and property name on the way is checked as <see cref="PackedMessage.ValidateStrings"/> checks
    /// them. Strings the decoder reads itself are checked by <see cref="Utf8JsonReader.GetString"/>, so with this
    /// the whole header is validated in the one pass instead of a second walk over it.
    /// </summary>
    private static void SkipValidated(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            PackedMessage.ValidateString(ref reader);
            return;
        }

        var depth = reader.CurrentDepth;
        while (reader.Read())
        {
            if (reader.CurrentDepth == depth && reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray)
            {
                return;
            }

            PackedMessage.ValidateString(ref reader);
        }
    }

    private static Field ReadField(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.String)
        {
            return new Field(reader.GetString());
        }

        SkipValidated(ref reader);
        return new Field(null);
    }

    /// <summary><see cref="HeaderFields.LenientInteger"/> on a token: an integral number, or a string holding a decimal integer.</summary>
    private static int? ReadLenientInteger(ref Utf8JsonReader reader)
    {
        reader.Read();
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                return HeaderFields.LenientNumber(Encoding.UTF8.GetString(reader.ValueSpan));
            case JsonTokenType.String:
                return HeaderFields.LenientIntegerText(reader.GetString()!);
            default:
                SkipValidated(ref reader);
                return null;
        }
    }

    private static ProtocolException Malformed(JsonException ex) =>
        // The reader's own message can quote header text, so only the position is reported.
        new($"Packed message header is not a valid JSON object (line {ex.LineNumber ?? 0}, byte {ex.BytePositionInLine ?? 0}).", ex);

    private static ProtocolException InvalidString(InvalidOperationException ex) =>
        new("Packed message header contains a string that is not valid UTF-8 or UTF-16.", ex);

    /// <summary>A header string field: its value when present as a string, else null.</summary>
    private readonly record struct Field(string? Value);
}
