using System.Security.Cryptography;
using System.Text;

namespace Keyroom.Core.Crypto;

/// <summary>
/// A 256-bit master key. It never encrypts data itself: it derives the key-encryption key (KEK) that wraps
/// per-secret data keys, and a key id that doubles as the key check value stored beside the data.
/// </summary>
public sealed class MasterKey : IDisposable
{
    /// <summary>Master keys are exactly this many bytes.</summary>
    public const int Length = 32;

    private static readonly byte[] KekInfo = Encoding.ASCII.GetBytes("keyroom/kek/v1");
    private static readonly byte[] KeyIdInfo = Encoding.ASCII.GetBytes("keyroom/key-id/v1");
    private static readonly byte[] AuditInfo = Encoding.ASCII.GetBytes("keyroom/audit-mac/v1");

    private readonly byte[] _kek;

    private MasterKey(ReadOnlySpan<byte> material)
    {
        if (material.Length != Length)
        {
            throw new KeyroomException(KeyroomError.InvalidRequest, $"a master key must be {Length} bytes, got {material.Length}");
        }

        _kek = HKDF.DeriveKey(HashAlgorithmName.SHA256, material.ToArray(), 32, salt: [], info: KekInfo);
        var id = HKDF.DeriveKey(HashAlgorithmName.SHA256, material.ToArray(), 8, salt: [], info: KeyIdInfo);
        KeyId = Convert.ToHexStringLower(id);
    }

    /// <summary>
    /// A short public fingerprint of the key (16 hex characters). Stored with every ciphertext, so the
    /// right key is found on decrypt and a wrong key is refused before any decrypt is attempted.
    /// </summary>
    public string KeyId { get; }

    internal ReadOnlySpan<byte> Kek => _kek;

    /// <summary>Creates a key from raw bytes (copied).</summary>
    public static MasterKey FromBytes(ReadOnlySpan<byte> material) => new(material);

    /// <summary>Parses the text form: standard base64 of 32 bytes.</summary>
    public static MasterKey Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bytes = new byte[Length];
        if (!Convert.TryFromBase64String(text.Trim(), bytes, out var written) || written != Length)
        {
            throw new KeyroomException(KeyroomError.InvalidRequest, "a master key must be standard base64 of 32 random bytes");
        }

        try
        {
            return new MasterKey(bytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>Generates a new random key and returns it with its text form (shown or written once).</summary>
    public static (MasterKey Key, string Text) Generate()
    {
        var bytes = RandomNumberGenerator.GetBytes(Length);
        try
        {
            return (new MasterKey(bytes), Convert.ToBase64String(bytes));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>Derives the key for the audit chain's MAC. Audit entries stay verifiable only with this key.</summary>
    internal byte[] DeriveAuditKey() => HKDF.DeriveKey(HashAlgorithmName.SHA256, _kek, 32, salt: [], info: AuditInfo);

    /// <inheritdoc />
    public void Dispose() => CryptographicOperations.ZeroMemory(_kek);
}
