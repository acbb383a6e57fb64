using System.Text;
using System.Text.Unicode;

namespace Keyroom.Protocol.Internal;

/// <summary>Strict UTF-8 helpers: invalid input is an error, never silently replaced.</summary>
internal static class Utf8Text
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Encodes <paramref name="text"/>; throws <see cref="ArgumentException"/> on unpaired surrogates.</summary>
    public static byte[] Encode(string text, string paramName)
    {
        try
        {
            return Strict.GetBytes(text);
        }
        catch (EncoderFallbackException ex)
        {
            throw new ArgumentException("The text is not valid UTF-16 (it contains an unpaired surrogate).", paramName, ex);
        }
    }

    /// <summary>Decodes <paramref name="utf8"/>, or returns null when it is not valid UTF-8.</summary>
    public static string? TryDecode(ReadOnlySpan<byte> utf8) =>
        Utf8.IsValid(utf8) ? Encoding.UTF8.GetString(utf8) : null;
}
