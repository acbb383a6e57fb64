using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keyroom.Protocol.Internal;

namespace Keyroom.Protocol;

/// <summary>
/// A content value (spec 3.3): the payload of a <c>__response__</c>, the <c>arguments</c> of a
/// <c>room.invoke_tool</c> request, or a streamed chunk. On the wire it is a <see cref="PackedMessage"/> whose
/// header has a <c>type</c> field and whose payload carries the bytes of <see cref="BinaryContent"/> and
/// <see cref="FileContent"/>.
/// </summary>
/// <remarks>
/// The set of content types is closed: only the types below exist, because the official client hangs a
/// request forever when a reply has any other type. Content values compare by value (JSON structurally, bytes
/// by sequence). <see cref="object.ToString"/> never includes JSON values, text bodies or bytes, so a content
/// can be logged without leaking a secret.
/// </remarks>
public abstract record Content
{
    private protected Content()
    {
    }

    /// <summary>The wire <c>type</c> name, for example <c>"json"</c>.</summary>
    public abstract string Type { get; }

    /// <summary>The bytes carried after the header; empty for types without bytes.</summary>
    public virtual ReadOnlyMemory<byte> Data => ReadOnlyMemory<byte>.Empty;

    /// <summary>Writes this content's header object (including <c>type</c>) to <paramref name="writer"/>.</summary>
    public void WriteHeader(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("type", Type);
        WriteHeaderFields(writer);
        writer.WriteEndObject();
    }

    /// <summary>Returns a new, detached JSON object holding this content's header.</summary>
    public JsonObject ToHeader()
    {
        var utf8 = Envelope.SerializeHeader(this, static (writer, content) => content.WriteHeader(writer));
        return (JsonObject)JsonNode.Parse(utf8)!;
    }

    /// <summary>Returns this content as an envelope (a new header object and <see cref="Data"/>, not copied).</summary>
    public PackedMessage ToPacked() => new(ToHeader(), Data);

    /// <summary>Writes this content's packed envelope to <paramref name="destination"/>.</summary>
    public void WriteTo(IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        Envelope.Write(destination, this, static (writer, content) => content.WriteHeader(writer), Data.Span);
    }

    /// <summary>Returns this content's packed envelope as a new array.</summary>
    public byte[] Encode() => Envelope.Encode(this, static (writer, content) => content.WriteHeader(writer), Data.Span);

    /// <summary>Decodes a packed content envelope. Byte data is a slice of <paramref name="data"/>, not a copy.</summary>
    /// <exception cref="ProtocolException">The envelope is malformed or is not a known content.</exception>
    public static Content Decode(ReadOnlyMemory<byte> data) => HeaderReader.DecodeContent(data);

    /// <summary>Reads the content held by an envelope.</summary>
    /// <exception cref="ProtocolException">The header is not a known, well-formed content header.</exception>
    public static Content Parse(PackedMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return Parse(message.Header, message.Payload);
    }

    /// <summary>
    /// Reads a content from its header object and bytes (for example the <c>arguments</c> of a tool call and
    /// the request envelope's payload). JSON values taken from <paramref name="header"/> are deep-copied, so the
    /// result does not share nodes with it. <paramref name="data"/> is kept for binary and file content and
    /// ignored for the other types, as the official client does.
    /// </summary>
    /// <remarks>
    /// Decoding follows the official client's tolerance where the spec describes it: a non-object
    /// <c>binary.headers</c> becomes <c>{}</c>; <c>error.code</c> and <c>control.status_code</c> accept an integer
    /// or a numeric string and are treated as absent otherwise; a non-string <c>control.message</c> is ignored.
    /// Every other required field must be present with the right JSON kind.
    /// </remarks>
    /// <exception cref="ProtocolException">The header is not a known, well-formed content header.</exception>
    public static Content Parse(JsonObject header, ReadOnlyMemory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(header);
        return FromFields(
            new ContentFields(
                StringOrNull(header["type"]),
                (JsonObject?)(header["json"] as JsonObject)?.DeepClone(),
                (JsonObject?)(header["headers"] as JsonObject)?.DeepClone(),
                StringOrNull(header["name"]),
                StringOrNull(header["mime_type"]),
                StringOrNull(header["text"]),
                StringOrNull(header["url"]),
                HeaderFields.LenientInteger(header["code"]),
                StringOrNull(header["method"]),
                HeaderFields.LenientInteger(header["status_code"]),
                StringOrNull(header["message"])),
            data);

        static string? StringOrNull(JsonNode? node) =>
            node is not null && node.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : null;
    }

