using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Keyroom.Cli.Config;
using Keyroom.Client;

namespace Keyroom.Cli;

/// <summary>
/// What every command shares: the console, the global options (<c>--json</c>, <c>--url</c>,
/// <c>--project</c>), settings resolution, one HttpClient, and JSON output.
/// </summary>
internal sealed class Cli : IDisposable
{
    private HttpClient? _http;

    public Cli(CliConsole console)
    {
        Console = console;
    }

    public CliConsole Console { get; }

    public TextWriter Out => Console.Out;

    public Option<bool> JsonOption { get; } = new("--json")
    {
        Description = "Print machine-readable JSON instead of tables",
        Recursive = true,
    };

    public Option<string?> UrlOption { get; } = new("--url")
    {
        Description = "The Keyroom server URL (else KEYROOM_URL, else the config file, else http://localhost:5000)",
        Recursive = true,
    };

    public Option<string?> ProjectOption { get; } = new("--project")
    {
        Description = "The project id (else KEYROOM_PROJECT, else the one in the API key)",
        Recursive = true,
    };

    /// <summary>The server the current command talks to, for connection error messages.</summary>
    public Uri? CurrentUrl { get; private set; }

    public bool Json(ParseResult parseResult) => parseResult.GetValue(JsonOption);

    public CliSettings Settings(ParseResult parseResult) =>
        CliSettings.Resolve(Console, parseResult.GetValue(UrlOption), parseResult.GetValue(ProjectOption));

    /// <summary>A client for project-scoped commands (a project id is required).</summary>
    public AccountsClient Connect(ParseResult parseResult)
    {
        var settings = Settings(parseResult);
        return Connect(settings.Url, settings.ApiKey, settings.RequireProject());
    }

    /// <summary>A client for server-wide admin commands (no project needed).</summary>
    public AccountsClient ConnectWithoutProject(ParseResult parseResult)
    {
        var settings = Settings(parseResult);
        return Connect(settings.Url, settings.ApiKey, settings.ProjectId);
    }

    public AccountsClient Connect(Uri url, string apiKey, string? projectId)
    {
        CurrentUrl = url;
        _http ??= new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) })
        {
            Timeout = TimeSpan.FromSeconds(100),
        };
        return new AccountsClient(_http, new KeyroomClientOptions { BaseUrl = url, ApiKey = apiKey, ProjectId = projectId });
    }

    /// <summary>Writes indented JSON (use the <see cref="Output.CliJsonContext.Output"/> type infos).</summary>
    public void WriteJson<T>(T value, JsonTypeInfo<T> type) => Out.WriteLine(JsonSerializer.Serialize(value, type));

    public void Dispose() => _http?.Dispose();
}
