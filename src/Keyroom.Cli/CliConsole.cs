namespace Keyroom.Cli;

/// <summary>The process's streams and environment, injectable so commands can run in-process in tests.</summary>
internal sealed class CliConsole
{
    public required TextWriter Out { get; init; }

    public required TextWriter Error { get; init; }

    public required TextReader In { get; init; }

    /// <summary>Whether stdin is an interactive terminal (prompts are allowed only then).</summary>
    public bool InputIsTerminal { get; init; }

    public required Func<string, string?> GetEnvironmentVariable { get; init; }

    /// <summary>Reads a line without echoing it (for API keys typed at a prompt).</summary>
    public Func<string>? ReadHiddenLine { get; init; }

    /// <summary>Opens the raw standard input stream (binary-safe secret input).</summary>
    public Func<Stream> OpenStandardInput { get; init; } = Console.OpenStandardInput;

    /// <summary>Opens the raw standard output stream (binary-safe secret output).</summary>
    public Func<Stream> OpenStandardOutput { get; init; } = Console.OpenStandardOutput;

    public static CliConsole FromProcess() => new()
    {
        Out = Console.Out,
        Error = Console.Error,
        In = Console.In,
        InputIsTerminal = !Console.IsInputRedirected,
        GetEnvironmentVariable = Environment.GetEnvironmentVariable,
        ReadHiddenLine = ReadHiddenFromConsole,
    };

    /// <summary>The value of an environment variable, or null when it is unset or empty.</summary>
    public string? Env(string name) => GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;

    private static string ReadHiddenFromConsole()
    {
        var text = new System.Text.StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                Console.Error.WriteLine();
                return text.ToString();
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                if (text.Length > 0)
                {
                    text.Length--;
                }
            }
            else if (!char.IsControl(key.KeyChar))
            {
                text.Append(key.KeyChar);
            }
        }
    }
}
