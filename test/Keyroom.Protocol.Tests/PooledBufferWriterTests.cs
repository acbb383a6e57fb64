using System.Runtime.InteropServices;
using Keyroom.Protocol.Internal;

namespace Keyroom.Protocol.Tests;

public sealed class PooledBufferWriterTests
{
    [Fact]
    public void Release_AfterWrites_ZeroesEveryUsedByteBeforeReturningTheArray()
    {
        var writer = new PooledBufferWriter();
        Fill(writer, 300, 0xAB);
        writer.Clear();
        Fill(writer, 10, 0xCD);
        Assert.True(MemoryMarshal.TryGetArray<byte>(writer.GetMemory(1), out var segment));
        var array = segment.Array!;

        writer.Release();

        // The first write reached further than the last one: all of it is zeroed.
        Assert.All(array.AsSpan(0, 300).ToArray(), b => Assert.Equal(0, b));
    }

    [Fact]
    public void GetMemory_Grows_OldArrayZeroedAndDataKept()
    {
        var writer = new PooledBufferWriter();
        Fill(writer, 200, 0x5A);
        Assert.True(MemoryMarshal.TryGetArray<byte>(writer.GetMemory(1), out var before));
        var old = before.Array!;

        writer.GetMemory(old.Length * 2);

        Assert.All(old.AsSpan(0, 200).ToArray(), b => Assert.Equal(0, b));
        Assert.All(writer.WrittenSpan.ToArray(), b => Assert.Equal(0x5A, b));
        Assert.Equal(200, writer.WrittenCount);
        writer.Dispose();
    }

    private static void Fill(PooledBufferWriter writer, int count, byte value)
    {
        writer.GetSpan(count)[..count].Fill(value);
        writer.Advance(count);
    }
}
