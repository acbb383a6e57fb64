using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Keyroom.Protocol;

/// <summary>What a <see cref="BatchingTransportStream"/> carries, which says whether messages may be framed straight into it.</summary>
public enum TransportFraming
{
    /// <summary>
    /// Unknown, or layered under something else (TLS above the stream, HTTP/2, per-message compression): only
    /// the WebSocket writes frames.
    /// </summary>
    Opaque,

    /// <summary>
    /// The plain byte stream of the server side of an HTTP/1.1 WebSocket without extensions: message frames may be
    /// written straight into it, unmasked (RFC 6455 section 5.1).
    /// </summary>
    WebSocketServer,

    /// <summary>
    /// The plain byte stream of the client side of an HTTP/1.1 WebSocket without extensions (<c>ws://</c>): message
    /// frames may be written straight into it, each masked with a fresh random key (RFC 6455 section 5.3).
    /// </summary>
    WebSocketClient,
}

/// <summary>
/// Wraps the transport under a <see cref="System.Net.WebSockets.WebSocket"/> so that the packets of one message
/// (a header packet and its data packets, each its own WebSocket frame) leave in one write instead of one write
/// per frame. <see cref="WebSocketMessageChannel"/> opens a batch before writing a message and ends it after;
/// anything else written meanwhile (a ping or pong from the WebSocket itself) joins the batch in order.
/// </summary>
/// <remarks>
/// <para>
/// Outside a batch every call passes straight through. Writes are serialized by an internal lock, so a frame the
/// WebSocket writes on its own (keep-alive, pong, close) never overlaps the write that ends a batch. A batch
/// holds at most <see cref="MaxBatchBytes"/>; a write that does not fit flushes what is held and goes through.
/// </para>
/// <para>
/// Why: on loopback and in containers most of the cost of a small request is per write (a system call, a TCP
/// segment, a wake-up of the peer), and the MeshAgent framing doubles the writes compared with one HTTP response.
/// The buffer is rented only while a batch holds data and zeroed before it is returned, since frames carry
/// secret values.
/// </para>
/// <para>
/// With a <see cref="Framing"/> that says the stream is a WebSocket's plain byte stream, the channel goes one step
/// further and frames its messages straight into the batch (<c>WriteMessageFramesAsync</c>): the WebSocket's own
/// send path copies each frame once more and, on a client, draws every 4-byte mask key from the system CSPRNG
/// separately (about 0.75 µs a draw measured here, two draws per request). Keys come from a pooled CSPRNG draw
/// instead, as the Node.js <c>ws</c> library does. The WebSocket still reads, and still writes its control frames.
/// </para>
/// </remarks>
public sealed class BatchingTransportStream : Stream
{
    /// <summary>The most bytes a batch holds before writes go through.</summary>
    public const int MaxBatchBytes = 64 * 1024;

    private const int InitialBatchBytes = 4 * 1024;

    /// <summary>The largest WebSocket frame header: 2 bytes, an 8-byte extended length, a 4-byte mask key.</summary>
    private const int MaxFrameHeaderBytes = 14;

    /// <summary>Mask keys drawn from the system CSPRNG at once (a 4-byte draw costs about as much as a 256-byte one).</summary>
    private const int MaskPoolBytes = 256;

    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _abort = new();
    private byte[]? _buffer;
    private int _buffered;
    private bool _batching;
    private byte[]? _maskPool;
    private int _maskPoolUsed = MaskPoolBytes;

    /// <summary>Wraps <paramref name="inner"/>, which must support writing.</summary>
    /// <param name="inner">The transport (a network stream, an upgraded HTTP connection, a TLS stream).</param>
    /// <param name="leaveOpen">Whether disposing this stream leaves <paramref name="inner"/> open.</param>
    public BatchingTransportStream(Stream inner, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (!inner.CanWrite)
        {
            throw new ArgumentException("The inner stream must support writing.", nameof(inner));
        }

        _inner = inner;
        _leaveOpen = leaveOpen;
    }

    /// <summary>
    /// What this stream carries (default <see cref="TransportFraming.Opaque"/>). When it is the plain stream of a
    /// WebSocket, <see cref="WebSocketMessageChannel"/> writes each message's frames straight into the batch
    /// instead of through the WebSocket: one copy instead of two and, on a client, masks from a pooled CSPRNG draw
    /// instead of one CSPRNG call per frame. Only set it when nothing transforms the bytes between the WebSocket
    /// and this stream.
    /// </summary>
    public TransportFraming Framing { get; init; }

    /// <inheritdoc />
    public override bool CanRead => _inner.CanRead;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>
    /// Cancels writes in progress and makes later ones fail: the WebSocket writes frames without a cancellable
    /// token, so this is how a write stuck on a peer that stopped reading is ended when the connection is dropped.
    /// </summary>
    internal void AbortWrites()
    {
        try
        {
            _abort.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already disposed: nothing is being written.
        }
    }

    /// <summary>Starts holding writes until <see cref="EndBatchAsync"/>. Batches do not nest.</summary>
    internal void BeginBatch() => Volatile.Write(ref _batching, true);

