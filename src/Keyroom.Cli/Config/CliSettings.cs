using Keyroom.Client;

namespace Keyroom.Cli.Config;

/// <summary>
/// The settings a command connects with. Precedence: command-line flags, then environment variables
/// (<c>KEYROOM_URL</c>, <c>KEYROOM_API_KEY</c> else <c>MESHAGENT_API_KEY</c>, <c>KEYROOM_PROJECT</c>), then the config
/// file, then defaults. The project defaults to the one encoded in an <c>ma-</c> key.
/// </summary>
internal sealed record CliSettings(Uri Url, string ApiKey, string? ProjectId)
{
    public static readonly Uri DefaultUrl = new("http://localhost:5000");

    public static CliSettings Resolve(CliConsole console, string? urlFlag, string? projectFlag)
    {
        var file = ConfigFile.Load(ConfigFile.PathFor(console));
        var url = ParseUrl(urlFlag ?? console.Env("KEYROOM_URL") ?? file.Url) ?? DefaultUrl;
        var apiKeyFromEnvironment = console.Env("KEYROOM_API_KEY") ?? console.Env("MESHAGENT_API_KEY");
        var apiKey = apiKeyFromEnvironment ?? file.ApiKey
            ?? throw new UsageException("no API key: run 'keyroom setup' or set KEYROOM_API_KEY");

        // A project saved with the file's key does not apply to a key from the environment.
        var project = projectFlag ?? console.Env("KEYROOM_PROJECT") ?? (apiKeyFromEnvironment is null ? file.ProjectId : null);
        return new CliSettings(url, apiKey, project);
    }

    /// <summary>Parses a server URL; null for null. Only absolute http(s) URLs are accepted.</summary>
    public static Uri? ParseUrl(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            throw new UsageException($"'{text}' is not an http(s) URL such as http://localhost:5000");
        }

        return url;
    }

    /// <summary>The project a project-scoped command addresses, or a usage error naming how to set it.</summary>
    public string RequireProject()
    {
        if (ProjectId is not null)
        {
            return ProjectId;
        }

        if (ApiKeyIds.TryParse(ApiKey, out var ids))
        {
            return ids.ProjectId;
        }

        throw new UsageException(ApiKey.StartsWith("ma-", StringComparison.Ordinal)
            ? "the API key is not a well-formed ma- key; check KEYROOM_API_KEY or run 'keyroom setup'"
            : "no project: the API key does not name one; pass --project or set KEYROOM_PROJECT");
    }
}
