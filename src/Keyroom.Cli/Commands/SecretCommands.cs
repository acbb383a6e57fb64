using System.CommandLine;
using Keyroom.Cli.Input;
using Keyroom.Cli.Output;
using Keyroom.Client;

namespace Keyroom.Cli.Commands;

/// <summary>
/// <c>keyroom secret …</c>: project secrets over REST. <c>key</c> secrets are environment variable maps;
/// <c>docker</c>, <c>acr</c> and <c>gar</c> all store docker pull credentials.
/// </summary>
internal static class SecretCommands
{
    public static Command Build(Cli cli)
    {
        var secret = new Command("secret", "Project secrets: environment variable maps and registry pull credentials");
        secret.Subcommands.Add(BuildKeys(cli));
        secret.Subcommands.Add(RegistryCommands.Build(cli, RegistryKind.Docker));
        secret.Subcommands.Add(RegistryCommands.Build(cli, RegistryKind.Acr));
        secret.Subcommands.Add(RegistryCommands.Build(cli, RegistryKind.Gar));
        secret.Subcommands.Add(BuildList(cli));
        secret.Subcommands.Add(BuildDelete(cli));
        secret.Subcommands.Add(BuildVersions(cli));
        return secret;
    }

    /// <summary>The existing secret's name and type, checked against the type the command writes.</summary>
    internal static async Task<ManagedSecretInfo> FindForUpdateAsync(AccountsClient client, string secretId, string expectedType, string commandName, CancellationToken cancellationToken)
    {
        var secrets = await client.ListSecretsAsync(cancellationToken);
        var found = secrets.FirstOrDefault(s => s.Id == secretId);
        if (found is null)
        {
            // Let the server report the missing secret in its own words (404 not_found).
            var secret = await client.GetSecretAsync(secretId, cancellationToken: cancellationToken);
            found = new ManagedSecretInfo { Id = secret.Id, Name = secret.Name, Type = secret.Type };
        }

        if (!string.Equals(found.Type, expectedType, StringComparison.Ordinal))
        {
            throw new CommandFailedException($"secret {secretId} is a '{found.Type}' secret, not '{expectedType}'; it cannot be updated with 'keyroom secret {commandName} update'");
        }

        return found;
    }

    internal static void WriteWritten(Cli cli, ParseResult parseResult, SecretVersionRef written, bool created)
    {
        if (cli.Json(parseResult))
        {
            cli.WriteJson(written, CliJsonContext.Output.SecretVersionRef);
        }
        else if (created)
        {
            cli.Out.WriteLine(written.Id);
        }
        else
        {
            cli.Out.WriteLine($"updated {written.Id}: version {written.Version}");
        }
    }

    private static Command BuildKeys(Cli cli)
    {
        var key = new Command("key", "Secrets of type 'keys': NAME=VALUE pairs injected as environment variables");

        var name = new Option<string>("--name") { Description = "The secret's name", Required = true };
        var data = DataOption();
        var dataFile = DataFileOption();
        var create = new Command("create", "Create a keys secret; prints its id") { name, data, dataFile };
        create.SetAction(async (parseResult, cancellationToken) =>
        {
            var pairs = ReadPairs(cli, parseResult, data, dataFile);
            var client = cli.Connect(parseResult);
            var written = await client.CreateKeysSecretAsync(parseResult.GetRequiredValue(name), pairs, cancellationToken);
            WriteWritten(cli, parseResult, written, created: true);
            return ExitCodes.Ok;
        });

        var secretId = SecretIdOption();
        var newName = new Option<string?>("--name") { Description = "A new name (default: keep the current one)" };
        var update = new Command("update", "Replace a keys secret's pairs (a new version)") { secretId, newName, data, dataFile };
        update.SetAction(async (parseResult, cancellationToken) =>
        {
            var pairs = ReadPairs(cli, parseResult, data, dataFile);
            var client = cli.Connect(parseResult);
            var id = parseResult.GetRequiredValue(secretId);
            var current = await FindForUpdateAsync(client, id, SecretTypes.Keys, "key", cancellationToken);
            var written = await client.UpdateKeysSecretAsync(id, parseResult.GetValue(newName) ?? current.Name, pairs, cancellationToken);
            WriteWritten(cli, parseResult, written, created: false);
            return ExitCodes.Ok;
        });

        var id = IdArgument();
        var version = new Option<int>("--version") { Description = "Read a kept older version" };
        var get = new Command("get", "Print a keys secret as NAME=VALUE lines (or JSON with --json)") { id, version };
        get.SetAction(async (parseResult, cancellationToken) =>
        {
            var client = cli.Connect(parseResult);
            var secret = await client.GetSecretAsync(parseResult.GetRequiredValue(id),
                parseResult.GetResult(version) is null ? null : parseResult.GetValue(version), cancellationToken);
            IReadOnlyDictionary<string, string> pairs;
            try
            {
                pairs = SecretValues.DecodeKeys(secret.Data.Span);
            }
            catch (FormatException)
            {
                throw new CommandFailedException($"secret {secret.Id} (type '{secret.Type}') does not hold NAME=VALUE pairs");
            }

            if (cli.Json(parseResult))
            {
                cli.WriteJson(
                    new KeysSecretOutput(secret.Id, secret.Name, secret.Type, secret.Version, secret.CreatedAt, secret.UpdatedAt, pairs),
                    CliJsonContext.Output.KeysSecretOutput);
            }
            else
            {
                foreach (var (pairName, value) in pairs)
                {
                    cli.Out.WriteLine($"{pairName}={value}");
                }
            }

            return ExitCodes.Ok;
        });

        key.Subcommands.Add(create);
        key.Subcommands.Add(update);
        key.Subcommands.Add(get);
        return key;
    }