    /// <summary>Writes what the batch holds in one write and stops holding writes.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    internal async ValueTask EndBatchAsync(CancellationToken cancellationToken)
    {
        cancellationToken = OrAbort(cancellationToken);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Volatile.Write(ref _batching, false);
            await FlushBufferAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc />
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken = OrAbort(cancellationToken);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Volatile.Read(ref _batching))
            {
                if (_buffered + buffer.Length <= MaxBatchBytes)
                {
                    EnsureCapacity(_buffered + buffer.Length);
                    buffer.Span.CopyTo(_buffer.AsSpan(_buffered));
                    _buffered += buffer.Length;
                    return;
                }

                await FlushBufferAsync(cancellationToken).ConfigureAwait(false);
            }

            await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <inheritdoc />
    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Inside a batch the end of the batch is the flush.
            if (!Volatile.Read(ref _batching))
            {
                await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc />
    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc />
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _inner.ReadAsync(buffer, offset, count, cancellationToken);

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>
    /// Writes the packets of one message as binary WebSocket frames (one packet per frame, FIN set, masked on a
    /// client) into the current batch, or straight through when no batch is open. Needs a
    /// <see cref="Framing"/> other than <see cref="TransportFraming.Opaque"/>. Frames are whole when the lock is
    /// released, so a control frame the WebSocket writes itself lands between two frames, never inside one.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    internal async ValueTask WriteMessageFramesAsync(ulong id, byte[] typeUtf8, ReadOnlyMemory<byte> data, int chunkSize, CancellationToken cancellationToken)
    {
        if (Framing == TransportFraming.Opaque)
        {
            throw new InvalidOperationException("The stream's framing is opaque; only the WebSocket may write frames.");
        }

        cancellationToken = OrAbort(cancellationToken);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var count = FrameEncoder.GetDataPacketCount(data.Length, chunkSize);
            for (var index = 0; index <= count; index++)
            {
                var chunk = index == 0 ? ReadOnlyMemory<byte>.Empty : FrameEncoder.GetChunk(data, index, chunkSize);
                var packetLength = index == 0
                    ? FrameEncoder.HeaderPacketPrefixSize + typeUtf8.Length
                    : FrameEncoder.DataPacketPrefixSize + chunk.Length;
                var frameLength = FrameHeaderLength(packetLength) + packetLength;
                if (_buffered > 0 && _buffered + frameLength > MaxBatchBytes)
                {
                    await FlushBufferAsync(cancellationToken).ConfigureAwait(false);
                }

                if (frameLength <= MaxBatchBytes)
                {
                    AppendPacketFrame(id, index, count, typeUtf8, chunk.Span, packetLength, frameLength);
                }
                else
                {
                    // Only data packets of a chunk size near or above the batch limit get here (a server's large chunks).
                    await WriteLargeDataFrameAsync(id, index, chunk, packetLength, cancellationToken).ConfigureAwait(false);
                }
            }

            if (!Volatile.Read(ref _batching))
            {
                await FlushBufferAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>XORs <paramref name="payload"/> with the 4-byte <paramref name="key"/>, starting at key position <paramref name="keyOffset"/> (RFC 6455 section 5.3).</summary>
    internal static void ApplyMask(Span<byte> payload, ReadOnlySpan<byte> key, int keyOffset)
    {
        Span<byte> rotated = stackalloc byte[8];
        for (var i = 0; i < 8; i++)
        {
            rotated[i] = key[(keyOffset + i) & 3];
        }

        var key64 = MemoryMarshal.Read<ulong>(rotated);
        var whole = payload.Length & ~7;
        var words = MemoryMarshal.Cast<byte, ulong>(payload[..whole]);
        for (var w = 0; w < words.Length; w++)
        {
            words[w] ^= key64;
        }

        for (var i = whole; i < payload.Length; i++)
        {
            payload[i] ^= rotated[i & 3];
        }
    }

    private bool Masked => Framing == TransportFraming.WebSocketClient;

    /// <summary>
    /// The token a write waits with: the caller's, or when it cannot be cancelled (the WebSocket writes frames with
    /// none) this stream's abort token, so <see cref="AbortWrites"/> ends every kind of write.
    /// </summary>
    private CancellationToken OrAbort(CancellationToken cancellationToken) => cancellationToken.CanBeCanceled ? cancellationToken : _abort.Token;

    private int FrameHeaderLength(int payloadLength) =>
        (payloadLength <= 125 ? 2 : payloadLength <= ushort.MaxValue ? 4 : 10) + (Masked ? 4 : 0);

    /// <summary>Writes a binary, final frame's header and returns its length; <paramref name="maskKey"/> receives the key (empty when unmasked).</summary>
    private int WriteFrameHeader(Span<byte> destination, int payloadLength, out Span<byte> maskKey)
    {
        const byte FinalBinary = 0x80 | 0x2;
        var maskBit = Masked ? (byte)0x80 : (byte)0;
        destination[0] = FinalBinary;
        int length;
        if (payloadLength <= 125)
        {
            destination[1] = (byte)(maskBit | payloadLength);
            length = 2;
        }
        else if (payloadLength <= ushort.MaxValue)
        {
            destination[1] = (byte)(maskBit | 126);
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payloadLength);
            length = 4;
        }
        else
        {
            destination[1] = (byte)(maskBit | 127);
            BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)payloadLength);
            length = 10;
        }

        if (!Masked)
        {
            maskKey = [];
            return length;
        }

        maskKey = destination.Slice(length, 4);
        NextMaskKey(maskKey);
        return length + 4;
    }

