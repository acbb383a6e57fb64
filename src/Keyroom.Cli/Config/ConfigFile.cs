using System.Text.Json;
using Keyroom.Cli.Output;

namespace Keyroom.Cli.Config;

/// <summary>The saved settings, <c>~/.config/keyroom/config.json</c> (mode 0600).</summary>
internal sealed record ConfigFile
{
    public string? Url { get; init; }

    public string? ApiKey { get; init; }

    public string? ProjectId { get; init; }

    /// <summary>
    /// Where the file lives: <c>KEYROOM_CONFIG</c>, else <c>$XDG_CONFIG_HOME/keyroom/config.json</c>, else
    /// <c>~/.config/keyroom/config.json</c>.
    /// </summary>
    public static string PathFor(CliConsole console)
    {
        if (console.Env("KEYROOM_CONFIG") is { } explicitPath)
        {
            return Path.GetFullPath(explicitPath);
        }

        var configHome = console.Env("XDG_CONFIG_HOME") is { } xdg && Path.IsPathRooted(xdg)
            ? xdg
            : Path.Combine(console.Env("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        return Path.Combine(configHome, "keyroom", "config.json");
    }

    /// <summary>Reads the file; an empty config when it does not exist.</summary>
    public static ConfigFile Load(string path)
    {
        if (!File.Exists(path))
        {
            return new ConfigFile();
        }

        try
        {
            var bytes = File.ReadAllBytes(path);
            return JsonSerializer.Deserialize(bytes, CliJsonContext.Default.ConfigFile) ?? new ConfigFile();
        }
        catch (JsonException)
        {
            throw new UsageException($"the config file {path} is not valid JSON; run 'keyroom setup' to rewrite it");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read the config file {path}: {ex.Message}");
        }
    }

    /// <summary>Writes the file atomically, readable by the owner only (0600, directory 0700).</summary>
    public void Save(string path)
    {
        var directory = Path.GetDirectoryName(path)!;
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var temporary = Path.Combine(directory, $".config.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var stream = new FileStream(temporary, options))
            {
                JsonSerializer.Serialize(stream, this, CliJsonContext.Default.ConfigFile);
                stream.WriteByte((byte)'\n');
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
