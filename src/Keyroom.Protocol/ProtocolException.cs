namespace Keyroom.Protocol;

/// <summary>What kind of rule a peer broke. Lets a connection owner pick a reaction (for example a close code).</summary>
public enum ProtocolErrorKind
{
    /// <summary>Bytes that do not form a valid packet, envelope, header or content.</summary>
    Malformed,

    /// <summary>A size or count is over a configured limit.</summary>
    LimitExceeded,

    /// <summary>Packets arrived in an order the framing forbids (interleaving, wrong id, wrong index).</summary>
    OutOfSequence,

    /// <summary>A WebSocket frame of a kind the protocol never uses (a text frame).</summary>
    UnsupportedFrame,
}

/// <summary>
/// The peer sent something that violates the MeshAgent wire format. The message is safe to log and to show:
/// it names fields and sizes, never payload contents. After one of these on a connection the stream can no
/// longer be trusted; the usual reaction is to close the connection.
/// </summary>
public sealed class ProtocolException : Exception
{
    /// <summary>Creates an exception of kind <see cref="ProtocolErrorKind.Malformed"/> with a default message.</summary>
    public ProtocolException()
        : this(ProtocolErrorKind.Malformed, "The data violates the MeshAgent wire protocol.")
    {
    }

    /// <summary>Creates an exception of kind <see cref="ProtocolErrorKind.Malformed"/>.</summary>
    public ProtocolException(string message)
        : this(ProtocolErrorKind.Malformed, message)
    {
    }

    /// <summary>Creates an exception of kind <see cref="ProtocolErrorKind.Malformed"/> wrapping a cause.</summary>
    public ProtocolException(string message, Exception innerException)
        : this(ProtocolErrorKind.Malformed, message, innerException)
    {
    }

    /// <summary>Creates an exception of the given kind.</summary>
    public ProtocolException(ProtocolErrorKind kind, string message)
        : base(message)
    {
        Kind = kind;
    }

    /// <summary>Creates an exception of the given kind wrapping a cause.</summary>
    public ProtocolException(ProtocolErrorKind kind, string message, Exception innerException)
        : base(message, innerException)
    {
        Kind = kind;
    }

    /// <summary>The kind of violation.</summary>
    public ProtocolErrorKind Kind { get; }
}
