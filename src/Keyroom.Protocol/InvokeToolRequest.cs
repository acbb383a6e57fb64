using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keyroom.Protocol.Internal;

namespace Keyroom.Protocol;

/// <summary>
/// The payload of a <c>room.invoke_tool</c> message (spec 3.2): a header
/// <c>{toolkit, tool, arguments:&lt;content header&gt;, …}</c> plus the arguments' bytes as the envelope payload.
/// </summary>
public sealed class InvokeToolRequest
{
    private const string Context = "room.invoke_tool";

    /// <summary>Creates a request.</summary>
    /// <param name="toolkit">The toolkit name, for example <c>"secrets"</c>.</param>
    /// <param name="tool">The tool (operation) name.</param>
    /// <param name="arguments">The input; its bytes become the envelope payload.</param>
    public InvokeToolRequest(string toolkit, string tool, Content arguments)
    {
        ArgumentException.ThrowIfNullOrEmpty(toolkit);
        ArgumentException.ThrowIfNullOrEmpty(tool);
        ArgumentNullException.ThrowIfNull(arguments);
        Toolkit = toolkit;
        Tool = tool;
        Arguments = arguments;
    }

    /// <summary>The toolkit name (<c>toolkit</c>).</summary>
    public string Toolkit { get; }

    /// <summary>The tool name (<c>tool</c>).</summary>
    public string Tool { get; }

    /// <summary>The input (<c>arguments</c> plus the envelope payload).</summary>
    public Content Arguments { get; }

    /// <summary>Routes the call to a toolkit hosted by this participant (<c>participant_id</c>); null for built-in toolkits.</summary>
    public string? ParticipantId { get; init; }

    /// <summary>The participant the call is made on behalf of (<c>on_behalf_of_id</c>).</summary>
    public string? OnBehalfOfId { get; init; }

    /// <summary>Caller-supplied context (<c>caller_context</c>).</summary>
    public JsonObject? CallerContext { get; init; }

    /// <summary>Set only for one-way and streaming calls (<c>tool_call_id</c>).</summary>
    public string? ToolCallId { get; init; }

    /// <summary>
    /// Writes the header. Keys appear in the official client's order: <c>toolkit</c>, <c>tool</c>, the optional
    /// keys that are set, then <c>arguments</c>. Unset optional keys are omitted.
    /// </summary>
    public void WriteHeader(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("toolkit", Toolkit);
        writer.WriteString("tool", Tool);
        if (ParticipantId is not null)
        {
            writer.WriteString("participant_id", ParticipantId);
        }

        if (OnBehalfOfId is not null)
        {
            writer.WriteString("on_behalf_of_id", OnBehalfOfId);
        }

        if (CallerContext is not null)
        {
            writer.WritePropertyName("caller_context");
            CallerContext.WriteTo(writer);
        }

        if (ToolCallId is not null)
        {
            writer.WriteString("tool_call_id", ToolCallId);
        }

        writer.WritePropertyName("arguments");
        Arguments.WriteHeader(writer);
        writer.WriteEndObject();
    }

    /// <summary>Returns the request as an envelope (a new header object; the argument bytes are not copied).</summary>
    public PackedMessage ToPacked()
    {
        var utf8 = Envelope.SerializeHeader(this, static (writer, request) => request.WriteHeader(writer));
        return new PackedMessage((JsonObject)JsonNode.Parse(utf8)!, Arguments.Data);
    }

    /// <summary>Writes the packed request to <paramref name="destination"/>.</summary>
    public void WriteTo(IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        Envelope.Write(destination, this, static (writer, request) => request.WriteHeader(writer), Arguments.Data.Span);
    }

    /// <summary>Returns the packed request as a new array.</summary>
    public byte[] Encode() =>
        Envelope.Encode(this, static (writer, request) => request.WriteHeader(writer), Arguments.Data.Span);

    /// <summary>Decodes a packed request. Binary and file argument bytes are a slice of <paramref name="data"/>.</summary>
    /// <exception cref="ProtocolException">The envelope or header is malformed.</exception>
    public static InvokeToolRequest Decode(ReadOnlyMemory<byte> data) => HeaderReader.DecodeInvoke(data);

    /// <summary>
    /// Reads a request from its envelope. <c>toolkit</c> and <c>tool</c> must be non-empty strings and
    /// <c>arguments</c> a content header; the optional keys may be absent or null but not of another kind.
    /// Unknown keys are ignored. The envelope payload becomes the bytes of binary and file arguments.
    /// </summary>
    /// <exception cref="ProtocolException">The header is malformed.</exception>
    public static InvokeToolRequest Parse(PackedMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var header = message.Header;
        var toolkit = HeaderFields.RequireNonEmptyString(header, "toolkit", Context);
        var tool = HeaderFields.RequireNonEmptyString(header, "tool", Context);
        var arguments = Content.Parse(HeaderFields.RequireObject(header, "arguments", Context), message.Payload);
        var callerContext = HeaderFields.OptionalObject(header, "caller_context", Context);
        return new InvokeToolRequest(toolkit, tool, arguments)
        {
            ParticipantId = HeaderFields.OptionalString(header, "participant_id", Context),
            OnBehalfOfId = HeaderFields.OptionalString(header, "on_behalf_of_id", Context),
            CallerContext = (JsonObject?)callerContext?.DeepClone(),
            ToolCallId = HeaderFields.OptionalString(header, "tool_call_id", Context),
        };
    }

    /// <inheritdoc />
    public override string ToString() => $"InvokeToolRequest ({Toolkit}.{Tool}, {Arguments})";
}
