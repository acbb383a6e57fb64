using System.Buffers.Text;

namespace Keyroom.Client;

/// <summary>
/// The two ids inside a MeshAgent API key <c>ma-&lt;key id&gt;-&lt;project id&gt;-&lt;secret&gt;</c>: each is a
/// 16-byte UUID in base64 with '+' → '.', '/' → '_' and no padding. The secret part is not kept.
/// </summary>
/// <param name="KeyId">The key's id as a lowercase hyphenated UUID.</param>
/// <param name="ProjectId">The project's id as a lowercase hyphenated UUID.</param>
public readonly record struct ApiKeyIds(string KeyId, string ProjectId)
{
    private const string Prefix = "ma-";

    /// <summary>Reads the ids from an API key; false when the text is not a well-formed <c>ma-</c> key.</summary>
    /// <param name="apiKey">The key text.</param>
    /// <param name="ids">The ids when the key is well formed.</param>
    /// <returns>Whether the key is well formed.</returns>
    public static bool TryParse(string? apiKey, out ApiKeyIds ids)
    {
        ids = default;
        if (apiKey is null || !apiKey.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = apiKey.AsSpan(Prefix.Length);
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

        if (!TryDecodeUuid(rest[..first], out var keyId) || !TryDecodeUuid(afterId[..second], out var projectId))
        {
            return false;
        }

        ids = new ApiKeyIds(keyId.ToString("D"), projectId.ToString("D"));
        return true;
    }

    /// <summary>Decodes one 22-character MeshAgent UUID part (base64, '.' for '+', '_' for '/', no padding).</summary>
    /// <param name="text">The encoded part.</param>
    /// <param name="id">The UUID when the text decodes to exactly 16 bytes.</param>
    /// <returns>Whether the text is a valid encoded UUID.</returns>
    public static bool TryDecodeUuid(ReadOnlySpan<char> text, out Guid id)
    {
        id = default;
        if (text.Length != 22)
        {
            return false;
        }

        // The MeshAgent alphabet maps onto base64url: '.' plays '-' and '_' stays '_'.
        Span<char> url = stackalloc char[22];
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '.')
            {
                url[i] = '-';
            }
            else if (char.IsAsciiLetterOrDigit(c) || c == '_')
            {
                url[i] = c;
            }
            else
            {
                return false;
            }
        }

        Span<byte> bytes = stackalloc byte[17];
        if (Base64Url.DecodeFromChars(url, bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != 16)
        {
            return false;
        }

        id = new Guid(bytes[..16], bigEndian: true);
        return true;
    }
}
