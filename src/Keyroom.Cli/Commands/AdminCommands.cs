using System.CommandLine;
using System.Globalization;
using Keyroom.Cli.Output;

namespace Keyroom.Cli.Commands;

/// <summary>
/// <c>keyroom admin …</c>: server-wide administration (needs an admin key of the system project, the one
/// created on first start) and the project audit log.
/// </summary>
internal static class AdminCommands
{
    public static Command Build(Cli cli)
    {
        var admin = new Command("admin", "Server administration: projects, master key, audit");
        admin.Subcommands.Add(BuildProject(cli));
        admin.Subcommands.Add(BuildRotate(cli));
        admin.Subcommands.Add(BuildMasterKey(cli));
        admin.Subcommands.Add(BuildAudit(cli));
        return admin;
    }

    private static Command BuildProject(Cli cli)
    {
        var name = new Option<string>("--name") { Description = "The project's name", Required = true };
        var create = new Command("create", "Create a project and its first admin API key (shown once)") { name };
        create.SetAction(async (parseResult, cancellationToken) =>
        {
            var project = await cli.ConnectWithoutProject(parseResult).CreateProjectAsync(parseResult.GetRequiredValue(name), cancellationToken);
            if (cli.Json(parseResult))
            {
                cli.WriteJson(project, CliJsonContext.Output.CreatedProject);
            }
            else
            {
                Table.WriteFields(cli.Out, ("Id", project.Id), ("Name", project.Name), ("Admin API key", project.AdminApiKey));
                cli.Out.WriteLine("The key is shown once: store it now.");
            }

            return ExitCodes.Ok;
        });

        var list = new Command("list", "List all projects");
        list.SetAction(async (parseResult, cancellationToken) =>
        {
            var projects = await cli.ConnectWithoutProject(parseResult).ListProjectsAsync(cancellationToken);
            if (cli.Json(parseResult))
            {
                cli.WriteJson(new ProjectListOutput(projects), CliJsonContext.Output.ProjectListOutput);
            }
            else
            {
                Table.Write(cli.Out, ["ID", "NAME", "CREATED"], projects.Select(p => new[] { p.Id, p.Name, Table.Time(p.CreatedAt) }), "No projects");
            }

            return ExitCodes.Ok;
        });

        return new Command("project", "Projects on this server") { create, list };
    }

    private static Command BuildRotate(Cli cli)
    {
        var rotate = new Command("rotate-master-key", "Rotate the master key and re-wrap every data key");
        rotate.SetAction(async (parseResult, cancellationToken) =>
        {
            var rotation = await cli.ConnectWithoutProject(parseResult).RotateMasterKeyAsync(cancellationToken);
            if (cli.Json(parseResult))
            {
                cli.WriteJson(rotation, CliJsonContext.Output.MasterKeyRotation);
            }
            else
            {
                Table.WriteFields(cli.Out,
                    ("Active key", rotation.ActiveKeyId),
                    ("Previous key", rotation.PreviousKeyId),
                    ("Re-wrapped", rotation.Rewrapped.ToString(CultureInfo.InvariantCulture)));
            }

            return ExitCodes.Ok;
        });
        return rotate;
    }

    private static Command BuildMasterKey(Cli cli)
    {
        var status = new Command("status", "Show the active master key id, the ids in use and the key source");
        status.SetAction(async (parseResult, cancellationToken) =>
        {
            var state = await cli.ConnectWithoutProject(parseResult).GetMasterKeyStatusAsync(cancellationToken);
            if (cli.Json(parseResult))
            {
                cli.WriteJson(state, CliJsonContext.Output.MasterKeyStatus);
            }
            else
            {
                Table.WriteFields(cli.Out,
                    ("Active key", state.ActiveKeyId),
                    ("Keys in use", string.Join(", ", state.KeyIdsInUse)),
                    ("Source", state.Source));
            }

            return ExitCodes.Ok;
        });
        return new Command("master-key", "The master key") { status };
    }

    private static Command BuildAudit(Cli cli)
    {
        var verify = new Command("verify", "Check the audit chain; exit code 1 when it is not intact");
        verify.SetAction(async (parseResult, cancellationToken) =>
        {
            var result = await cli.ConnectWithoutProject(parseResult).VerifyAuditAsync(cancellationToken);
            var checkedCount = result.Checked.ToString(CultureInfo.InvariantCulture);
            if (cli.Json(parseResult))
            {
                cli.WriteJson(result, CliJsonContext.Output.AuditVerification);
            }
            else if (result.Intact)
            {
                cli.Out.WriteLine($"audit chain intact: {checkedCount} entries checked");
            }

            if (!result.Intact)
            {
                var where = result.FirstBadSequence is { } bad ? $" at sequence {bad.ToString(CultureInfo.InvariantCulture)}" : "";
                throw new CommandFailedException($"the audit chain is NOT intact{where}: {result.Problem ?? "verification failed"} ({checkedCount} entries checked)");
            }

            return ExitCodes.Ok;
        });

        var after = new Option<long>("--after") { Description = "Only entries after this sequence number", DefaultValueFactory = _ => 0 };
        var limit = new Option<int>("--limit") { Description = "The most entries to show", DefaultValueFactory = _ => 100 };
        var list = new Command("list", "Show the project's audit entries (project admin)") { after, limit };
        list.SetAction(async (parseResult, cancellationToken) =>
        {
            var entries = await cli.Connect(parseResult).ListAuditAsync(parseResult.GetValue(after), parseResult.GetValue(limit), cancellationToken);
            if (cli.Json(parseResult))
            {
                cli.WriteJson(new AuditListOutput(entries), CliJsonContext.Output.AuditListOutput);
            }
            else
            {
                Table.Write(cli.Out, ["SEQ", "AT", "ACTOR", "ACTION", "TARGET", "OUTCOME"],
                    entries.Select(e => new[] { e.Sequence.ToString(CultureInfo.InvariantCulture), Table.Time(e.At), e.Actor, e.Action, e.Target, e.Outcome }),
                    "No audit entries");
            }

            return ExitCodes.Ok;
        });

        return new Command("audit", "The audit log") { verify, list };
    }
}