    /// <summary>
    /// Builds a content from its header fields, however they were read (<see cref="Parse(JsonObject, ReadOnlyMemory{byte})"/>
    /// or the streaming decoder): the one place that knows which fields each type needs and how a missing one is
    /// reported.
    /// </summary>
    internal static Content FromFields(in ContentFields fields, ReadOnlyMemory<byte> data)
    {
        if (fields.Type is not { } type)
        {
            throw new ProtocolException("Content header: 'type' must be a string.");
        }

        return type switch
        {
            JsonContent.TypeName => new JsonContent(fields.Json ?? throw new ProtocolException("json content: 'json' must be a JSON object.")),
            BinaryContent.TypeName => new BinaryContent(data, fields.Headers ?? []),
            FileContent.TypeName => new FileContent(data, Require(fields.Name, "name", "file content"), Require(fields.MimeType, "mime_type", "file content")),
            TextContent.TypeName => new TextContent(Require(fields.Text, "text", "text content")),
            LinkContent.TypeName => new LinkContent(Require(fields.Name, "name", "link content"), Require(fields.Url, "url", "link content")),
            EmptyContent.TypeName => EmptyContent.Instance,
            ErrorContent.TypeName => new ErrorContent(Require(fields.Text, "text", "error content"), fields.Code),
            ControlContent.TypeName => fields.Method is ControlContent.OpenMethod or ControlContent.CloseMethod
                ? new ControlContent(fields.Method, fields.StatusCode, fields.Message)
                : throw new ProtocolException("control content: 'method' must be \"open\" or \"close\"."),
            _ => throw new ProtocolException($"Unknown content type '{HeaderFields.Quote(type)}'."),
        };

        static string Require(string? value, string name, string context) =>
            value ?? throw new ProtocolException($"{context}: '{name}' must be a string.");
    }

    /// <summary>Writes the header fields that follow <c>type</c>.</summary>
    private protected abstract void WriteHeaderFields(Utf8JsonWriter writer);
}

/// <summary>A JSON object value: <c>{"type":"json","json":{…}}</c>, no bytes.</summary>
public sealed record JsonContent : Content
{
    /// <summary>The wire type name.</summary>
    public const string TypeName = "json";

    /// <summary>Creates a JSON content. The object is kept by reference (it is copied when encoded).</summary>
    public JsonContent(JsonObject json)
    {
        ArgumentNullException.ThrowIfNull(json);
        Json = json;
    }

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <summary>The JSON object. Treat it as read-only once the content is shared.</summary>
    public JsonObject Json { get; }

    /// <summary>Structural equality of <see cref="Json"/>.</summary>
    public bool Equals(JsonContent? other) =>
        ReferenceEquals(this, other) || (other is not null && JsonNode.DeepEquals(Json, other.Json));

    /// <inheritdoc />
    public override int GetHashCode() => Json.Count;

    /// <inheritdoc />
    public override string ToString() => $"JsonContent ({Json.Count} keys)";

    private protected override void WriteHeaderFields(Utf8JsonWriter writer)
    {
        writer.WritePropertyName("json");
        Json.WriteTo(writer);
    }
}

/// <summary>Bytes with a JSON headers object: <c>{"type":"binary","headers":{…}}</c> plus the bytes.</summary>
public sealed record BinaryContent : Content
{
    /// <summary>The wire type name.</summary>
    public const string TypeName = "binary";

