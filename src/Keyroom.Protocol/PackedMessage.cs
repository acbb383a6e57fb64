using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;
using Keyroom.Protocol.Internal;

namespace Keyroom.Protocol;

/// <summary>
/// The <c>packMessage</c> envelope (spec 3.1) that carries every protocol payload: an 8-byte big-endian
/// length N (high and low uint32), N bytes of UTF-8 JSON (the header, always a JSON object here), then the
/// raw payload bytes (possibly none).
/// </summary>
/// <remarks>
/// The header object belongs to this message; treat it as read-only once the message is shared. A decoded
/// message's <see cref="Payload"/> is a slice of the decoded buffer, not a copy.
/// </remarks>
public sealed class PackedMessage
{
    /// <summary>The size of the length prefix in bytes.</summary>
    public const int LengthPrefixSize = 8;

    /// <summary>The largest JSON nesting depth accepted in a decoded header.</summary>
    public const int MaxHeaderDepth = 64;

    private static readonly JsonDocumentOptions ParseOptions = new()
    {
        AllowDuplicateProperties = false,
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = MaxHeaderDepth,
    };

    /// <summary>Creates a message from a header object and an optional payload (which is not copied).</summary>
    public PackedMessage(JsonObject header, ReadOnlyMemory<byte> payload = default)
    {
        ArgumentNullException.ThrowIfNull(header);
        Header = header;
        Payload = payload;
    }

    /// <summary>The JSON header.</summary>
    public JsonObject Header { get; }

    /// <summary>The raw bytes after the header.</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>Writes the encoded envelope to <paramref name="destination"/>.</summary>
    public void WriteTo(IBufferWriter<byte> destination) => Write(destination, Header, Payload.Span);

    /// <summary>Returns the encoded envelope as a new array.</summary>
    public byte[] Encode() => Envelope.Encode(Header, static (writer, header) => header.WriteTo(writer), Payload.Span);

    /// <summary>Writes an envelope for <paramref name="header"/> and <paramref name="payload"/>.</summary>
    public static void Write(IBufferWriter<byte> destination, JsonObject header, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(header);
        Envelope.Write(destination, header, static (writer, h) => h.WriteTo(writer), payload);
    }

    /// <summary>
    /// Writes an envelope from an already serialized header. <paramref name="headerUtf8"/> must be the UTF-8
    /// JSON text of an object; it is written as is, without validation.
    /// </summary>
    public static void Write(IBufferWriter<byte> destination, ReadOnlySpan<byte> headerUtf8, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(destination);
        Envelope.WriteRaw(destination, headerUtf8, payload);
    }

    /// <summary>
    /// Splits an envelope into its header bytes and payload without parsing the header. Both parts are slices
    /// of <paramref name="data"/>.
    /// </summary>
    /// <exception cref="ProtocolException">The data is shorter than the prefix, or the declared length does not fit.</exception>
    public static (ReadOnlyMemory<byte> HeaderUtf8, ReadOnlyMemory<byte> Payload) Split(ReadOnlyMemory<byte> data)
    {
        var span = data.Span;
        if (span.Length < LengthPrefixSize)
        {
            throw new ProtocolException(
                $"Packed message of {span.Length} bytes is shorter than its {LengthPrefixSize}-byte length prefix.");
        }

        ulong declared = ((ulong)BinaryPrimitives.ReadUInt32BigEndian(span) << 32) | BinaryPrimitives.ReadUInt32BigEndian(span[4..]);
        ulong available = (ulong)(span.Length - LengthPrefixSize);
        if (declared > available)
        {
            throw new ProtocolException(
                $"Packed message declares a {declared}-byte header but only {available} bytes follow the length prefix.");
        }

        int headerLength = (int)declared;
        return (data.Slice(LengthPrefixSize, headerLength), data[(LengthPrefixSize + headerLength)..]);
    }

    /// <summary>
    /// Decodes an envelope. The header must be a JSON object (duplicate keys, comments and trailing commas are
    /// rejected). The payload is a slice of <paramref name="data"/>, not a copy.
    /// </summary>
    /// <exception cref="ProtocolException">The envelope or its header is malformed.</exception>
    public static PackedMessage Decode(ReadOnlyMemory<byte> data)
    {
        var (headerUtf8, payload) = Split(data);
        if (headerUtf8.IsEmpty)
        {
            throw new ProtocolException("Packed message header is empty; it must be a JSON object.");
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(headerUtf8.Span, nodeOptions: null, ParseOptions);
        }
        catch (JsonException ex)
        {
            // The reader's own message can quote header text, so only the position is reported here.
            throw new ProtocolException(
                $"Packed message header is not a valid JSON object (line {ex.LineNumber}, byte {ex.BytePositionInLine}).", ex);
        }
        catch (InvalidOperationException ex)
        {
            // Raised while unescaping property names for the duplicate check (for example "\uDC00").
            throw new ProtocolException("Packed message header contains a string that is not valid UTF-16.", ex);
        }

        if (node is not JsonObject header)
        {
            var kind = node is null ? "null" : node.GetValueKind().ToString();
            throw new ProtocolException($"Packed message header must be a JSON object, not {kind}.");
        }

        ValidateStrings(headerUtf8.Span);
        return new PackedMessage(header, payload);
    }

    /// <summary>
    /// Checks the token the reader is on when it is a string or a property name (others pass): valid UTF-8, and
    /// escapes that decode to valid UTF-16 (an unpaired surrogate escape throws <see cref="InvalidOperationException"/>,
    /// which callers report as a <see cref="ProtocolException"/>).
    /// </summary>
    internal static void ValidateString(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is not (JsonTokenType.PropertyName or JsonTokenType.String))
        {
            return;
        }

        if (reader.ValueIsEscaped)
        {
            _ = reader.GetString();
        }
        else if (!Utf8.IsValid(reader.ValueSpan))
        {
            throw new ProtocolException(
                $"Packed message header contains a string that is not valid UTF-8 (byte {reader.TokenStartIndex}).");
        }
    }

    /// <summary>
    /// The parser checks structure eagerly but decodes strings lazily, so invalid UTF-8 or unpaired surrogate
    /// escapes would otherwise surface later as unrelated exceptions when a field is read. This pass finds them
    /// now. Unescaped strings are checked without allocating.
    /// </summary>
    internal static void ValidateStrings(ReadOnlySpan<byte> headerUtf8)
    {
        var reader = new Utf8JsonReader(headerUtf8, new JsonReaderOptions { MaxDepth = MaxHeaderDepth });
        try
        {
            while (reader.Read())
            {
                ValidateString(ref reader);
            }
        }
        catch (InvalidOperationException ex)
        {
            throw new ProtocolException(
                $"Packed message header contains a string that is not valid UTF-8 or UTF-16 (byte {reader.TokenStartIndex}).", ex);
        }
    }
}
