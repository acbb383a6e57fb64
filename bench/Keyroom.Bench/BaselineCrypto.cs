using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Keyroom.Bench;

/// <summary>
/// The baseline's hand-written envelope: the same blob layout as Keyroom's (magic, key id, wrapped data key,
/// data nonce and tag, ciphertext) and the same two AES-256-GCM operations per open (unwrap the data key with
/// the key-encryption key, then decrypt the value), with associated data binding the blob to its row.
/// </summary>
internal sealed class BaselineEnvelope
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int DekSize = 32;
    private const int WrapSize = NonceSize + DekSize + TagSize;
    private static readonly byte[] WrapDomain = "keyroom/dek-wrap/v1|"u8.ToArray();
    private static readonly byte[] AadDomain = "keyroom/aad/v1"u8.ToArray();

    private readonly byte[] _kek;
    private readonly byte[] _keyId;

    public BaselineEnvelope(byte[] kek, string keyId)
    {
        _kek = kek;
        _keyId = Encoding.ASCII.GetBytes(keyId);
    }

    /// <summary>The plaintext length of a blob.</summary>
    public int PlaintextLength(ReadOnlySpan<byte> blob) => blob.Length - (4 + _keyId.Length + WrapSize + NonceSize + TagSize);

    public byte[] Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> aad)
    {
        var header = 4 + _keyId.Length;
        var blob = new byte[header + WrapSize + NonceSize + TagSize + plaintext.Length];
        blob[0] = (byte)'K';
        blob[1] = (byte)'R';
        blob[2] = 1;
        blob[3] = (byte)_keyId.Length;
        _keyId.CopyTo(blob, 4);
        Span<byte> dek = stackalloc byte[DekSize];
        RandomNumberGenerator.Fill(dek);
        var wrap = blob.AsSpan(header, WrapSize);
        RandomNumberGenerator.Fill(wrap[..NonceSize]);
        Span<byte> wrapAad = stackalloc byte[WrapDomain.Length + aad.Length];
        WrapDomain.CopyTo(wrapAad);
        aad.CopyTo(wrapAad[WrapDomain.Length..]);
        using (var kek = new AesGcm(_kek, TagSize))
        {
            kek.Encrypt(wrap[..NonceSize], dek, wrap.Slice(NonceSize, DekSize), wrap.Slice(NonceSize + DekSize, TagSize), wrapAad);
        }

        var data = blob.AsSpan(header + WrapSize);
        RandomNumberGenerator.Fill(data[..NonceSize]);
        using (var gcm = new AesGcm(dek, TagSize))
        {
            gcm.Encrypt(data[..NonceSize], plaintext, data[(NonceSize + TagSize)..], data.Slice(NonceSize, TagSize), aad);
        }

        CryptographicOperations.ZeroMemory(dek);
        return blob;
    }

    /// <summary>Unwraps the data key and decrypts into <paramref name="plaintext"/>; throws when the blob does not open.</summary>
    public void Open(ReadOnlySpan<byte> blob, ReadOnlySpan<byte> aad, Span<byte> plaintext)
    {
        var header = 4 + _keyId.Length;
        if (blob.Length < header + WrapSize + NonceSize + TagSize || blob[0] != 'K' || blob[1] != 'R' || blob[2] != 1
            || blob[3] != _keyId.Length || !blob.Slice(4, _keyId.Length).SequenceEqual(_keyId))
        {
            throw new CryptographicException("not a sealed value of this key");
        }

        Span<byte> wrapAad = stackalloc byte[WrapDomain.Length + aad.Length];
        WrapDomain.CopyTo(wrapAad);
        aad.CopyTo(wrapAad[WrapDomain.Length..]);
        Span<byte> dek = stackalloc byte[DekSize];
        var wrap = blob.Slice(header, WrapSize);
        using (var kek = new AesGcm(_kek, TagSize))
        {
            kek.Decrypt(wrap[..NonceSize], wrap.Slice(NonceSize, DekSize), wrap.Slice(NonceSize + DekSize, TagSize), dek, wrapAad);
        }

        var data = blob[(header + WrapSize)..];
        using (var gcm = new AesGcm(dek, TagSize))
        {
            gcm.Decrypt(data[..NonceSize], data[(NonceSize + TagSize)..], data.Slice(NonceSize, TagSize), plaintext, aad);
        }

        CryptographicOperations.ZeroMemory(dek);
    }

    /// <summary>Length-prefixed associated data for one version of a project secret (as Keyroom binds its rows).</summary>
    public static int WriteSecretAad(Span<byte> destination, string projectId, string secretId, int version)
    {
        var offset = Field(destination, 0, AadDomain);
        offset = Field(destination, offset, "secret"u8);
        offset = Field(destination, offset, projectId);
        offset = Field(destination, offset, "project"u8);
        offset = Field(destination, offset, ""u8);
        offset = Field(destination, offset, ""u8);
        offset = Field(destination, offset, secretId);
        Span<byte> number = stackalloc byte[11];
        version.TryFormat(number, out var written, default, System.Globalization.CultureInfo.InvariantCulture);
        return Field(destination, offset, number[..written]);
    }

    private static int Field(Span<byte> destination, int offset, ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteInt32BigEndian(destination[offset..], value.Length);
        value.CopyTo(destination[(offset + 4)..]);
        return offset + 4 + value.Length;
    }

    private static int Field(Span<byte> destination, int offset, string value)
    {
        var length = Encoding.UTF8.GetBytes(value, destination[(offset + 4)..]);
        BinaryPrimitives.WriteInt32BigEndian(destination[offset..], length);
        return offset + 4 + length;
    }
}

