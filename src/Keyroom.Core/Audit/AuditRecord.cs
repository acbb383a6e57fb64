using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Keyroom.Core.Audit;

/// <summary>What happened, without any value: who did what to which thing, and how it ended.</summary>
/// <param name="ProjectId">The project ("" when unknown, e.g. a failed authentication).</param>
/// <param name="Actor">Who: "key:&lt;id&gt;", "token:&lt;identity&gt;", or "anonymous".</param>
/// <param name="Action">What: e.g. "secret.read", "secret.write", "auth.failure".</param>
/// <param name="Target">Which: e.g. "project/secret/&lt;id&gt;".</param>
/// <param name="Outcome">"ok", "denied", "not_found", "invalid", "error".</param>
public sealed record AuditEvent(string ProjectId, string Actor, string Action, string Target, string Outcome);

/// <summary>A stored audit entry: the event, its time and position, and its link in the MAC chain.</summary>
/// <param name="Sequence">1-based position.</param>
/// <param name="At">When it happened.</param>
/// <param name="Event">The event.</param>
/// <param name="PreviousMac">The MAC of the previous entry (32 zero bytes for the first).</param>
/// <param name="Mac">HMAC-SHA256 over the previous MAC and this entry's fields.</param>
public sealed record AuditRecord(long Sequence, DateTimeOffset At, AuditEvent Event, byte[] PreviousMac, byte[] Mac);

/// <summary>The chain's head as last committed: the highest sequence and its MAC (0 and zeros when empty).</summary>
/// <param name="Sequence">The last sequence written.</param>
/// <param name="Mac">That entry's MAC.</param>
public readonly record struct AuditHead(long Sequence, byte[] Mac);

/// <summary>
/// Computes and checks the audit chain. Each entry's MAC covers the previous entry's MAC, so editing,
/// reordering, inserting or deleting an entry breaks every later link. The MAC key is a random key kept
/// sealed under the master key, so someone with write access to the database alone cannot re-forge the chain.
/// </summary>
public sealed class AuditChain
{
    private const int MacSize = 32;
    private static readonly byte[] HeadMagic = Encoding.ASCII.GetBytes("keyroom/audit-head/v1");
    private static readonly byte[] HeadKeyInfo = Encoding.ASCII.GetBytes("keyroom/audit-head-key/v1");
    private static readonly int HeadSize = HeadMagic.Length + 8 + MacSize + MacSize;

    private readonly byte[] _key;

    /// <summary>Creates a chain with its MAC key.</summary>
    public AuditChain(byte[] macKey)
    {
        _key = macKey ?? throw new ArgumentNullException(nameof(macKey));
    }

    /// <summary>The MAC of the link before the first entry.</summary>
    public static byte[] Genesis => new byte[32];

    /// <summary>Builds the next record after <paramref name="previousMac"/>.</summary>
    public AuditRecord Link(long sequence, DateTimeOffset at, AuditEvent auditEvent, byte[] previousMac) =>
        new(sequence, at, auditEvent, previousMac, ComputeMac(sequence, at, auditEvent, previousMac));

    /// <summary>Checks one record's MAC.</summary>
    public bool IsValid(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var expected = ComputeMac(record.Sequence, record.At, record.Event, record.PreviousMac);
        return CryptographicOperations.FixedTimeEquals(expected, record.Mac);
    }

    /// <summary>
    /// Seals the chain's head (the last sequence and its MAC) so a store can keep it beside the entries. It is
    /// MAC'd with a key derived from the chain key, so it cannot be rewritten to match a truncated chain
    /// without that key.
    /// </summary>
    public byte[] SealHead(long sequence, byte[] lastMac)
    {
        ArgumentNullException.ThrowIfNull(lastMac);
        if (lastMac.Length != MacSize || sequence < 0)
        {
            throw new ArgumentException("a head needs a non-negative sequence and a 32-byte MAC");
        }

        var head = new byte[HeadSize];
        HeadMagic.CopyTo(head, 0);
        BinaryPrimitives.WriteInt64BigEndian(head.AsSpan(HeadMagic.Length), sequence);
        lastMac.CopyTo(head, HeadMagic.Length + 8);
        HMACSHA256.HashData(HeadKey(), head.AsSpan(0, HeadSize - MacSize), head.AsSpan(HeadSize - MacSize));
        return head;
    }

    /// <summary>Opens a sealed head; false when it is malformed or its MAC does not verify.</summary>
    public bool TryOpenHead(ReadOnlySpan<byte> head, out AuditHead result)
    {
        result = default;
        if (head.Length != HeadSize || !head[..HeadMagic.Length].SequenceEqual(HeadMagic))
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[MacSize];
        HMACSHA256.HashData(HeadKey(), head[..(HeadSize - MacSize)], expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, head[(HeadSize - MacSize)..]))
        {
            return false;
        }

        result = new AuditHead(BinaryPrimitives.ReadInt64BigEndian(head[HeadMagic.Length..]), head.Slice(HeadMagic.Length + 8, MacSize).ToArray());
        return true;
    }

    private byte[] HeadKey() => HMACSHA256.HashData(_key, HeadKeyInfo);

    private byte[] ComputeMac(long sequence, DateTimeOffset at, AuditEvent e, byte[] previousMac)
    {
        // The bytes: previous MAC, sequence, time, then each field as a length-prefixed UTF-8 string. They are
        // laid out in one buffer and MAC'd in one call: an incremental HMAC costs a native call per piece (13 here)
        // plus a fresh context, about 3.5 µs against 1.5 µs for the one-shot, on every audited request.
        var length = previousMac.Length + 16 + FieldLength(e.ProjectId) + FieldLength(e.Actor) + FieldLength(e.Action) + FieldLength(e.Target) + FieldLength(e.Outcome);
        byte[]? rented = null;
        var buffer = length <= 1024 ? stackalloc byte[length] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(length)).AsSpan(0, length);
        try
        {
            previousMac.CopyTo(buffer);
            var offset = previousMac.Length;
            BinaryPrimitives.WriteInt64BigEndian(buffer[offset..], sequence);
            BinaryPrimitives.WriteInt64BigEndian(buffer[(offset + 8)..], at.ToUnixTimeMilliseconds());
            offset += 16;
            offset = WriteField(buffer, offset, e.ProjectId);
            offset = WriteField(buffer, offset, e.Actor);
            offset = WriteField(buffer, offset, e.Action);
            offset = WriteField(buffer, offset, e.Target);
            WriteField(buffer, offset, e.Outcome);
            return HMACSHA256.HashData(_key, buffer);
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static int FieldLength(string field) => 4 + Encoding.UTF8.GetByteCount(field);

    private static int WriteField(Span<byte> buffer, int offset, string field)
    {
        var written = Encoding.UTF8.GetBytes(field, buffer[(offset + 4)..]);
        BinaryPrimitives.WriteInt32BigEndian(buffer[offset..], written);
        return offset + 4 + written;
    }
}
