using System.CommandLine;
using Keyroom.Cli.Config;
using Keyroom.Cli.Output;
using Keyroom.Client;

namespace Keyroom.Cli.Commands;

/// <summary>
/// <c>keyroom setup</c>: saves the server URL and API key to the config file (0600) after checking the key
/// against the server. Prompts for missing values only when stdin is a terminal.
/// </summary>
internal static class SetupCommand
{
    public static Command Build(Cli cli)
    {
        var apiKey = new Option<string?>("--api-key")
        {
            Description = "The API key (ma-…); else KEYROOM_API_KEY / MESHAGENT_API_KEY, else a prompt",
        };
        var command = new Command("setup", "Save the server URL and API key, after checking them (prints the project and role)")
        {
            apiKey,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var console = cli.Console;
            var path = ConfigFile.PathFor(console);
            var existing = LoadOrEmpty(path);

            var urlText = parseResult.GetValue(cli.UrlOption) ?? console.Env("KEYROOM_URL");
            var fallbackUrl = existing.Url ?? CliSettings.DefaultUrl.ToString().TrimEnd('/');
            if (urlText is null && console.InputIsTerminal)
            {
                await console.Error.WriteAsync($"Keyroom server URL [{fallbackUrl}]: ");
                urlText = console.In.ReadLine();
            }

            var url = CliSettings.ParseUrl(urlText) ?? CliSettings.ParseUrl(fallbackUrl)!;

            var key = parseResult.GetValue(apiKey) ?? console.Env("KEYROOM_API_KEY") ?? console.Env("MESHAGENT_API_KEY") ?? existing.ApiKey;
            if (key is null && console.InputIsTerminal && console.ReadHiddenLine is { } readHidden)
            {
                await console.Error.WriteAsync("API key (ma-…, input hidden): ");
                key = readHidden();
            }

            key = key?.Trim();
            if (string.IsNullOrEmpty(key))
            {
                throw new UsageException("setup needs an API key: pass --api-key, set KEYROOM_API_KEY, or run it in a terminal to be prompted");
            }

            var project = parseResult.GetValue(cli.ProjectOption) ?? console.Env("KEYROOM_PROJECT");
            var projectId = project ?? (ApiKeyIds.TryParse(key, out var ids) ? ids.ProjectId
                : throw new UsageException("the API key is not an ma- key, so the project is unknown: pass --project"));

            var client = cli.Connect(url, key, projectId);
            var role = await client.GetRoleAsync(cancellationToken);

            var saved = new ConfigFile { Url = url.AbsoluteUri.TrimEnd('/'), ApiKey = key, ProjectId = project };
            saved.Save(path);

            if (cli.Json(parseResult))
            {
                cli.WriteJson(new SetupOutput(path, saved.Url, projectId, role), CliJsonContext.Output.SetupOutput);
            }
            else
            {
                cli.Out.WriteLine($"Saved {path}");
                Table.WriteFields(cli.Out, ("Server", saved.Url), ("Project", projectId), ("Role", role));
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static ConfigFile LoadOrEmpty(string path)
    {
        try
        {
            return ConfigFile.Load(path);
        }
        catch (UsageException)
        {
            // A broken file is what setup is for: it is rewritten below.
            return new ConfigFile();
        }
    }
}
