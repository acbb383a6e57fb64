using Microsoft.Extensions.Options;

namespace Keyroom.Server.OAuth;

/// <summary>Outbound OAuth settings, bound from "Keyroom:OAuth".</summary>
internal sealed class OAuthOptions
{
    public const string Section = "Keyroom:OAuth";

    /// <summary>
    /// Development and tests only: also permit <c>http://</c> token endpoints and loopback destinations.
    /// Without it only <c>https://</c> endpoints on non-loopback addresses are called.
    /// </summary>
    public bool AllowInsecureHttp { get; set; }

    /// <summary>How long one call to a token endpoint may take, seconds.</summary>
    public int TimeoutSeconds { get; set; } = 15;

    public TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSeconds);
}

/// <summary>Checks the OAuth settings at start, every problem in one message.</summary>
internal sealed class OAuthOptionsValidator : IValidateOptions<OAuthOptions>
{
    public ValidateOptionsResult Validate(string? name, OAuthOptions options)
    {
        var problems = new List<string>();
        if (options.TimeoutSeconds is < 1 or > 300)
        {
            problems.Add("Keyroom:OAuth:TimeoutSeconds must be between 1 and 300");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
