using System.CommandLine;
using Keyroom.Cli.Output;
using Keyroom.Client;

namespace Keyroom.Cli.Commands;

/// <summary><c>keyroom apikey …</c>: the project's API keys (admin).</summary>
internal static class ApiKeyCommands
{
    public static Command Build(Cli cli)
    {
        var apiKey = new Command("apikey", "API keys of the project (admin)");
        apiKey.Subcommands.Add(BuildCreate(cli));
        apiKey.Subcommands.Add(BuildList(cli));
        apiKey.Subcommands.Add(BuildDelete(cli));
        return apiKey;
    }

    private static Command BuildCreate(Cli cli)
    {
        var name = new Option<string>("--name") { Description = "The key's name (also the identity its room tokens carry)", Required = true };
        var role = new Option<string?>("--role") { Description = "admin, developer (default) or member" };
        role.AcceptOnlyFromAmong(ProjectRoles.Admin, ProjectRoles.Developer, ProjectRoles.Member);
        var description = new Option<string?>("--description") { Description = "Free text" };
        var create = new Command("create", "Create an API key; its value is shown once") { name, role, description };
        create.SetAction(async (parseResult, cancellationToken) =>
        {
            var created = await cli.Connect(parseResult).CreateApiKeyAsync(
                new CreateApiKeyRequest
                {
                    Name = parseResult.GetRequiredValue(name),
                    Role = parseResult.GetValue(role),
                    Description = parseResult.GetValue(description) ?? string.Empty,
                },
                cancellationToken);
            if (cli.Json(parseResult))
            {
                cli.WriteJson(created, CliJsonContext.Output.CreatedApiKey);
            }
            else
            {
                Table.WriteFields(cli.Out, ("Id", created.Id), ("Name", created.Name), ("Role", created.Role), ("Key", created.Value));
                cli.Out.WriteLine("The key is shown once: store it now.");
            }

            return ExitCodes.Ok;
        });
        return create;
    }

    private static Command BuildList(Cli cli)
    {
        var list = new Command("list", "List API keys (no values)");
        list.SetAction(async (parseResult, cancellationToken) =>
        {
            var keys = await cli.Connect(parseResult).ListApiKeysAsync(cancellationToken);
            if (cli.Json(parseResult))
            {
                cli.WriteJson(new ApiKeyListOutput(keys), CliJsonContext.Output.ApiKeyListOutput);
            }
            else
            {
                Table.Write(cli.Out, ["ID", "NAME", "ROLE", "CREATED", "DESCRIPTION"],
                    keys.Select(k => new[] { k.Id, k.Name, k.Role, Table.Time(k.CreatedAt), k.Description }),
                    "No API keys");
            }

            return ExitCodes.Ok;
        });
        return list;
    }

    private static Command BuildDelete(Cli cli)
    {
        var id = new Argument<string>("ID") { Description = "The key's id" };
        var delete = new Command("delete", "Delete (revoke) an API key") { id };
        delete.SetAction(async (parseResult, cancellationToken) =>
        {
            var keyId = parseResult.GetRequiredValue(id);
            await cli.Connect(parseResult).DeleteApiKeyAsync(keyId, cancellationToken);
            if (cli.Json(parseResult))
            {
                cli.WriteJson(new DeletedOutput(keyId, Deleted: true), CliJsonContext.Output.DeletedOutput);
            }
            else
            {
                cli.Out.WriteLine($"deleted API key {keyId}");
            }

            return ExitCodes.Ok;
        });
        return delete;
    }
}
