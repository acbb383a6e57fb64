using System.Collections.Concurrent;
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

    // AES-GCM instances keyed with the KEK, reused: creating one (a native context plus the key schedule) costs
    // about twice the unwrap it is used for, on every secret read and write. An instance is not thread-safe, so
    // each caller rents one. They hold the KEK in native memory, as this object holds it in managed memory, and
    // are freed (which cleanses the key schedule) when this key is disposed.
    private readonly ConcurrentQueue<AesGcm> _kekCiphers = new();
    private readonly int _maxPooledCiphers = Math.Max(4, Environment.ProcessorCount * 2);
    private int _pooledCiphers;
    private volatile bool _disposed;

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

    /// <summary>An AES-GCM instance keyed with the KEK (the envelope's tag size), for one operation; give it back with <see cref="ReturnKekCipher"/>.</summary>
    internal AesGcm RentKekCipher()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_kekCiphers.TryDequeue(out var cipher))
        {
            Interlocked.Decrement(ref _pooledCiphers);
            return cipher;
        }

        return new AesGcm(_kek, EnvelopeCipher.TagSize);
    }

    /// <summary>Takes back an instance from <see cref="RentKekCipher"/> (disposing it when the pool is full or the key is gone).</summary>
    internal void ReturnKekCipher(AesGcm cipher)
    {
        if (!_disposed && Interlocked.Increment(ref _pooledCiphers) <= _maxPooledCiphers)
        {
            _kekCiphers.Enqueue(cipher);
            if (!_disposed)
            {
                return;
            }

            // Disposed meanwhile: Dispose may have drained the pool before this instance went in.
            DrainCiphers();
            return;
        }

        Interlocked.Decrement(ref _pooledCiphers);
        cipher.Dispose();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_kek);
        DrainCiphers();
    }

    private void DrainCiphers()
    {
        while (_kekCiphers.TryDequeue(out var cipher))
        {
            Interlocked.Decrement(ref _pooledCiphers);
            cipher.Dispose();
        }
    }
}
