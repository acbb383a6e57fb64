using System.Runtime.Versioning;

namespace Keyroom.Core.Crypto;

/// <summary>Where the master keys came from, for start-up messages.</summary>
public enum MasterKeySource
{
    /// <summary>The <c>KEYROOM_MASTER_KEY</c> environment variable (or configuration value).</summary>
    Configuration,
    /// <summary>A key file named in configuration.</summary>
    KeyFile,
    /// <summary>The development key file in the data directory, created on first start.</summary>
    DevelopmentKeyFile,
}

/// <summary>
/// Reads master keys. A key file holds one base64 key per line: the first is active, the following are
/// previous keys still accepted for reading. Lines starting with '#' are comments.
/// </summary>
public static class MasterKeyLoader
{
    /// <summary>Parses a key file's text into a keyring.</summary>
    public static Keyring ParseKeyFile(string text)
    {
        var keys = ParseKeyLines(text).Select(MasterKey.Parse).ToList();
        return new Keyring(keys[0], keys.Skip(1));
    }

    /// <summary>
    /// The key lines of a key file's text (base64, first = active), without comments and blank lines.
    /// Throws InvalidRequest when there is none.
    /// </summary>
    public static IReadOnlyList<string> ParseKeyLines(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lines = new List<string>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            lines.Add(line);
        }

        if (lines.Count == 0)
        {
            throw KeyroomException.Invalid("the master key file holds no key");
        }

        return lines;
    }

    /// <summary>Formats keys for a key file (first = active).</summary>
    public static string FormatKeyFile(IEnumerable<string> base64Keys) =>
        "# Keyroom master keys: the first line is active, the others are previous keys still readable.\n"
        + "# Anyone with this file can decrypt every secret in the store. Keep it 0600 and back it up.\n"
        + string.Join('\n', base64Keys) + "\n";

    /// <summary>Writes a file readable only by its owner (0600 on Unix), atomically.</summary>
    public static void WritePrivateFile(string path, string contents)
    {
        ArgumentNullException.ThrowIfNull(path);
        var temp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temp, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(contents);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        if (!OperatingSystem.IsWindows())
        {
            SetOwnerOnly(temp);
        }

        File.Move(temp, path, overwrite: true);
    }

    [UnsupportedOSPlatform("windows")]
    private static void SetOwnerOnly(string path) => File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
}
