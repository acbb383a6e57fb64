using System.Buffers.Binary;
using System.Text;

namespace Keyroom.Core.Crypto;

/// <summary>
/// Builds the associated data that binds a ciphertext to the row it belongs to. Every field is length
/// prefixed so that no two different field lists can produce the same bytes.
/// </summary>
public static class AssociatedData
{
    private const string Domain = "keyroom/aad/v1";

    /// <summary>Associated data for one version of a secret.</summary>
    public static byte[] ForSecret(in Secrets.SecretKey key, int version) =>
        Build("secret", key.ProjectId, key.Scope, key.Owner, key.DelegatedTo, key.Id, version.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Associated data for the secret part of an API key.</summary>
    public static byte[] ForApiKey(Guid keyId) => Build("api-key", keyId.ToString("D"));

    /// <summary>Associated data for a named internal value (for example the audit MAC key).</summary>
    public static byte[] ForInternal(string name) => Build("internal", name);

    private static byte[] Build(params string[] fields)
    {
        var size = 4 + Encoding.UTF8.GetByteCount(Domain);
        foreach (var field in fields)
        {
            size += 4 + Encoding.UTF8.GetByteCount(field);
        }

        var buffer = new byte[size];
        var offset = Write(buffer, 0, Domain);
        foreach (var field in fields)
        {
            offset = Write(buffer, offset, field);
        }

        return buffer;
    }

    private static int Write(byte[] buffer, int offset, string field)
    {
        var length = Encoding.UTF8.GetBytes(field, 0, field.Length, buffer, offset + 4);
        BinaryPrimitives.WriteInt32BigEndian(buffer.AsSpan(offset), length);
        return offset + 4 + length;
    }
}
