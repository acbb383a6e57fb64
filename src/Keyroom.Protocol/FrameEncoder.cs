using System.Buffers.Binary;
using Keyroom.Protocol.Internal;

namespace Keyroom.Protocol;

/// <summary>
/// Cuts a logical message <c>(id, type, data)</c> into packets (spec 2.4). Each packet is sent as one WebSocket
/// binary message. All integers are big-endian.
/// <list type="bullet">
/// <item>Header packet: id high uint32, id low uint32, index 0, data packet count N, then the UTF-8 type.</item>
/// <item>Data packet i = 1..N: id high, id low, index i, then the next chunk of the data.</item>
/// </list>
/// N is <c>ceil(data.Length / chunkSize)</c>, so empty data is a header packet alone.
/// </summary>
/// <remarks>
/// The packets of one message must go out back to back: the receiver tracks a single message in progress, so
/// a connection must serialize its writes at whole-message granularity (see <see cref="WebSocketMessageChannel"/>).
/// </remarks>
public static class FrameEncoder
{
    /// <summary>The size of a header packet before the type: id (8), index (4), count (4).</summary>
    public const int HeaderPacketPrefixSize = 16;

    /// <summary>The size of a data packet before the chunk: id (8), index (4).</summary>
    public const int DataPacketPrefixSize = 12;

    /// <summary>The chunk size the official client uses. Servers may use larger chunks (the client accepts any).</summary>
    public const int ClientChunkSize = 1024;

    /// <summary>The largest message id: the id is a JavaScript number on the client and must stay ≤ 2^53.</summary>
    public const ulong MaxMessageId = 1UL << 53;

    /// <summary>Returns N, the number of data packets for <paramref name="dataLength"/> bytes.</summary>
    public static int GetDataPacketCount(int dataLength, int chunkSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(dataLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkSize);
        return (int)(((long)dataLength + chunkSize - 1) / chunkSize);
    }

    /// <summary>Writes a header packet to <paramref name="destination"/> and returns its length.</summary>
    /// <param name="destination">At least <see cref="HeaderPacketPrefixSize"/> + <paramref name="typeUtf8"/>.Length bytes.</param>
    /// <param name="id">The message id, at most <see cref="MaxMessageId"/>.</param>
    /// <param name="typeUtf8">The message type as UTF-8.</param>
    /// <param name="dataPacketCount">N, the number of data packets that follow.</param>
    public static int WriteHeaderPacket(Span<byte> destination, ulong id, ReadOnlySpan<byte> typeUtf8, int dataPacketCount)
    {
        ValidateId(id);
        ArgumentOutOfRangeException.ThrowIfNegative(dataPacketCount);
        int length = HeaderPacketPrefixSize + typeUtf8.Length;
        if (destination.Length < length)
        {
            throw new ArgumentException($"The destination needs {length} bytes.", nameof(destination));
        }

        WriteId(destination, id);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(destination[12..], (uint)dataPacketCount);
        typeUtf8.CopyTo(destination[HeaderPacketPrefixSize..]);
        return length;
    }

    /// <summary>Writes a data packet to <paramref name="destination"/> and returns its length.</summary>
    /// <param name="destination">At least <see cref="DataPacketPrefixSize"/> + <paramref name="chunk"/>.Length bytes.</param>
    /// <param name="id">The message id, at most <see cref="MaxMessageId"/>.</param>
    /// <param name="index">The 1-based packet index.</param>
    /// <param name="chunk">The chunk of data.</param>
    public static int WriteDataPacket(Span<byte> destination, ulong id, int index, ReadOnlySpan<byte> chunk)
    {
        ValidateId(id);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(index);
        int length = DataPacketPrefixSize + chunk.Length;
        if (destination.Length < length)
        {
            throw new ArgumentException($"The destination needs {length} bytes.", nameof(destination));
        }

        WriteId(destination, id);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], (uint)index);
        chunk.CopyTo(destination[DataPacketPrefixSize..]);
        return length;
    }

    /// <summary>Returns every packet of a message as separate arrays, in sending order.</summary>
    /// <param name="id">The message id, at most <see cref="MaxMessageId"/>.</param>
    /// <param name="type">The message type; must be valid UTF-16 (no unpaired surrogates).</param>
    /// <param name="data">The message data.</param>
    /// <param name="chunkSize">The largest chunk per data packet; the client uses <see cref="ClientChunkSize"/>.</param>
    public static byte[][] Encode(ulong id, string type, ReadOnlySpan<byte> data, int chunkSize = ClientChunkSize)
    {
        ValidateId(id);
        var typeUtf8 = EncodeType(type);
        int count = GetDataPacketCount(data.Length, chunkSize);
        var packets = new byte[count + 1][];
        packets[0] = new byte[HeaderPacketPrefixSize + typeUtf8.Length];
        WriteHeaderPacket(packets[0], id, typeUtf8, count);
        for (int i = 1; i <= count; i++)
        {
            var chunk = GetChunk(data, i, chunkSize);
            packets[i] = new byte[DataPacketPrefixSize + chunk.Length];
            WriteDataPacket(packets[i], id, i, chunk);
        }

        return packets;
    }

    /// <summary>Encodes a message type as UTF-8, rejecting text with unpaired surrogates.</summary>
    /// <exception cref="ArgumentException">The type is not valid UTF-16.</exception>
    public static byte[] EncodeType(string type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return Utf8Text.Encode(type, nameof(type));
    }

    private static readonly byte[] ResponseUtf8 = "__response__"u8.ToArray();
    private static readonly byte[] InvokeToolUtf8 = "room.invoke_tool"u8.ToArray();
    private static readonly byte[] MessagingSendUtf8 = "messaging.send"u8.ToArray();

    /// <summary>
    /// <see cref="EncodeType"/> without an allocation for the types sent on every request. The array may be
    /// shared: callers only read it.
    /// </summary>
    internal static byte[] EncodeTypeShared(string type) => type switch
    {
        MessageTypes.Response => ResponseUtf8,
        MessageTypes.InvokeTool => InvokeToolUtf8,
        MessageTypes.MessagingSend => MessagingSendUtf8,
        _ => EncodeType(type),
    };

    /// <summary>The chunk carried by data packet <paramref name="index"/> (1-based).</summary>
    internal static ReadOnlySpan<byte> GetChunk(ReadOnlySpan<byte> data, int index, int chunkSize)
    {
        var (start, length) = ChunkRange(data.Length, index, chunkSize);
        return data.Slice(start, length);
    }

    /// <inheritdoc cref="GetChunk(ReadOnlySpan{byte}, int, int)"/>
    internal static ReadOnlyMemory<byte> GetChunk(ReadOnlyMemory<byte> data, int index, int chunkSize)
    {
        var (start, length) = ChunkRange(data.Length, index, chunkSize);
        return data.Slice(start, length);
    }

    private static (int Start, int Length) ChunkRange(int dataLength, int index, int chunkSize)
    {
        long start = (long)(index - 1) * chunkSize;
        return ((int)start, (int)Math.Min(chunkSize, dataLength - start));
    }

    internal static void ValidateId(ulong id)
    {
        if (id > MaxMessageId)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, "A message id must not exceed 2^53.");
        }
    }

    private static void WriteId(Span<byte> destination, ulong id)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)(id >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], (uint)id);
    }
}
