using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Keyroom.Core.Auth;

/// <summary>
/// The MeshAgent API key text form: <c>ma-&lt;id&gt;-&lt;project&gt;-&lt;secret&gt;</c>, where id and project
/// are 16-byte UUIDs in base64 with '+'→'.', '/'→'_' and no padding, and the secret is everything after the
/// second '-' (it may contain '-'). The secret is also the HMAC key of participant JWTs signed with the key.
/// </summary>
public sealed class ApiKeyString
{
    private const string Prefix = "ma-";

    private ApiKeyString(Guid keyId, Guid projectId, string secret)
    {
        KeyId = keyId;
        ProjectId = projectId;
        Secret = secret;
    }

    /// <summary>The key's id (what JWTs name in <c>kid</c>).</summary>
    public Guid KeyId { get; }

    /// <summary>The project the key belongs to.</summary>
    public Guid ProjectId { get; }

    /// <summary>The secret part. Never log it.</summary>
    public string Secret { get; }

    /// <summary>Generates a new key with a 256-bit random secret.</summary>
    public static ApiKeyString Generate(Guid projectId) =>
        new(Guid.NewGuid(), projectId, System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32)));

    /// <summary>Rebuilds a key from its parts.</summary>
    public static ApiKeyString FromParts(Guid keyId, Guid projectId, string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        return new ApiKeyString(keyId, projectId, secret);
    }

    /// <summary>Parses the text form; false when it is not a well-formed key.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out ApiKeyString? key)
    {
        key = null;
        if (text is null || !text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = text.AsSpan(Prefix.Length);
        var first = rest.IndexOf('-');
        if (first <= 0)
        {
            return false;
        }

        var afterId = rest[(first + 1)..];
        var second = afterId.IndexOf('-');
        if (second <= 0 || second == afterId.Length - 1)
        {
            return false;
        }

        if (!TryDecodeUuid(rest[..first], out var id) || !TryDecodeUuid(afterId[..second], out var project))
        {
            return false;
        }

        key = new ApiKeyString(id, project, afterId[(second + 1)..].ToString());
        return true;
    }

    /// <summary>Encodes a UUID the way MeshAgent does (22 characters from A–Z a–z 0–9 . _).</summary>
    public static string EncodeUuid(Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes, bigEndian: true, out _);
        return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '.').Replace('/', '_');
    }

    private static bool TryDecodeUuid(ReadOnlySpan<char> text, out Guid id)
    {
        id = default;
        if (text.Length != 22)
        {
            return false;
        }

        Span<char> padded = stackalloc char[24];
        for (var i = 0; i < 22; i++)
        {
            padded[i] = text[i] switch
            {
                '.' => '+',
                '_' => '/',
                '+' or '/' or '=' => '\0',
                var c => c,
            };
            if (padded[i] == '\0')
            {
                return false;
            }
        }

        padded[22] = '=';
        padded[23] = '=';
        Span<byte> bytes = stackalloc byte[18];
        if (!Convert.TryFromBase64Chars(padded, bytes, out var written) || written != 16)
        {
            return false;
        }

        id = new Guid(bytes[..16], bigEndian: true);
        return true;
    }

    /// <inheritdoc />
    public override string ToString() => Prefix + EncodeUuid(KeyId) + "-" + EncodeUuid(ProjectId) + "-" + Secret;
}
