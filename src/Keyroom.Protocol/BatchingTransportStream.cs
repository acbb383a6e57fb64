using System.Buffers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace Keyroom.Protocol;

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
/// </remarks>
public sealed class BatchingTransportStream : Stream
{
    /// <summary>The most bytes a batch holds before writes go through.</summary>
    public const int MaxBatchBytes = 64 * 1024;

    private const int InitialBatchBytes = 4 * 1024;

    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _abort = new();
    private byte[]? _buffer;
    private int _buffered;
    private bool _batching;

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
        if (!cancellationToken.CanBeCanceled)
        {
            cancellationToken = _abort.Token;
        }

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
