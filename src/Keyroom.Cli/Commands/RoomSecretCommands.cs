using System.CommandLine;
using System.Globalization;
using Keyroom.Cli.Output;
using Keyroom.Client.Rooms;

namespace Keyroom.Cli.Commands;

/// <summary>
/// <c>keyroom room secret list|get|set|delete|exists</c>: room secrets over the room WebSocket, as MeshAgent's CLI
/// does. Each run mints a participant token with REST <c>connect</c> (the API key's identity), joins the room, runs
/// one operation and closes the connection (1000). Values are read and written as raw bytes and never printed in errors.
/// </summary>
internal static partial class RoomCommands
{
    /// <summary>The most bytes <c>--in</c> reads (the server's largest configurable room secret).</summary>
    private const int MaxValueBytes = 64 * 1024 * 1024;

    static partial void AddRoomSecretCommands(Command room, Cli cli)
    {
        var secret = new Command("secret", "Room secrets over the room WebSocket: list, get, set, delete, exists");
        secret.Subcommands.Add(BuildSecretList(cli));
        secret.Subcommands.Add(BuildSecretGet(cli));
        secret.Subcommands.Add(BuildSecretSet(cli));
        secret.Subcommands.Add(BuildSecretDelete(cli));
        secret.Subcommands.Add(BuildSecretExists(cli));
        room.Subcommands.Add(secret);
    }

    private static Option<string?> RoomOption() =>
        new("--room") { Description = "The room's name (else KEYROOM_ROOM, else MESHAGENT_ROOM)" };

    private static Option<string?> DelegatedToOption() =>
        new("--delegated-to") { Description = "The identity the secret is delegated to" };

    private static Option<string?> ForIdentityOption() =>
        new("--for-identity") { Description = "Act on another identity's secret (needs the admin grant)" };

    private static Command BuildSecretList(Cli cli)
    {
        var room = RoomOption();
        var list = new Command("list", "List your room secrets (no values)") { room };
        list.SetAction((parseResult, cancellationToken) => InRoomAsync(cli, parseResult, room, async (client, ct) =>
        {
            var secrets = await client.Secrets.ListSecretsAsync(ct);
            if (cli.Json(parseResult))
            {
                cli.WriteJson(new RoomSecretListOutput(secrets), CliJsonContext.Output.RoomSecretListOutput);
            }
            else
            {
                Table.Write(cli.Out, ["ID", "NAME", "TYPE", "DELEGATED_TO"],
                    secrets.Select(s => new[] { s.Id, s.Name, s.Type, s.DelegatedTo ?? "" }), "No room secrets");
            }

            return ExitCodes.Ok;
        }, cancellationToken));
        return list;
    }

    private static Command BuildSecretGet(Cli cli)
    {
        var room = RoomOption();
        var id = new Option<string>("--id") { Description = "The secret's id", Required = true };
        var delegatedTo = DelegatedToOption();
        var output = new Option<string?>("--out") { Description = "Write the value to this file (mode 0600) instead of stdout" };
        var get = new Command("get", "Write a room secret's raw bytes to stdout or a file") { room, id, delegatedTo, output };
        get.SetAction((parseResult, cancellationToken) => InRoomAsync(cli, parseResult, room, async (client, ct) =>
        {
            var value = await client.Secrets.GetSecretAsync(parseResult.GetRequiredValue(id), delegatedTo: parseResult.GetValue(delegatedTo), cancellationToken: ct)
                ?? throw new CommandFailedException("secret not found");
            var path = parseResult.GetValue(output);
            if (path is null)
            {
                await cli.Out.FlushAsync(ct);
                using var stdout = cli.Console.OpenStandardOutput();
                await stdout.WriteAsync(value.Data, ct);
                await stdout.FlushAsync(ct);
            }
            else
            {
                await WriteValueFileAsync(path, value.Data, ct);
            }

            return ExitCodes.Ok;
        }, cancellationToken));
        return get;
    }