/// <summary>
/// The baseline's hand-written HS256 check of a participant JWT: header alg, HMAC-SHA256 over the signing input
/// with the signing key's secret compared in constant time, then the claims the decision needs (kid, sub, exp and
/// a secrets grant) read with a forward-only reader.
/// </summary>
internal sealed class BaselineJwt(byte[] secretUtf8, string keyId)
{
    public bool TryVerify(ReadOnlySpan<char> jwt, string projectId, long nowUnixSeconds)
    {
        var firstDot = jwt.IndexOf('.');
        var secondDot = firstDot < 0 ? -1 : jwt[(firstDot + 1)..].IndexOf('.') + firstDot + 1;
        if (firstDot <= 0 || secondDot <= firstDot)
        {
            return false;
        }

        var signingInput = jwt[..secondDot];
        Span<byte> signature = stackalloc byte[64];
        if (Base64Url.DecodeFromChars(jwt[(secondDot + 1)..], signature, out _, out var signatureLength) != OperationStatus.Done || signatureLength != 32)
        {
            return false;
        }

        var rented = ArrayPool<byte>.Shared.Rent(signingInput.Length);
        try
        {
            var input = rented.AsSpan(0, Encoding.ASCII.GetBytes(signingInput, rented));
            Span<byte> expected = stackalloc byte[32];
            HMACSHA256.HashData(secretUtf8, input, expected);
            if (!CryptographicOperations.FixedTimeEquals(expected, signature[..32]))
            {
                return false;
            }

            return HeaderIsHs256(jwt[..firstDot], rented) && ClaimsAllow(jwt[(firstDot + 1)..secondDot], rented, projectId, nowUnixSeconds);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static bool HeaderIsHs256(ReadOnlySpan<char> encoded, byte[] buffer)
    {
        if (Base64Url.DecodeFromChars(encoded, buffer, out _, out var length) != OperationStatus.Done)
        {
            return false;
        }

        var reader = new Utf8JsonReader(buffer.AsSpan(0, length));
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("alg"u8))
            {
                return reader.Read() && reader.ValueTextEquals("HS256"u8);
            }
        }

        return false;
    }

    private bool ClaimsAllow(ReadOnlySpan<char> encoded, byte[] buffer, string projectId, long now)
    {
        if (Base64Url.DecodeFromChars(encoded, buffer, out _, out var length) != OperationStatus.Done)
        {
            return false;
        }

        bool kidOk = false, subOk = false, expOk = true, secretsGrant = false;
        var reader = new Utf8JsonReader(buffer.AsSpan(0, length));
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            if (reader.CurrentDepth > 1)
            {
                secretsGrant |= reader.ValueTextEquals("secrets"u8);
                continue;
            }

            if (reader.ValueTextEquals("kid"u8))
            {
                kidOk = reader.Read() && reader.TokenType == JsonTokenType.String && reader.ValueTextEquals(keyId);
            }
            else if (reader.ValueTextEquals("sub"u8))
            {
                subOk = reader.Read() && reader.TokenType == JsonTokenType.String && reader.ValueTextEquals(projectId);
            }
            else if (reader.ValueTextEquals("exp"u8))
            {
                expOk = reader.Read() && reader.TryGetInt64(out var exp) && exp > now;
            }
        }

        return kidOk && subOk && expOk && secretsGrant;
    }
}