    /// <summary>Creates a binary content. Neither the bytes nor the headers are copied.</summary>
    /// <param name="data">The bytes.</param>
    /// <param name="headers">The headers object; null means <c>{}</c>.</param>
    public BinaryContent(ReadOnlyMemory<byte> data, JsonObject? headers = null)
    {
        Data = data;
        Headers = headers ?? [];
    }

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <inheritdoc />
    public override ReadOnlyMemory<byte> Data { get; }

    /// <summary>The headers object. Treat it as read-only once the content is shared.</summary>
    public JsonObject Headers { get; }

    /// <summary>Byte-wise equality of <see cref="Data"/> and structural equality of <see cref="Headers"/>.</summary>
    public bool Equals(BinaryContent? other) =>
        ReferenceEquals(this, other)
        || (other is not null && Data.Span.SequenceEqual(other.Data.Span) && JsonNode.DeepEquals(Headers, other.Headers));

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Data.Length, Headers.Count);

    /// <inheritdoc />
    public override string ToString() => $"BinaryContent ({Headers.Count} headers, {Data.Length} bytes)";

    private protected override void WriteHeaderFields(Utf8JsonWriter writer)
    {
        writer.WritePropertyName("headers");
        Headers.WriteTo(writer);
    }
}

/// <summary>A named file: <c>{"type":"file","name":…,"mime_type":…}</c> plus the file bytes.</summary>
public sealed record FileContent : Content
{
    /// <summary>The wire type name.</summary>
    public const string TypeName = "file";

    /// <summary>Creates a file content. The bytes are not copied.</summary>
    public FileContent(ReadOnlyMemory<byte> data, string name, string mimeType)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(mimeType);
        Data = data;
        Name = name;
        MimeType = mimeType;
    }

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <inheritdoc />
    public override ReadOnlyMemory<byte> Data { get; }

    /// <summary>The file name (<c>name</c>).</summary>
    public string Name { get; }

    /// <summary>The MIME type (<c>mime_type</c>).</summary>
    public string MimeType { get; }

    /// <summary>Equality of name, MIME type and bytes.</summary>
    public bool Equals(FileContent? other) =>
        ReferenceEquals(this, other)
        || (other is not null
            && string.Equals(Name, other.Name, StringComparison.Ordinal)
            && string.Equals(MimeType, other.MimeType, StringComparison.Ordinal)
            && Data.Span.SequenceEqual(other.Data.Span));

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Name, MimeType, Data.Length);

    /// <inheritdoc />
    public override string ToString() => $"FileContent ({Data.Length} bytes)";

    private protected override void WriteHeaderFields(Utf8JsonWriter writer)
    {
        writer.WriteString("name", Name);
        writer.WriteString("mime_type", MimeType);
    }
}

/// <summary>Plain text: <c>{"type":"text","text":…}</c>, no bytes.</summary>
public sealed record TextContent : Content
{
    /// <summary>The wire type name.</summary>
    public const string TypeName = "text";

    /// <summary>Creates a text content.</summary>
    public TextContent(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Text = text;
    }

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <summary>The text.</summary>
    public string Text { get; }

    /// <inheritdoc />
    public override string ToString() => $"TextContent ({Text.Length} chars)";

    private protected override void WriteHeaderFields(Utf8JsonWriter writer) => writer.WriteString("text", Text);
}

/// <summary>A link: <c>{"type":"link","name":…,"url":…}</c>, no bytes.</summary>
public sealed record LinkContent : Content
{
    /// <summary>The wire type name.</summary>
    public const string TypeName = "link";

    /// <summary>Creates a link content.</summary>
    public LinkContent(string name, string url)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(url);
        Name = name;
        Url = url;
    }

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <summary>The link's display name.</summary>
    public string Name { get; }

    /// <summary>The URL, as sent.</summary>
    public string Url { get; }

    /// <inheritdoc />
    public override string ToString() => "LinkContent";

    private protected override void WriteHeaderFields(Utf8JsonWriter writer)
    {
        writer.WriteString("name", Name);
        writer.WriteString("url", Url);
    }
}