    private static Command BuildList(Cli cli)
    {
        var list = new Command("list", "List the project's secrets (no values)");
        list.SetAction(async (parseResult, cancellationToken) =>
        {
            var secrets = await cli.Connect(parseResult).ListSecretsAsync(cancellationToken);
            if (cli.Json(parseResult))
            {
                cli.WriteJson(new SecretListOutput(secrets), CliJsonContext.Output.SecretListOutput);
            }
            else
            {
                Table.Write(cli.Out, ["ID", "NAME", "TYPE", "VERSION", "UPDATED"],
                    secrets.Select(s => new[] { s.Id, s.Name, s.Type, s.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), Table.Time(s.UpdatedAt) }),
                    "No secrets");
            }

            return ExitCodes.Ok;
        });
        return list;
    }

    private static Command BuildDelete(Cli cli)
    {
        var id = IdArgument();
        var delete = new Command("delete", "Delete a secret and all its versions") { id };
        delete.SetAction(async (parseResult, cancellationToken) =>
        {
            var secretId = parseResult.GetRequiredValue(id);
            await cli.Connect(parseResult).DeleteSecretAsync(secretId, cancellationToken);
            if (cli.Json(parseResult))
            {
                cli.WriteJson(new DeletedOutput(secretId, Deleted: true), CliJsonContext.Output.DeletedOutput);
            }
            else
            {
                cli.Out.WriteLine($"deleted {secretId}");
            }

            return ExitCodes.Ok;
        });
        return delete;
    }

    private static Command BuildVersions(Cli cli)
    {
        var id = IdArgument();
        var versions = new Command("versions", "List a secret's kept versions, newest first") { id };
        versions.SetAction(async (parseResult, cancellationToken) =>
        {
            var secretId = parseResult.GetRequiredValue(id);
            var list = await cli.Connect(parseResult).ListSecretVersionsAsync(secretId, cancellationToken);
            if (cli.Json(parseResult))
            {
                cli.WriteJson(new SecretVersionsOutput(secretId, list), CliJsonContext.Output.SecretVersionsOutput);
            }
            else
            {
                Table.Write(cli.Out, ["VERSION", "CREATED"],
                    list.Select(v => new[] { v.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), Table.Time(v.CreatedAt) }),
                    "No versions");
            }

            return ExitCodes.Ok;
        });
        return versions;
    }

    private static Dictionary<string, string> ReadPairs(Cli cli, ParseResult parseResult, Option<string[]> data, Option<string?> dataFile)
    {
        var tokens = parseResult.GetValue(data) ?? [];
        var file = parseResult.GetValue(dataFile);
        return (tokens.Length > 0, file is not null) switch
        {
            (true, true) => throw new UsageException("give either --data or --data-file, not both"),
            (true, false) => KeyValueParser.ParseTokens(tokens),
            (false, true) => KeyValueParser.ParseFile(SecretInput.ReadText(cli.Console, file!, "--data-file"), file == "-" ? "stdin" : file!),
            _ => throw new UsageException("give the pairs with --data \"NAME=VALUE …\" or --data-file FILE (- for stdin)"),
        };
    }

    private static Option<string[]> DataOption() => new("--data")
    {
        Description = "NAME=VALUE pairs, space separated (\"A=1 B=2\"); a space starts a new pair only before a word with '='; quote such values ('A=\"x B=y\"'). Repeatable",
        AllowMultipleArgumentsPerToken = true,
        Arity = ArgumentArity.OneOrMore,
    };

    private static Option<string?> DataFileOption() => new("--data-file")
    {
        Description = "Read the pairs from a file (NAME=VALUE lines or a JSON object); - reads stdin",
    };

    internal static Option<string> SecretIdOption() => new("--secret-id") { Description = "The secret's id", Required = true };

    private static Argument<string> IdArgument() => new("ID") { Description = "The secret's id" };
}