    private static Command BuildSecretSet(Cli cli)
    {
        var room = RoomOption();
        var id = new Option<string?>("--id") { Description = "The secret's id (else the server matches by type and name, or creates one)" };
        var type = new Option<string?>("--type") { Description = "The secret's type, usually a MIME type" };
        var name = new Option<string?>("--name") { Description = "The secret's name" };
        var delegatedTo = DelegatedToOption();
        var forIdentity = ForIdentityOption();
        var input = new Option<string?>("--in", "-i") { Description = "Read the value's raw bytes from this file ('-' for stdin)" };
        var text = new Option<string?>("--text") { Description = "The value as text (UTF-8)" };
        var base64 = new Option<string?>("--base64") { Description = "The value as base64" };
        var set = new Command("set", "Store a room secret (exactly one of --in, --text, --base64)")
        {
            room, id, type, name, delegatedTo, forIdentity, input, text, base64,
        };
        set.SetAction((parseResult, cancellationToken) =>
        {
            // Read and check the value before connecting, so usage errors never touch the server.
            var value = ReadValue(cli.Console, parseResult.GetValue(input), parseResult.GetValue(text), parseResult.GetValue(base64));
            return InRoomAsync(cli, parseResult, room, async (client, ct) =>
            {
                var secretId = parseResult.GetValue(id);
                await client.Secrets.SetSecretAsync(secretId, value, parseResult.GetValue(type), parseResult.GetValue(name),
                    parseResult.GetValue(delegatedTo), parseResult.GetValue(forIdentity), ct);
                if (cli.Json(parseResult))
                {
                    cli.WriteJson(new RoomSecretSetOutput(secretId, Stored: true), CliJsonContext.Output.RoomSecretSetOutput);
                }
                else
                {
                    cli.Out.WriteLine(secretId ?? "ok");
                }

                return ExitCodes.Ok;
            }, cancellationToken);
        });
        return set;
    }

    private static Command BuildSecretDelete(Cli cli)
    {
        var room = RoomOption();
        var id = new Argument<string>("ID") { Description = "The secret's id" };
        var delegatedTo = DelegatedToOption();
        var delete = new Command("delete", "Delete a room secret") { id, room, delegatedTo };
        delete.SetAction((parseResult, cancellationToken) => InRoomAsync(cli, parseResult, room, async (client, ct) =>
        {
            var secretId = parseResult.GetRequiredValue(id);
            await client.Secrets.DeleteSecretAsync(secretId, parseResult.GetValue(delegatedTo), ct);
            if (cli.Json(parseResult))
            {
                cli.WriteJson(new DeletedOutput(secretId, Deleted: true), CliJsonContext.Output.DeletedOutput);
            }
            else
            {
                cli.Out.WriteLine($"deleted room secret {secretId}");
            }

            return ExitCodes.Ok;
        }, cancellationToken));
        return delete;
    }

    private static Command BuildSecretExists(Cli cli)
    {
        var room = RoomOption();
        var id = new Option<string>("--id") { Description = "The secret's id", Required = true };
        var delegatedTo = DelegatedToOption();
        var forIdentity = ForIdentityOption();
        var exists = new Command("exists", "Print whether a room secret exists (true or false)") { room, id, delegatedTo, forIdentity };
        exists.SetAction((parseResult, cancellationToken) => InRoomAsync(cli, parseResult, room, async (client, ct) =>
        {
            var found = await client.Secrets.ExistsAsync(parseResult.GetRequiredValue(id), parseResult.GetValue(delegatedTo), parseResult.GetValue(forIdentity), ct);
            if (cli.Json(parseResult))
            {
                cli.WriteJson(new RoomSecretExistsOutput(found), CliJsonContext.Output.RoomSecretExistsOutput);
            }
            else
            {
                cli.Out.WriteLine(found ? "true" : "false");
            }

            return ExitCodes.Ok;
        }, cancellationToken));
        return exists;
    }