/// <summary>No value: <c>{"type":"empty"}</c>.</summary>
public sealed record EmptyContent : Content
{
    /// <summary>The wire type name.</summary>
    public const string TypeName = "empty";

    /// <summary>A shared instance (all empty contents are equal).</summary>
    public static EmptyContent Instance { get; } = new();

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <inheritdoc />
    public override string ToString() => "EmptyContent";

    private protected override void WriteHeaderFields(Utf8JsonWriter writer)
    {
    }
}

/// <summary>
/// An error reply: <c>{"type":"error","text":…,"code":…}</c>. The official client turns it into
/// <c>RoomServerException(text, code)</c>. See <see cref="ErrorCodes"/>.
/// </summary>
public sealed record ErrorContent : Content
{
    /// <summary>The wire type name.</summary>
    public const string TypeName = "error";

    /// <summary>Creates an error content.</summary>
    /// <param name="text">The message shown to the caller. Never put a secret in it.</param>
    /// <param name="code">The code, or null to omit <c>code</c> from the header.</param>
    public ErrorContent(string text, int? code = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        Text = text;
        Code = code;
    }

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <summary>The error message.</summary>
    public string Text { get; }

    /// <summary>The error code, if any.</summary>
    public int? Code { get; }

    /// <inheritdoc />
    public override string ToString() => Code is { } code ? $"ErrorContent ({code}): {Text}" : $"ErrorContent: {Text}";

    private protected override void WriteHeaderFields(Utf8JsonWriter writer)
    {
        writer.WriteString("text", Text);
        if (Code is { } code)
        {
            writer.WriteNumber("code", code);
        }
    }
}

/// <summary>
/// A stream control marker: <c>{"type":"control","method":"open"}</c> or
/// <c>{"type":"control","method":"close","status_code":1000,"message":…}</c>.
/// </summary>
public sealed record ControlContent : Content
{
    /// <summary>The wire type name.</summary>
    public const string TypeName = "control";

    /// <summary>The <c>open</c> method.</summary>
    public const string OpenMethod = "open";

    /// <summary>The <c>close</c> method.</summary>
    public const string CloseMethod = "close";

    /// <summary>The default close status (normal).</summary>
    public const int NormalStatus = 1000;

    /// <summary>Creates a control content.</summary>
    /// <param name="method"><see cref="OpenMethod"/> or <see cref="CloseMethod"/>.</param>
    /// <param name="statusCode">The close status; for <c>close</c>, null means <see cref="NormalStatus"/>.</param>
    /// <param name="message">An optional close message.</param>
    public ControlContent(string method, int? statusCode = null, string? message = null)
    {
        if (method is not (OpenMethod or CloseMethod))
        {
            throw new ArgumentException("The control method must be \"open\" or \"close\".", nameof(method));
        }

        Method = method;
        StatusCode = method == CloseMethod ? statusCode ?? NormalStatus : statusCode;
        Message = message;
    }

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <summary><see cref="OpenMethod"/> or <see cref="CloseMethod"/>.</summary>
    public string Method { get; }

    /// <summary>The status code; always set for <c>close</c>. Only written on the wire for <c>close</c>.</summary>
    public int? StatusCode { get; }

    /// <summary>The optional message. Only written on the wire for <c>close</c>.</summary>
    public string? Message { get; }

    /// <summary>Creates an <c>open</c> marker.</summary>
    public static ControlContent Open() => new(OpenMethod);

    /// <summary>Creates a <c>close</c> marker.</summary>
    public static ControlContent Close(int statusCode = NormalStatus, string? message = null) => new(CloseMethod, statusCode, message);

    /// <inheritdoc />
    public override string ToString() => Method == CloseMethod ? $"ControlContent close ({StatusCode})" : "ControlContent open";

    private protected override void WriteHeaderFields(Utf8JsonWriter writer)
    {
        writer.WriteString("method", Method);
        if (Method == CloseMethod)
        {
            writer.WriteNumber("status_code", StatusCode ?? NormalStatus);
            if (Message is not null)
            {
                writer.WriteString("message", Message);
            }
        }
    }
}
