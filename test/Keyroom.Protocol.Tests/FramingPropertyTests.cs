using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

namespace Keyroom.Protocol.Tests;

/// <summary>Seeded randomized tests: exact round trips, and robustness against arbitrary bytes.</summary>
public sealed class FramingPropertyTests
{
    private const int Seed = 0x6B65_7972;

    [Fact]
    public void EncodeThenPush_RandomMessagesAndChunkSizes_RoundTripExactly()
    {
        var random = new Random(Seed);
        using var assembler = new MessageAssembler(new MessageAssemblerOptions { MaxPacketsPerMessage = 1 << 20 });
        for (int iteration = 0; iteration < 2500; iteration++)
        {
            var id = RandomId(random);
            var type = RandomType(random);
            var data = new byte[RandomSize(random)];
            random.NextBytes(data);
            var chunkSize = random.Next(4) switch
            {
                0 => FrameEncoder.ClientChunkSize,
                1 => data.Length <= 4096 ? random.Next(1, 64) : random.Next(1024, 4096),
                2 => random.Next(1, 70_000),
                _ => Math.Max(1, data.Length),
            };

            var packets = FrameEncoder.Encode(id, type, data, chunkSize);

            Assert.Equal(FrameEncoder.GetDataPacketCount(data.Length, chunkSize) + 1, packets.Length);
            int completedAt = -1;
            ProtocolMessage? message = null;
            for (int i = 0; i < packets.Length; i++)
            {
                if (assembler.Push(packets[i], out var completed))
                {
                    completedAt = i;
                    message = completed;
                }
            }

            Assert.Equal(packets.Length - 1, completedAt);
            Assert.NotNull(message);
            Assert.Equal(id, message.Id);
            Assert.Equal(type, message.Type);
            Assert.True(data.AsSpan().SequenceEqual(message.Data.Span), $"iteration {iteration}: data differs");
        }
    }

    [Fact(Timeout = 10_000)]
    public async Task Push_RandomGarbagePackets_OnlyProtocolExceptionsOrValidMessages()
    {
        await Task.Yield();
        var cancellationToken = TestContext.Current.CancellationToken;
        var random = new Random(Seed + 1);
        var options = new MessageAssemblerOptions { MaxMessageSize = 64 * 1024, MaxPacketsPerMessage = 64, MaxTypeLength = 32 };
        using var assembler = new MessageAssembler(options);
        var stopwatch = Stopwatch.StartNew();
        int rejected = 0, accepted = 0;
        for (int iteration = 0; iteration < 5000; iteration++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var packet in GarbageSequence(random))
            {
                try
                {
                    if (assembler.Push(packet, out var message))
                    {
                        accepted++;
                        Assert.True(message.Id <= FrameEncoder.MaxMessageId);
                        Assert.True(message.Data.Length <= options.MaxMessageSize);
                        Assert.True(Encoding.UTF8.GetByteCount(message.Type) <= options.MaxTypeLength);
                    }
                }
                catch (ProtocolException)
                {
                    rejected++;
                    Assert.False(assembler.IsMessageInProgress);
                }
            }
        }

