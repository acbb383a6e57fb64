using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Keyroom.Core.Audit;

namespace Keyroom.Core.Tests;

public sealed class AuditMacLayoutTests
{
    [Theory]
    [InlineData(700)]
    [InlineData(3000)] // laid out in a rented buffer instead of on the stack
    public void Link_Mac_IsHmacOverTheDocumentedLayout(int targetLength)
    {
        // previous MAC | sequence (int64 BE) | unix ms (int64 BE) | 5 × (int32 BE length | UTF-8 field)
        var key = RandomNumberGenerator.GetBytes(32);
        var previous = RandomNumberGenerator.GetBytes(32);
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_123);
        var e = new AuditEvent("project-ü", "key:1", "secret.read", new string('t', targetLength), "ok");

        using var expected = new MemoryStream();
        expected.Write(previous);
        Span<byte> number = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(number, 42);
        expected.Write(number);
        BinaryPrimitives.WriteInt64BigEndian(number, at.ToUnixTimeMilliseconds());
        expected.Write(number);
        foreach (var field in new[] { e.ProjectId, e.Actor, e.Action, e.Target, e.Outcome })
        {
            var bytes = Encoding.UTF8.GetBytes(field);
            BinaryPrimitives.WriteInt32BigEndian(number, bytes.Length);
            expected.Write(number[..4]);
            expected.Write(bytes);
        }

        var record = new AuditChain(key).Link(42, at, e, previous);

        Assert.Equal(HMACSHA256.HashData(key, expected.ToArray()), record.Mac);
    }
}
