using Microsoft.Extensions.Options;

namespace Keyroom.Server.Hosting;

/// <summary>Server settings, bound from the "Keyroom" configuration section and KEYROOM_* variables.</summary>
internal sealed class KeyroomOptions
{
    public const string Section = "Keyroom";

    /// <summary>Where the SQLite file (and the development key file) live. KEYROOM_DATA or --data.</summary>
    public string DataDirectory { get; set; } = ".keyroom-data";

    /// <summary>The active master key, base64 of 32 bytes (KEYROOM_MASTER_KEY).</summary>
    public string? MasterKey { get; set; }

    /// <summary>Previous master keys still readable, comma separated (KEYROOM_PREVIOUS_MASTER_KEYS).</summary>
    public string? PreviousMasterKeys { get; set; }

    /// <summary>A key file: first line active, later lines previous (KEYROOM_MASTER_KEY_FILE).</summary>
    public string? MasterKeyFile { get; set; }

    /// <summary>Where to write the first admin API key on first start, 0600 (KEYROOM_BOOTSTRAP_KEY_FILE). It is always printed once too.</summary>
    public string? BootstrapKeyFile { get; set; }

    /// <summary>The largest project secret value (REST), bytes.</summary>
    public int MaxSecretBytes { get; set; } = 64 * 1024;

    /// <summary>The largest room secret value, bytes.</summary>
    public int MaxRoomSecretBytes { get; set; } = 1024 * 1024;

    /// <summary>How many versions of each secret are kept.</summary>
    public int KeepVersions { get; set; } = 10;

    /// <summary>The public base URL (scheme://host:port) used in room_url; empty = from each request.</summary>
    public string? PublicUrl { get; set; }

    public string DatabasePath => Path.Combine(DataDirectory, "keyroom.db");

    public string DevelopmentKeyFile => Path.Combine(DataDirectory, "master.key");
}

/// <summary>Checks every setting at start and reports all problems in one message.</summary>
internal sealed class KeyroomOptionsValidator : IValidateOptions<KeyroomOptions>
{
    public ValidateOptionsResult Validate(string? name, KeyroomOptions options)
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            problems.Add("Keyroom:DataDirectory (KEYROOM_DATA) must be set");
        }

        if (!string.IsNullOrEmpty(options.MasterKey) && !string.IsNullOrEmpty(options.MasterKeyFile))
        {
            problems.Add("set either KEYROOM_MASTER_KEY or KEYROOM_MASTER_KEY_FILE, not both");
        }

        if (!string.IsNullOrEmpty(options.MasterKey) && !IsKey(options.MasterKey))
        {
            problems.Add("KEYROOM_MASTER_KEY must be standard base64 of 32 random bytes (generate one with: openssl rand -base64 32)");
        }

        foreach (var previous in Split(options.PreviousMasterKeys))
        {
            if (!IsKey(previous))
            {
                problems.Add("every KEYROOM_PREVIOUS_MASTER_KEYS entry must be base64 of 32 bytes");
                break;
            }
        }

        if (!string.IsNullOrEmpty(options.MasterKeyFile) && !File.Exists(options.MasterKeyFile))
        {
            problems.Add($"KEYROOM_MASTER_KEY_FILE names a file that does not exist: {options.MasterKeyFile}");
        }

        if (options.MaxSecretBytes is < 1 or > 16 * 1024 * 1024)
        {
            problems.Add("Keyroom:MaxSecretBytes must be between 1 and 16 MiB");
        }

        if (options.MaxRoomSecretBytes is < 1 or > 64 * 1024 * 1024)
        {
            problems.Add("Keyroom:MaxRoomSecretBytes must be between 1 and 64 MiB");
        }

        if (options.KeepVersions is < 1 or > 1000)
        {
            problems.Add("Keyroom:KeepVersions must be between 1 and 1000");
        }

        if (!string.IsNullOrEmpty(options.PublicUrl) && !Uri.TryCreate(options.PublicUrl, UriKind.Absolute, out _))
        {
            problems.Add("Keyroom:PublicUrl must be an absolute URL such as https://keyroom.example.com");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    internal static IEnumerable<string> Split(string? list) =>
        (list ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static bool IsKey(string text)
    {
        Span<byte> bytes = stackalloc byte[33];
        return Convert.TryFromBase64String(text.Trim(), bytes, out var written) && written == 32;
    }
}
