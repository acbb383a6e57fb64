using System.CommandLine;
using System.CommandLine.Parsing;
using Keyroom.Server.Hosting;

namespace Keyroom.Cli.Commands;

/// <summary><c>keyroom serve</c>: runs the server in this process, passing the arguments through to the host.</summary>
internal static class ServeCommand
{
    /// <summary>Global CLI options that mean nothing to the server; they are not passed through.</summary>
    private static readonly string[] CliOnlyFlags = ["--json"];
    private static readonly string[] CliOnlyOptionsWithValue = ["--url", "--project"];

    public static Command Build()
    {
        var data = new Option<string?>("--data")
        {
            Description = "The data directory (SQLite file, development key file); default ./.keyroom-data or KEYROOM_DATA",
        };
        var urls = new Option<string?>("--urls")
        {
            Description = "The address(es) to listen on, for example http://0.0.0.0:5000; default http://localhost:5000",
        };
        var command = new Command("serve", "Run the Keyroom server (other --Section:Key=value settings are passed to it)")
        {
            data,
            urls,
        };

        // Server settings such as --Keyroom:MaxSecretBytes=… or --master-key-file go straight to the host.
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction((parseResult, _) => KeyroomHost.RunAsync(ServerArgs(parseResult)));
        return command;
    }

    /// <summary>The tokens after <c>serve</c>, as typed, without the CLI's own global options.</summary>
    private static string[] ServerArgs(ParseResult parseResult)
    {
        var tokens = parseResult.Tokens;
        var start = 0;
        while (start < tokens.Count && !(tokens[start].Type == TokenType.Command && tokens[start].Value == "serve"))
        {
            start++;
        }

        var args = new List<string>();
        for (var i = start + 1; i < tokens.Count; i++)
        {
            var value = tokens[i].Value;
            if (CliOnlyFlags.Contains(value, StringComparer.Ordinal))
            {
                continue;
            }

            if (CliOnlyOptionsWithValue.Contains(value, StringComparer.Ordinal))
            {
                i++;
                continue;
            }

            args.Add(value);
        }

        return [.. args];
    }
}
