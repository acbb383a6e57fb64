using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using Keyroom.Protocol.Internal;

namespace Keyroom.Protocol;

/// <summary>
/// Reassembles logical messages from packets (spec 2.4), one packet at a time, enforcing the framing rules and
/// the limits in <see cref="MessageAssemblerOptions"/>.
/// </summary>
/// <remarks>
/// <para>
/// Every violation throws <see cref="ProtocolException"/> and discards the message in progress, leaving the
/// assembler ready for a new header packet. A peer that breaks the framing cannot be resynchronized reliably,
/// so the usual reaction is to close the connection.
/// </para>
/// <para>Not thread-safe: one assembler per connection, fed by that connection's single reader.</para>
/// </remarks>
public sealed class MessageAssembler : IDisposable
{
    /// <summary>Accumulation buffers larger than this are returned to the pool after each message.</summary>
    private const int RetainedBufferCapacity = 64 * 1024;

    private readonly PooledBufferWriter _buffer = new();
    private bool _inProgress;
    private ulong _id;
    private string _type = string.Empty;
    private uint _expectedPackets;
    private uint _nextIndex;
    private bool _disposed;

    /// <summary>Creates an assembler with the given limits (or <see cref="MessageAssemblerOptions.Default"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit is not usable.</exception>
    public MessageAssembler(MessageAssemblerOptions? options = null)
    {
        Options = options ?? MessageAssemblerOptions.Default;
        Options.Validate();
    }

    /// <summary>The limits in force.</summary>
    public MessageAssemblerOptions Options { get; }

    /// <summary>True between a header packet that announced data packets and the last of those packets.</summary>
    public bool IsMessageInProgress => _inProgress;

    /// <summary>Processes one packet (one WebSocket message).</summary>
    /// <param name="packet">The packet bytes. They are copied as needed; the span may be reused afterwards.</param>
    /// <param name="message">The completed message when this packet finished one; otherwise null.</param>
    /// <returns>True when <paramref name="message"/> holds a completed message.</returns>
    /// <exception cref="ProtocolException">The packet violates the framing or a limit.</exception>
    public bool Push(ReadOnlySpan<byte> packet, [NotNullWhen(true)] out ProtocolMessage? message)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        message = null;
        if (packet.Length < FrameEncoder.DataPacketPrefixSize)
        {
            throw Fail(
                ProtocolErrorKind.Malformed,
                $"Packet of {packet.Length} bytes is shorter than the {FrameEncoder.DataPacketPrefixSize}-byte packet prefix.");
        }

        ulong id = ((ulong)BinaryPrimitives.ReadUInt32BigEndian(packet) << 32) | BinaryPrimitives.ReadUInt32BigEndian(packet[4..]);
        uint index = BinaryPrimitives.ReadUInt32BigEndian(packet[8..]);

        if (index == 0)
        {
            return StartMessage(packet, id, out message);
        }

        if (!_inProgress)
        {
            throw Fail(
                ProtocolErrorKind.OutOfSequence,
                $"Data packet {index} for message {id} arrived with no message in progress.");
        }

        if (id != _id)
        {
            throw Fail(
                ProtocolErrorKind.OutOfSequence,
                $"Data packet for message {id} arrived while message {_id} is incomplete (interleaved messages).");
        }

        if (index != _nextIndex)
        {
            throw Fail(
                ProtocolErrorKind.OutOfSequence,
                $"Data packet {index} for message {id} arrived out of order; expected packet {_nextIndex}.");
        }

        var chunk = packet[FrameEncoder.DataPacketPrefixSize..];
        if ((long)_buffer.WrittenCount + chunk.Length > Options.MaxMessageSize)
        {
            throw Fail(
                ProtocolErrorKind.LimitExceeded,
                $"Message {id} is larger than the {Options.MaxMessageSize}-byte limit.");
        }