    /// <summary>
    /// Resolves the room, mints a token with REST <c>connect</c>, joins, runs <paramref name="operation"/> and closes
    /// the connection. Room SDK failures become one-line <see cref="CommandFailedException"/>s (exit 1).
    /// </summary>
    private static async Task<int> InRoomAsync(
        Cli cli,
        ParseResult parseResult,
        Option<string?> roomOption,
        Func<RoomClient, CancellationToken, Task<int>> operation,
        CancellationToken cancellationToken)
    {
        var roomName = parseResult.GetValue(roomOption) is { Length: > 0 } given ? given
            : cli.Console.Env("KEYROOM_ROOM") ?? cli.Console.Env("MESHAGENT_ROOM")
            ?? throw new UsageException("--room is required (or set KEYROOM_ROOM or MESHAGENT_ROOM)");

        var connection = await cli.Connect(parseResult).ConnectRoomAsync(roomName, cancellationToken);
        try
        {
            var options = new RoomClientOptions { Reconnect = false };
            var client = await RoomClient.ConnectAsync(connection, options, cancellationToken);
            await using (client.ConfigureAwait(false))
            {
                return await operation(client, cancellationToken);
            }
        }
        catch (RoomServerException ex)
        {
            var code = ex.Code is { } c ? string.Create(CultureInfo.InvariantCulture, $" (code {c})") : "";
            throw new CommandFailedException(ex.Message + code, ex);
        }
        catch (RoomConnectionException ex)
        {
            throw new CommandFailedException($"room {roomName}: {ex.Message}", ex);
        }
        catch (TimeoutException ex)
        {
            throw new CommandFailedException($"room {roomName}: the server did not answer in time", ex);
        }
        catch (ArgumentException ex) when (connection.RoomUrl is null || string.IsNullOrEmpty(connection.Jwt))
        {
            throw new CommandFailedException("the server's connect reply has no room URL or token", ex);
        }
    }

    /// <summary>The value from exactly one of <c>--in</c>, <c>--text</c>, <c>--base64</c>; never echoed in errors.</summary>
    private static byte[] ReadValue(CliConsole console, string? input, string? text, string? base64)
    {
        var given = (input is null ? 0 : 1) + (text is null ? 0 : 1) + (base64 is null ? 0 : 1);
        if (given != 1)
        {
            throw new UsageException(given == 0
                ? "give the value with one of --in FILE (or - for stdin), --text or --base64"
                : "give only one of --in, --text and --base64");
        }

        if (text is not null)
        {
            return System.Text.Encoding.UTF8.GetBytes(text);
        }

        if (base64 is not null)
        {
            try
            {
                return Convert.FromBase64String(base64.Trim());
            }
            catch (FormatException)
            {
                throw new UsageException("--base64: the value is not valid base64");
            }
        }

        return ReadBytes(console, input!);
    }

    private static byte[] ReadBytes(CliConsole console, string path)
    {
        try
        {
            using var stream = path == "-" ? console.OpenStandardInput() : File.OpenRead(path);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
            {
                if (buffer.Length + read > MaxValueBytes)
                {
                    throw new UsageException($"--in: {(path == "-" ? "stdin" : path)} is larger than {MaxValueBytes / (1024 * 1024)} MiB");
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }
        catch (FileNotFoundException)
        {
            throw new UsageException($"--in: {path} does not exist");
        }
        catch (DirectoryNotFoundException)
        {
            throw new UsageException($"--in: {path} does not exist");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--in: cannot read {path}: {ex.Message}");
        }
    }

    /// <summary>Writes the value to a file readable only by the user (0600 on Unix), replacing it.</summary>
    private static async Task WriteValueFileAsync(string path, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            var file = new FileStream(path, options);
            await using (file.ConfigureAwait(false))
            {
                if (!OperatingSystem.IsWindows())
                {
                    // An existing file keeps its mode on open; tighten it before any byte is written.
                    File.SetUnixFileMode(file.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                }

                await file.WriteAsync(data, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CommandFailedException($"--out: cannot write {path}: {ex.Message}", ex);
        }
    }
}
