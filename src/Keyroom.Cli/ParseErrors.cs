using System.CommandLine;

namespace Keyroom.Cli;

/// <summary>Turns System.CommandLine parse errors into one line that never repeats a secret value.</summary>
internal static class ParseErrors
{
    /// <summary>Options whose values are secret: their tokens are blanked out of error messages.</summary>
    private static readonly string[] SecretOptions = ["--data", "--password", "--api-key"];

    public static string Describe(ParseResult parseResult, IReadOnlyList<string> args)
    {
        // A mistyped word explains more than the "required command was not provided" it causes.
        var error = parseResult.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parseResult.Errors[0];
        var message = error.Message;
        foreach (var secret in SecretTokens(args).OrderByDescending(t => t.Length))
        {
            // System.CommandLine quotes tokens ('token'); longer tokens are also blanked wherever they appear.
            message = message.Replace("'" + secret + "'", "'***'", StringComparison.Ordinal);
            if (secret.Length >= 4)
            {
                message = message.Replace(secret, "***", StringComparison.Ordinal);
            }
        }

        var path = new List<string>();
        for (var result = parseResult.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            path.Insert(0, result.Command.Name);
        }

        path[0] = "keyroom";
        var more = parseResult.Errors.Count > 1 ? $" (and {parseResult.Errors.Count - 1} more)" : "";
        return $"{Collapse(message).TrimEnd('.')}{more}; see '{string.Join(' ', path)} --help'";
    }

    private static string Collapse(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    /// <summary>The tokens that belong to a secret-bearing option: everything after it up to the next option.</summary>
    internal static IEnumerable<string> SecretTokens(IReadOnlyList<string> args)
    {
        var inSecret = false;
        foreach (var arg in args)
        {
            // "--password=value" and "--password:value" carry the value in the same token.
            var equals = arg.IndexOfAny(['=', ':']);
            var optionName = arg.StartsWith("--", StringComparison.Ordinal) && equals > 0 ? arg[..equals] : arg;
            if (SecretOptions.Contains(optionName, StringComparer.Ordinal))
            {
                inSecret = equals < 0;
                if (equals > 0 && equals < arg.Length - 1)
                {
                    yield return arg[(equals + 1)..];
                }

                continue;
            }

            if (arg.StartsWith('-') && arg.Length > 1)
            {
                inSecret = false;
                continue;
            }

            if (inSecret && arg.Length > 0)
            {
                yield return arg;
            }
        }
    }
}
