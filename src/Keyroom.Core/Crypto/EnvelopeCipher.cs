using System.Security.Cryptography;
using System.Text;

namespace Keyroom.Core.Crypto;

/// <summary>
/// Envelope encryption with AES-256-GCM. Each sealed value gets a fresh random data key (DEK); the DEK is
/// wrapped by the key-encryption key of the active master key. Both layers authenticate the same
/// associated data, so a blob moved to another row, or edited, fails to open.
/// </summary>
/// <remarks>
/// Blob format, version 1 (all offsets in bytes):
/// <code>
/// 0      2  magic "KR"
/// 2      1  format version (1)
/// 3      1  key id length L (1..32)
/// 4      L  master key id (ASCII)
/// 4+L   12  wrap nonce
///       32  wrapped DEK
///       16  wrap tag
///       12  data nonce
///       16  data tag
///        n  ciphertext
/// </code>
/// Rotation rewrites only the wrap part; the data nonce, tag and ciphertext are copied unchanged, so a
/// value is never decrypted to re-key it.
/// </remarks>
public sealed class EnvelopeCipher
{
    private const byte FormatVersion = 1;
    private const int NonceSize = 12;
    internal const int TagSize = 16;
    private const int DekSize = 32;
    private const int WrapSize = NonceSize + DekSize + TagSize;
    private static readonly byte[] WrapDomain = Encoding.ASCII.GetBytes("keyroom/dek-wrap/v1|");

    private readonly Keyring _keyring;

    /// <summary>Creates a cipher over a keyring.</summary>
    public EnvelopeCipher(Keyring keyring)
    {
        _keyring = keyring ?? throw new ArgumentNullException(nameof(keyring));
    }

    /// <summary>The keyring in use.</summary>
    public Keyring Keyring => _keyring;

    /// <summary>Encrypts a value bound to its associated data.</summary>
    public byte[] Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        var key = _keyring.Active;
        var keyId = Encoding.ASCII.GetBytes(key.KeyId);
        var headerSize = 4 + keyId.Length;
        var blob = new byte[headerSize + WrapSize + NonceSize + TagSize + plaintext.Length];
        WriteHeader(blob, keyId);