        if (index == _expectedPackets)
        {
            byte[] data;
            if (_buffer.WrittenCount == 0)
            {
                // Single data packet (the common case for small messages): one copy, no pooled buffer.
                data = chunk.ToArray();
            }
            else
            {
                data = GC.AllocateUninitializedArray<byte>(_buffer.WrittenCount + chunk.Length);
                _buffer.WrittenSpan.CopyTo(data);
                chunk.CopyTo(data.AsSpan(_buffer.WrittenCount));
            }

            message = new ProtocolMessage(_id, _type, data);
            Reset();
            return true;
        }

        _buffer.Write(chunk);
        _nextIndex++;
        return false;
    }

    /// <summary>Discards any message in progress.</summary>
    public void Reset()
    {
        _inProgress = false;
        _id = 0;
        _type = string.Empty;
        _expectedPackets = 0;
        _nextIndex = 0;
        _buffer.Clear();
        if (_buffer.Capacity > RetainedBufferCapacity)
        {
            _buffer.Release();
        }
    }

    /// <summary>Returns pooled memory. The assembler cannot be used afterwards.</summary>
    public void Dispose()
    {
        _disposed = true;
        _inProgress = false;
        _buffer.Dispose();
    }

    private bool StartMessage(ReadOnlySpan<byte> packet, ulong id, out ProtocolMessage? message)
    {
        message = null;
        if (_inProgress)
        {
            throw Fail(
                ProtocolErrorKind.OutOfSequence,
                $"Header packet for message {id} arrived while message {_id} is incomplete (interleaved messages).");
        }

        if (packet.Length < FrameEncoder.HeaderPacketPrefixSize)
        {
            throw Fail(
                ProtocolErrorKind.Malformed,
                $"Header packet of {packet.Length} bytes is shorter than the {FrameEncoder.HeaderPacketPrefixSize}-byte header prefix.");
        }

        if (id > FrameEncoder.MaxMessageId)
        {
            throw Fail(ProtocolErrorKind.Malformed, $"Message id {id} exceeds 2^53.");
        }

        uint count = BinaryPrimitives.ReadUInt32BigEndian(packet[12..]);
        if (count > Options.MaxPacketsPerMessage)
        {
            throw Fail(
                ProtocolErrorKind.LimitExceeded,
                $"Message {id} declares {count} data packets; the limit is {Options.MaxPacketsPerMessage}.");
        }

        var typeUtf8 = packet[FrameEncoder.HeaderPacketPrefixSize..];
        if (typeUtf8.Length > Options.MaxTypeLength)
        {
            throw Fail(
                ProtocolErrorKind.LimitExceeded,
                $"Message {id} has a {typeUtf8.Length}-byte type; the limit is {Options.MaxTypeLength} bytes.");
        }

        var type = KnownTypes.Get(typeUtf8) ?? Utf8Text.TryDecode(typeUtf8)
            ?? throw Fail(ProtocolErrorKind.Malformed, $"Message {id} has a type that is not valid UTF-8.");

        if (count == 0)
        {
            message = new ProtocolMessage(id, type, ReadOnlyMemory<byte>.Empty);
            return true;
        }

        _inProgress = true;
        _id = id;
        _type = type;
        _expectedPackets = count;
        _nextIndex = 1;
        return false;
    }

    private ProtocolException Fail(ProtocolErrorKind kind, string message)
    {
        Reset();
        return new ProtocolException(kind, message);
    }

    /// <summary>Returns the shared string for well-known types, avoiding a string allocation per message.</summary>
    private static class KnownTypes
    {
        private static readonly (byte[] Utf8, string Text)[] Entries =
        [
            .. new[]
            {
                MessageTypes.RoomReady, MessageTypes.Connected, MessageTypes.Response, MessageTypes.InvokeTool,
                MessageTypes.SetAttributes, MessageTypes.MessagingSend, MessageTypes.RequestSecret,
                MessageTypes.RequestOAuthToken, MessageTypes.RoomStatus, MessageTypes.ToolCallResponseChunk,
            }.Select(static text => (System.Text.Encoding.UTF8.GetBytes(text), text)),
        ];

        public static string? Get(ReadOnlySpan<byte> utf8)
        {
            foreach (var (bytes, text) in Entries)
            {
                if (utf8.SequenceEqual(bytes))
                {
                    return text;
                }
            }

            return null;
        }
    }
}
