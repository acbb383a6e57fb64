using System.Buffers;
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Keyroom.Protocol.Internal;

/// <summary>
/// Writes packMessage envelopes whose header is produced by a <see cref="Utf8JsonWriter"/> callback. The
/// header is serialized into a per-thread scratch buffer (its length must be known before it is written),
/// then the length prefix, header and payload are copied to the destination.
/// </summary>
internal static class Envelope
{
    /// <summary>Scratch buffers larger than this are released after use instead of being kept per thread.</summary>
    private const int RetainedScratchCapacity = 64 * 1024;

    /// <summary>
    /// Compact output, like <c>JSON.stringify</c>: non-ASCII and HTML-sensitive characters are not escaped.
    /// The header travels in a binary frame, never inside HTML, so the relaxed encoder is appropriate.
    /// </summary>
    public static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    [ThreadStatic]
    private static Scratch? _cachedScratch;

    /// <summary>Writes the envelope for a header produced by <paramref name="writeHeader"/>.</summary>
    public static void Write<TState>(
        IBufferWriter<byte> destination,
        TState state,
        Action<Utf8JsonWriter, TState> writeHeader,
        ReadOnlySpan<byte> payload)
    {
        var scratch = RentScratch();
        try
        {
            var header = scratch.Serialize(state, writeHeader);
            WriteRaw(destination, header, payload);
        }
        finally
        {
            ReturnScratch(scratch);
        }
    }

    /// <summary>Returns the envelope for a header produced by <paramref name="writeHeader"/> as a new array.</summary>
    public static byte[] Encode<TState>(TState state, Action<Utf8JsonWriter, TState> writeHeader, ReadOnlySpan<byte> payload)
    {
        var scratch = RentScratch();
        try
        {
            var header = scratch.Serialize(state, writeHeader);
            var result = GC.AllocateUninitializedArray<byte>(checked(PackedMessage.LengthPrefixSize + header.Length + payload.Length));
            WritePrefix(result, header.Length);
            header.CopyTo(result.AsSpan(PackedMessage.LengthPrefixSize));
            payload.CopyTo(result.AsSpan(PackedMessage.LengthPrefixSize + header.Length));
            return result;
        }
        finally
        {
            ReturnScratch(scratch);
        }
    }

    /// <summary>Serializes a header to a new array (used to build <see cref="System.Text.Json.Nodes.JsonObject"/> copies).</summary>
    public static byte[] SerializeHeader<TState>(TState state, Action<Utf8JsonWriter, TState> writeHeader)
    {
        var scratch = RentScratch();
        try
        {
            return scratch.Serialize(state, writeHeader).ToArray();
        }
        finally
        {
            ReturnScratch(scratch);
        }
    }

    /// <summary>Writes the 8-byte length prefix, the header bytes and the payload.</summary>
    public static void WriteRaw(IBufferWriter<byte> destination, ReadOnlySpan<byte> headerUtf8, ReadOnlySpan<byte> payload)
    {
        var prefix = destination.GetSpan(PackedMessage.LengthPrefixSize);
        WritePrefix(prefix, headerUtf8.Length);
        destination.Advance(PackedMessage.LengthPrefixSize);
        destination.Write(headerUtf8);
        destination.Write(payload);
    }

    /// <summary>Writes N as two big-endian uint32 values (hi, lo).</summary>
    public static void WritePrefix(Span<byte> destination, int headerLength)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, 0);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], (uint)headerLength);
    }

    private static Scratch RentScratch()
    {
        var scratch = _cachedScratch;
        _cachedScratch = null;
        return scratch ?? new Scratch();
    }

    private static void ReturnScratch(Scratch scratch)
    {
        scratch.Buffer.Clear();
        if (scratch.Buffer.Capacity > RetainedScratchCapacity)
        {
            scratch.Buffer.Release();
        }

        _cachedScratch = scratch;
    }

    private sealed class Scratch
    {
        public Scratch()
        {
            Writer = new Utf8JsonWriter(Buffer, WriterOptions);
        }

        public PooledBufferWriter Buffer { get; } = new();

        public Utf8JsonWriter Writer { get; }

        public ReadOnlySpan<byte> Serialize<TState>(TState state, Action<Utf8JsonWriter, TState> writeHeader)
        {
            Writer.Reset(Buffer);
            writeHeader(Writer, state);
            Writer.Flush();
            return Buffer.WrittenSpan;
        }
    }
}
