namespace Keyroom.Protocol;

/// <summary>
/// A complete logical message on the room WebSocket: an id, a type (for example
/// <see cref="MessageTypes.InvokeTool"/>) and the reassembled data, usually a <see cref="PackedMessage"/>.
/// </summary>
public sealed class ProtocolMessage
{
    /// <summary>Creates a message.</summary>
    /// <param name="id">The message id, at most <see cref="FrameEncoder.MaxMessageId"/>.</param>
    /// <param name="type">The message type.</param>
    /// <param name="data">The data (not copied).</param>
    public ProtocolMessage(ulong id, string type, ReadOnlyMemory<byte> data)
    {
        FrameEncoder.ValidateId(id);
        ArgumentNullException.ThrowIfNull(type);
        Id = id;
        Type = type;
        Data = data;
    }

    /// <summary>The message id. A <c>__response__</c> carries the id of the request it answers.</summary>
    public ulong Id { get; }

    /// <summary>The message type.</summary>
    public string Type { get; }

    /// <summary>
    /// The data. For messages produced by <see cref="MessageAssembler"/> this is an array owned by the message
    /// alone, so it stays valid after more packets are processed.
    /// </summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <inheritdoc />
    public override string ToString() => $"#{Id} {Type} ({Data.Length} bytes)";
}