        Span<byte> dek = stackalloc byte[DekSize];
        RandomNumberGenerator.Fill(dek);
        try
        {
            Wrap(key, dek, associatedData, blob.AsSpan(headerSize, WrapSize));

            var data = blob.AsSpan(headerSize + WrapSize);
            var nonce = data[..NonceSize];
            var tag = data.Slice(NonceSize, TagSize);
            var ciphertext = data[(NonceSize + TagSize)..];
            RandomNumberGenerator.Fill(nonce);
            using var gcm = new AesGcm(dek, TagSize);
            gcm.Encrypt(nonce, plaintext, ciphertext, tag, associatedData);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dek);
        }

        return blob;
    }

    /// <summary>Decrypts a blob; throws <see cref="KeyroomError.IntegrityFailure"/> if it does not open.</summary>
    public byte[] Open(ReadOnlySpan<byte> blob, ReadOnlySpan<byte> associatedData)
    {
        var (key, headerSize) = ReadHeader(blob);
        if (blob.Length < headerSize + WrapSize + NonceSize + TagSize)
        {
            throw Corrupt();
        }

        Span<byte> dek = stackalloc byte[DekSize];
        try
        {
            Unwrap(key, blob.Slice(headerSize, WrapSize), associatedData, dek);
            var data = blob[(headerSize + WrapSize)..];
            var plaintext = new byte[data.Length - NonceSize - TagSize];
            using var gcm = new AesGcm(dek, TagSize);
            try
            {
                gcm.Decrypt(data[..NonceSize], data[(NonceSize + TagSize)..], data.Slice(NonceSize, TagSize), plaintext, associatedData);
            }
            catch (AuthenticationTagMismatchException ex)
            {
                throw new KeyroomException(KeyroomError.IntegrityFailure, "a stored value failed its integrity check (tampered, moved or corrupt)", ex);
            }

            return plaintext;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dek);
        }
    }

    /// <summary>The id of the master key that sealed a blob.</summary>
    public static string ReadKeyId(ReadOnlySpan<byte> blob)
    {
        if (blob.Length < 4 || blob[0] != (byte)'K' || blob[1] != (byte)'R' || blob[2] != FormatVersion)
        {
            throw Corrupt();
        }

        var length = blob[3];
        if (length is 0 or > 32 || blob.Length < 4 + length)
        {
            throw Corrupt();
        }

        return Encoding.ASCII.GetString(blob.Slice(4, length));
    }

    /// <summary>
    /// Re-wraps a blob's data key under the active master key. Returns null when it is already under the
    /// active key. The value itself is never decrypted.
    /// </summary>
    public byte[]? Rewrap(ReadOnlySpan<byte> blob, ReadOnlySpan<byte> associatedData)
    {
        var (oldKey, oldHeaderSize) = ReadHeader(blob);
        var active = _keyring.Active;
        if (ReferenceEquals(oldKey, active))
        {
            return null;
        }

        if (blob.Length < oldHeaderSize + WrapSize + NonceSize + TagSize)
        {
            throw Corrupt();
        }

        var keyId = Encoding.ASCII.GetBytes(active.KeyId);
        var headerSize = 4 + keyId.Length;
        var rest = blob[(oldHeaderSize + WrapSize)..];
        var result = new byte[headerSize + WrapSize + rest.Length];
        WriteHeader(result, keyId);
        Span<byte> dek = stackalloc byte[DekSize];
        try
        {
            Unwrap(oldKey, blob.Slice(oldHeaderSize, WrapSize), associatedData, dek);
            Wrap(active, dek, associatedData, result.AsSpan(headerSize, WrapSize));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dek);
        }

        rest.CopyTo(result.AsSpan(headerSize + WrapSize));
        return result;
    }

    private static void WriteHeader(byte[] blob, byte[] keyId)
    {
        blob[0] = (byte)'K';
        blob[1] = (byte)'R';
        blob[2] = FormatVersion;
        blob[3] = (byte)keyId.Length;
        keyId.CopyTo(blob, 4);
    }

    private (MasterKey Key, int HeaderSize) ReadHeader(ReadOnlySpan<byte> blob)
    {
        var keyId = ReadKeyId(blob);
        if (!_keyring.TryGet(keyId, out var key))
        {
            throw new KeyroomException(
                KeyroomError.IntegrityFailure,
                $"a stored value was sealed with master key id {keyId}, which this server does not hold");
        }

        return (key, 4 + keyId.Length);
    }

    private static void Wrap(MasterKey key, ReadOnlySpan<byte> dek, ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        var nonce = destination[..NonceSize];
        RandomNumberGenerator.Fill(nonce);
        var wrapAad = WrapAad(associatedData);
        var gcm = key.RentKekCipher();
        try
        {
            gcm.Encrypt(nonce, dek, destination.Slice(NonceSize, DekSize), destination.Slice(NonceSize + DekSize, TagSize), wrapAad);
        }
        finally
        {
            key.ReturnKekCipher(gcm);
        }
    }

    private static void Unwrap(MasterKey key, ReadOnlySpan<byte> wrapped, ReadOnlySpan<byte> associatedData, Span<byte> dek)
    {
        var wrapAad = WrapAad(associatedData);
        var gcm = key.RentKekCipher();
        try
        {
            gcm.Decrypt(wrapped[..NonceSize], wrapped.Slice(NonceSize, DekSize), wrapped.Slice(NonceSize + DekSize, TagSize), dek, wrapAad);
        }
        catch (AuthenticationTagMismatchException ex)
        {
            throw new KeyroomException(KeyroomError.IntegrityFailure, "a stored value failed its integrity check (tampered, moved or corrupt)", ex);
        }
        finally
        {
            key.ReturnKekCipher(gcm);
        }
    }

    private static byte[] WrapAad(ReadOnlySpan<byte> associatedData)
    {
        var aad = new byte[WrapDomain.Length + associatedData.Length];
        WrapDomain.CopyTo(aad, 0);
        associatedData.CopyTo(aad.AsSpan(WrapDomain.Length));
        return aad;
    }

    private static KeyroomException Corrupt() =>
        new(KeyroomError.IntegrityFailure, "a stored value is not a valid Keyroom ciphertext");
}