        Assert.True(rejected > 1000, $"only {rejected} rejections");
        Assert.True(accepted > 100, $"only {accepted} messages accepted");
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"took {stopwatch.Elapsed}");
    }

    [Fact(Timeout = 10_000)]
    public async Task Decode_RandomGarbageEnvelopes_OnlyProtocolExceptionsOrValidContent()
    {
        await Task.Yield();
        var cancellationToken = TestContext.Current.CancellationToken;
        var random = new Random(Seed + 2);
        var valid = new[]
        {
            new JsonContent(new JsonObject { ["exists"] = true, ["n"] = new JsonArray(1, 2.5, "x", null) }).Encode(),
            new BinaryContent("hunter2"u8.ToArray(), new JsonObject { ["request_id"] = "r1", ["error"] = null }).Encode(),
            new FileContent("abc"u8.ToArray(), "n", "text/plain").Encode(),
            new ErrorContent("e", 1003).Encode(),
            ControlContent.Close(1007, "m").Encode(),
            new LinkContent("n", "u").Encode(),
            new TextContent("t").Encode(),
            new InvokeToolRequest("secrets", "provide_secret", new BinaryContent("s"u8.ToArray(), new JsonObject { ["request_id"] = "r" })) { ToolCallId = "c" }.Encode(),
        };
        int rejected = 0, accepted = 0;
        for (int iteration = 0; iteration < 5000; iteration++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var bytes = Mutate(random, valid[random.Next(valid.Length)]);
            try
            {
                if (random.Next(2) == 0)
                {
                    _ = Content.Decode(bytes).Encode();
                }
                else
                {
                    _ = InvokeToolRequest.Decode(bytes).Encode();
                }

                accepted++;
            }
            catch (ProtocolException)
            {
                rejected++;
            }
        }

        Assert.True(rejected > 1000, $"only {rejected} rejections");
        Assert.True(accepted > 100, $"only {accepted} accepted");
    }

    /// <summary>A short run of packets: valid messages, random bytes, truncations, bit flips, reorderings.</summary>
    private static IEnumerable<byte[]> GarbageSequence(Random random)
    {
        var packets = FrameEncoder.Encode(RandomId(random), RandomType(random, maxLength: 40), RandomBytes(random, random.Next(0, 5000)), random.Next(1, 2048));
        switch (random.Next(7))
        {
            case 0:
                return [RandomBytes(random, random.Next(0, 64))];
            case 1:
                return packets;
            case 2:
                return packets.Select(p => random.Next(3) == 0 ? p[..random.Next(p.Length + 1)] : p);
            case 3:
                return packets.Select(p => random.Next(3) == 0 ? FlipBit(random, p) : p);
            case 4:
                return packets.OrderBy(_ => random.Next());
            case 5:
                return packets.Where(_ => random.Next(4) != 0);
            default:
                var other = FrameEncoder.Encode(RandomId(random), "x", RandomBytes(random, random.Next(0, 3000)), 512);
                return packets.Zip(other, (a, b) => new[] { a, b }).SelectMany(pair => pair);
        }
    }

    private static byte[] Mutate(Random random, byte[] valid)
    {
        var bytes = (byte[])valid.Clone();
        switch (random.Next(5))
        {
            case 0:
                return RandomBytes(random, random.Next(0, 80));
            case 1:
                return bytes[..random.Next(bytes.Length + 1)];
            case 2:
                for (int flips = random.Next(1, 4); flips > 0; flips--)
                {
                    bytes = FlipBit(random, bytes);
                }

                return bytes;
            case 3:
                // Damage only the JSON header, leaving the length prefix intact.
                bytes[random.Next(8, bytes.Length)] = (byte)random.Next(256);
                return bytes;
            default:
                return bytes;
        }
    }

    private static byte[] FlipBit(Random random, byte[] packet)
    {
        if (packet.Length == 0)
        {
            return packet;
        }

        var copy = (byte[])packet.Clone();
        copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
        return copy;
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static ulong RandomId(Random random) => random.Next(3) switch
    {
        0 => (ulong)random.Next(0, 100),
        1 => (ulong)random.NextInt64(0, (long)FrameEncoder.MaxMessageId + 1),
        _ => FrameEncoder.MaxMessageId - (ulong)random.Next(0, 3),
    };

    private static int RandomSize(Random random) => random.Next(10) switch
    {
        < 4 => random.Next(0, 64),
        < 8 => random.Next(0, 4096),
        _ => random.Next(0, 200_000),
    };

    private static string RandomType(Random random, int maxLength = 60)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz._-_0123456789éß✓中";
        var builder = new StringBuilder();
        int length = random.Next(0, maxLength / 2);
        for (int i = 0; i < length; i++)
        {
            builder.Append(alphabet[random.Next(alphabet.Length)]);
        }

        if (random.Next(10) == 0)
        {
            builder.Append("😀");
        }

        return builder.ToString();
    }
}