    /// <summary>A fresh mask key from a pool refilled from the system CSPRNG (the caller holds the write lock).</summary>
    private void NextMaskKey(Span<byte> destination)
    {
        _maskPool ??= new byte[MaskPoolBytes];
        if (_maskPoolUsed + 4 > MaskPoolBytes)
        {
            RandomNumberGenerator.Fill(_maskPool);
            _maskPoolUsed = 0;
        }

        _maskPool.AsSpan(_maskPoolUsed, 4).CopyTo(destination);
        _maskPoolUsed += 4;
    }

    /// <summary>Appends one packet's whole frame to the batch buffer (it fits: the caller flushed if needed).</summary>
    private void AppendPacketFrame(ulong id, int index, int count, byte[] typeUtf8, ReadOnlySpan<byte> chunk, int packetLength, int frameLength)
    {
        EnsureCapacity(_buffered + frameLength);
        var frame = _buffer.AsSpan(_buffered, frameLength);
        var headerLength = WriteFrameHeader(frame, packetLength, out var maskKey);
        var packet = frame[headerLength..];
        _ = index == 0
            ? FrameEncoder.WriteHeaderPacket(packet, id, typeUtf8, count)
            : FrameEncoder.WriteDataPacket(packet, id, index, chunk);
        if (!maskKey.IsEmpty)
        {
            ApplyMask(packet, maskKey, 0);
        }

        _buffered += frameLength;
    }

    /// <summary>A data packet's frame larger than the batch: written through the buffer in batch-sized pieces.</summary>
    private async ValueTask WriteLargeDataFrameAsync(ulong id, int index, ReadOnlyMemory<byte> chunk, int packetLength, CancellationToken cancellationToken)
    {
        var key = new byte[4];
        EnsureCapacity(_buffered + MaxFrameHeaderBytes + FrameEncoder.DataPacketPrefixSize);
        var start = _buffer.AsSpan(_buffered);
        var headerLength = WriteFrameHeader(start, packetLength, out var maskKey);
        maskKey.CopyTo(key);
        var prefix = start.Slice(headerLength, FrameEncoder.DataPacketPrefixSize);
        FrameEncoder.WriteDataPacket(prefix, id, index, []);
        if (Masked)
        {
            ApplyMask(prefix, key, 0);
        }

        _buffered += headerLength + FrameEncoder.DataPacketPrefixSize;
        var written = 0;
        while (written < chunk.Length)
        {
            if (_buffered == MaxBatchBytes)
            {
                await FlushBufferAsync(cancellationToken).ConfigureAwait(false);
            }

            EnsureCapacity(MaxBatchBytes);
            var piece = Math.Min(chunk.Length - written, MaxBatchBytes - _buffered);
            var target = _buffer.AsSpan(_buffered, piece);
            chunk.Span.Slice(written, piece).CopyTo(target);
            if (Masked)
            {
                ApplyMask(target, key, FrameEncoder.DataPacketPrefixSize + written);
            }

            _buffered += piece;
            written += piece;
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (!_leaveOpen)
            {
                _inner.Dispose();
            }

            AbortWrites();
            _abort.Dispose();

            // A write still in progress holds the lock and the buffer; it fails on the disposed inner stream.
            if (_writeLock.Wait(0))
            {
                ReturnBuffer();
                _writeLock.Release();
            }
        }

        base.Dispose(disposing);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FlushBufferAsync(CancellationToken cancellationToken)
    {
        if (_buffered == 0)
        {
            return;
        }

        try
        {
            await _inner.WriteAsync(_buffer.AsMemory(0, _buffered), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ReturnBuffer();
        }
    }

    /// <summary>
    /// Grows the batch buffer by doubling from <see cref="InitialBatchBytes"/>: most batches are one small reply,
    /// and the pool keeps many more small arrays per thread than 64 KiB ones (a miss there is a fresh array).
    /// </summary>
    private void EnsureCapacity(int needed)
    {
        if (_buffer is { } current && current.Length >= needed)
        {
            return;
        }

        var size = Math.Max(InitialBatchBytes, _buffer?.Length ?? 0);
        while (size < needed)
        {
            size *= 2;
        }

        var grown = ArrayPool<byte>.Shared.Rent(Math.Min(size, MaxBatchBytes));
        if (_buffer is { } old)
        {
            old.AsSpan(0, _buffered).CopyTo(grown);
            CryptographicOperations.ZeroMemory(old.AsSpan(0, _buffered));
            ArrayPool<byte>.Shared.Return(old);
        }

        _buffer = grown;
    }

    private void ReturnBuffer()
    {
        if (_buffer is { } buffer)
        {
            CryptographicOperations.ZeroMemory(buffer.AsSpan(0, _buffered));
            _buffer = null;
            _buffered = 0;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
