using System.Text.Json;

namespace Keyroom.Cli.Input;

/// <summary>Reads secret material from files or stdin, so it stays out of shell history.</summary>
internal static class SecretInput
{
    /// <summary>The most a value file may hold (the server's default limit is 64 KiB).</summary>
    private const int MaxBytes = 1024 * 1024;

    /// <summary>Reads a file, or stdin when <paramref name="path"/> is "-".</summary>
    public static string ReadText(CliConsole console, string path, string optionName)
    {
        if (path == "-")
        {
            return console.In.ReadToEnd();
        }

        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new UsageException($"{optionName}: {path} does not exist");
            }

            if (info.Length > MaxBytes)
            {
                throw new UsageException($"{optionName}: {path} is larger than {MaxBytes / 1024} KiB");
            }

            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{optionName}: cannot read {path}: {ex.Message}");
        }
    }

    /// <summary>Reads a password from stdin: everything, minus one trailing newline.</summary>
    public static string ReadPasswordFromStdin(CliConsole console)
    {
        var text = console.In.ReadToEnd();
        text = text.EndsWith("\r\n", StringComparison.Ordinal) ? text[..^2] : text.EndsWith('\n') ? text[..^1] : text;
        if (text.Length == 0)
        {
            throw new UsageException("--password-stdin: stdin is empty");
        }

        return text;
    }

    /// <summary>Reads a JSON key file (Google service account key) and checks that it is a JSON object.</summary>
    public static string ReadJsonKeyFile(CliConsole console, string path)
    {
        var text = ReadText(console, path, "--json-key-file");
        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new UsageException("--json-key-file: the file is not a JSON object");
            }
        }
        catch (JsonException)
        {
            // Never echo the parser's message: it can quote the key material.
            throw new UsageException("--json-key-file: the file is not valid JSON (expected a service account key)");
        }

        return text;
    }
}
