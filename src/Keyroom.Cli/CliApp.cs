using System.CommandLine;
using System.CommandLine.Invocation;
using System.Net.Sockets;
using Keyroom.Cli.Commands;
using Keyroom.Client;

namespace Keyroom.Cli;

/// <summary>
/// Builds the command tree, parses, runs, and turns every failure into one line on stderr and an exit code:
/// 0 ok, 1 the server said no or the operation failed, 2 usage errors. Never a stack trace, never a value.
/// </summary>
internal static class CliApp
{
    public static async Task<int> RunAsync(string[] args, CliConsole console)
    {
        using var cli = new Cli(console);
        var root = BuildRoot(cli, out var serve);

        // No response files: "@token" would otherwise be read as a file name and echoed in errors.
        var parseResult = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parseResult.Errors.Count > 0 && parseResult.Action is ParseErrorAction)
        {
            await console.Error.WriteLineAsync("keyroom: " + ParseErrors.Describe(parseResult, args));
            return ExitCodes.Usage;
        }

        var invocation = new InvocationConfiguration
        {
            Output = console.Out,
            Error = console.Error,
            EnableDefaultExceptionHandler = false,

            // `serve` handles SIGINT/SIGTERM itself (graceful shutdown); other commands cancel their request.
            ProcessTerminationTimeout = parseResult.CommandResult.Command == serve ? null : TimeSpan.FromSeconds(2),
        };

        try
        {
            return await parseResult.InvokeAsync(invocation);
        }
        catch (Exception ex)
        {
            var (code, message) = Describe(ex, cli);
            await console.Error.WriteLineAsync("keyroom: " + OneLine(message));
            if (console.Env("KEYROOM_DEBUG") == "1")
            {
                await console.Error.WriteLineAsync(ex.ToString());
            }

            return code;
        }
    }

    public static RootCommand BuildRoot(Cli cli, out Command serve)
    {
        var root = new RootCommand("keyroom: a self-hosted, MeshAgent-compatible secrets server and its command line")
        {
            cli.JsonOption,
            cli.UrlOption,
            cli.ProjectOption,
        };
        serve = ServeCommand.Build();
        root.Subcommands.Add(serve);
        root.Subcommands.Add(SetupCommand.Build(cli));
        root.Subcommands.Add(SecretCommands.Build(cli));
        root.Subcommands.Add(RoomCommands.Build(cli));
        root.Subcommands.Add(ApiKeyCommands.Build(cli));
        root.Subcommands.Add(AdminCommands.Build(cli));
        return root;
    }

    private static (int Code, string Message) Describe(Exception ex, Cli cli) => ex switch
    {
        UsageException usage => (ExitCodes.Usage, usage.Message),
        CommandFailedException failed => (ExitCodes.Failed, failed.Message),
        KeyroomApiException api => (ExitCodes.Failed, api.Message),
        HttpRequestException http => (ExitCodes.Failed, $"cannot reach the Keyroom server at {cli.CurrentUrl}: {Reason(http)}"),
        TaskCanceledException when cli.CurrentUrl is not null && ex.InnerException is TimeoutException =>
            (ExitCodes.Failed, $"the Keyroom server at {cli.CurrentUrl} did not answer in time"),
        OperationCanceledException => (ExitCodes.Cancelled, "cancelled"),
        FormatException format => (ExitCodes.Failed, format.Message),
        _ => (ExitCodes.Failed, $"unexpected {ex.GetType().Name}; set KEYROOM_DEBUG=1 to see details"),
    };

    private static string Reason(HttpRequestException ex)
    {
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException socket)
            {
                return socket.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => "connection refused (is the server running? start it with 'keyroom serve')",
                    SocketError.HostNotFound or SocketError.NoData => "host not found",
                    SocketError.TimedOut => "connection timed out",
                    _ => socket.Message,
                };
            }
        }

        return ex.HttpRequestError switch
        {
            HttpRequestError.NameResolutionError => "host not found",
            HttpRequestError.SecureConnectionError => "TLS handshake failed",
            HttpRequestError.ConnectionError => "connection failed",
            _ => "the request failed (" + ex.HttpRequestError + ")",
        };
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
