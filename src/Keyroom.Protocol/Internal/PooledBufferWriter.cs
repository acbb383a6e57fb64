using System.Buffers;

namespace Keyroom.Protocol.Internal;

/// <summary>
/// A growable <see cref="IBufferWriter{T}"/> over arrays rented from <see cref="ArrayPool{T}.Shared"/>.
/// Not thread-safe. <see cref="Dispose"/> (or <see cref="Release"/>) returns the array to the pool; any
/// span or memory handed out before that must no longer be used.
/// </summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private const int MinimumGrowth = 256;

    private byte[] _buffer = [];
    private int _written;

    // The most bytes written into the current array: they are zeroed before it goes back to the shared pool,
    // since packets carry secret values.
    private int _highWater;

    /// <summary>The bytes written so far.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    /// <summary>The bytes written so far.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    /// <summary>How many bytes have been written.</summary>
    public int WrittenCount => _written;

    /// <summary>The size of the current backing array.</summary>
    public int Capacity => _buffer.Length;

    /// <summary>Forgets the written bytes but keeps the backing array.</summary>
    public void Clear() => _written = 0;

    /// <summary>Forgets the written bytes and returns the backing array to the pool.</summary>
    public void Release()
    {
        var buffer = _buffer;
        var used = Math.Max(_highWater, _written);
        _buffer = [];
        _written = 0;
        _highWater = 0;
        if (buffer.Length > 0)
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(buffer.AsSpan(0, used));
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <inheritdoc />
    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > _buffer.Length - _written)
        {
            throw new InvalidOperationException("Cannot advance past the end of the buffer.");
        }

        _written += count;
        if (_written > _highWater)
        {
            _highWater = _written;
        }
    }

    /// <inheritdoc />
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        EnsureFree(sizeHint);
        return _buffer.AsMemory(_written);
    }

    /// <inheritdoc />
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        EnsureFree(sizeHint);
        return _buffer.AsSpan(_written);
    }

    /// <inheritdoc />
    public void Dispose() => Release();

    private void EnsureFree(int sizeHint)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sizeHint);
        if (sizeHint == 0)
        {
            sizeHint = 1;
        }

        if (_buffer.Length - _written >= sizeHint)
        {
            return;
        }

        long needed = (long)_written + sizeHint;
        long doubled = Math.Max((long)_buffer.Length * 2, MinimumGrowth);
        long size = Math.Min(Math.Max(needed, doubled), Array.MaxLength);
        if (size < needed)
        {
            throw new InvalidOperationException("The buffer cannot grow beyond the maximum array length.");
        }

        var grown = ArrayPool<byte>.Shared.Rent((int)size);
        _buffer.AsSpan(0, _written).CopyTo(grown);
        var old = _buffer;
        var used = Math.Max(_highWater, _written);
        _buffer = grown;
        _highWater = _written;
        if (old.Length > 0)
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(old.AsSpan(0, used));
            ArrayPool<byte>.Shared.Return(old);
        }
    }
}
