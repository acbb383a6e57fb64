using System.CommandLine;
using Keyroom.Cli.Input;
using Keyroom.Client;

namespace Keyroom.Cli.Commands;

/// <summary>Which registry a docker-type secret is for; they differ only in how the credentials are given.</summary>
internal enum RegistryKind
{
    /// <summary>Any registry: server, username, password.</summary>
    Docker,

    /// <summary>Azure Container Registry: a *.azurecr.io server.</summary>
    Acr,

    /// <summary>Google Artifact Registry: a REGION-docker.pkg.dev server, user _json_key, a service account key file.</summary>
    Gar,
}

/// <summary><c>keyroom secret docker|acr|gar create|update</c>: secrets of type <c>docker</c>.</summary>
internal static class RegistryCommands
{
    public static Command Build(Cli cli, RegistryKind kind)
    {
        var (commandName, description) = kind switch
        {
            RegistryKind.Acr => ("acr", "Azure Container Registry pull credentials (a docker secret)"),
            RegistryKind.Gar => ("gar", "Google Artifact Registry pull credentials (a docker secret, user _json_key)"),
            _ => ("docker", "Docker registry pull credentials"),
        };
        var command = new Command(commandName, description);
        command.Subcommands.Add(BuildWrite(cli, kind, commandName, create: true));
        command.Subcommands.Add(BuildWrite(cli, kind, commandName, create: false));
        return command;
    }

    private static Command BuildWrite(Cli cli, RegistryKind kind, string commandName, bool create)
    {
        var name = new Option<string?>("--name") { Description = create ? "The secret's name" : "A new name (default: keep the current one)", Required = create };
        var secretId = SecretCommands.SecretIdOption();
        var nameOrId = create ? (Option)name : secretId;
        var server = new Option<string>("--server")
        {
            Description = kind switch
            {
                RegistryKind.Acr => "The registry, NAME.azurecr.io",
                RegistryKind.Gar => "The registry, REGION-docker.pkg.dev",
                _ => "The registry host, for example registry.example.com",
            },
            Required = true,
        };
        var username = new Option<string>("--username") { Description = kind == RegistryKind.Acr ? "The user (a token or service principal id)" : "The user name", Required = true };
        var password = new Option<string?>("--password") { Description = "The password (prefer --password-stdin: it stays out of shell history)" };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the password from stdin" };
        var jsonKeyFile = new Option<string>("--json-key-file") { Description = "The service account key JSON file; - reads stdin", Required = true };
        var email = new Option<string?>("--email") { Description = "The e-mail address (optional)" };

        var command = new Command(create ? "create" : "update", create ? "Create the secret; prints its id" : "Replace the credentials (a new version)");
        command.Options.Add(nameOrId);
        if (!create)
        {
            command.Options.Add(name);
        }

        command.Options.Add(server);
        if (kind == RegistryKind.Gar)
        {
            command.Options.Add(jsonKeyFile);
        }
        else
        {
            command.Options.Add(username);
            command.Options.Add(password);
            command.Options.Add(passwordStdin);
        }

        command.Options.Add(email);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var serverName = parseResult.GetRequiredValue(server).Trim();
            CheckServer(kind, serverName);
            var credentials = kind == RegistryKind.Gar
                ? new DockerCredentials
                {
                    Server = serverName,
                    Username = "_json_key",
                    Password = SecretInput.ReadJsonKeyFile(cli.Console, parseResult.GetRequiredValue(jsonKeyFile)),
                    Email = parseResult.GetValue(email),
                }
                : new DockerCredentials
                {
                    Server = serverName,
                    Username = parseResult.GetRequiredValue(username),
                    Password = ReadPassword(cli, parseResult.GetValue(password), parseResult.GetValue(passwordStdin)),
                    Email = parseResult.GetValue(email),
                };

            var client = cli.Connect(parseResult);
            SecretVersionRef written;
            if (create)
            {
                written = await client.CreateDockerSecretAsync(parseResult.GetValue(name)!, credentials, cancellationToken);
            }
            else
            {
                var id = parseResult.GetRequiredValue(secretId);
                var current = await SecretCommands.FindForUpdateAsync(client, id, SecretTypes.Docker, commandName, cancellationToken);
                written = await client.UpdateDockerSecretAsync(id, parseResult.GetValue(name) ?? current.Name, credentials, cancellationToken);
            }

            SecretCommands.WriteWritten(cli, parseResult, written, create);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void CheckServer(RegistryKind kind, string server)
    {
        if (server.Length == 0 || server.Contains("://", StringComparison.Ordinal) || server.Any(char.IsWhiteSpace))
        {
            throw new UsageException("--server takes a registry host name such as registry.example.com (no scheme)");
        }

        if (kind == RegistryKind.Acr && !server.EndsWith(".azurecr.io", StringComparison.OrdinalIgnoreCase))
        {
            throw new UsageException($"--server must be an Azure Container Registry host, NAME.azurecr.io (got {server})");
        }

        if (kind == RegistryKind.Gar && !server.EndsWith("-docker.pkg.dev", StringComparison.OrdinalIgnoreCase))
        {
            throw new UsageException($"--server must be a Google Artifact Registry host, REGION-docker.pkg.dev (got {server})");
        }
    }

    private static string ReadPassword(Cli cli, string? password, bool fromStdin) => (password, fromStdin) switch
    {
        (not null, true) => throw new UsageException("give either --password or --password-stdin, not both"),
        (not null, false) when password.Length == 0 => throw new UsageException("--password is empty"),
        (not null, false) => password,
        (null, true) => SecretInput.ReadPasswordFromStdin(cli.Console),
        _ => throw new UsageException("give the password with --password-stdin (or --password)"),
    };
}
