using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Web;

namespace Keyroom.Server.Tests.OAuth;

/// <summary>
/// A real OAuth/OIDC provider: the npm package oidc-provider (pinned in test/oidc/package-lock.json) run by
/// test/oidc/provider.mjs on a free loopback port. Its interaction page logs in the login_hint account
/// ("test-user" by default; "deny" refuses) and consents automatically, so <see cref="AuthorizeAsync"/>
/// walks the provider's own redirect chain (/auth → /interaction → /auth/{uid} → … → redirect_uri?code=)
/// with a cookie jar, no browser. The process ends when its stdin closes.
/// </summary>
public sealed class OidcProvider : IAsyncDisposable
{
    /// <summary>The redirect URI every test client is registered with.</summary>
    public const string RedirectUri = "http://127.0.0.1/callback";

    /// <summary>Confidential client that authenticates with client_secret_post.</summary>
    public const string PostClient = "keyroom-post";

    public const string PostSecret = "post-secret";

    /// <summary>Confidential client that authenticates with client_secret_basic.</summary>
    public const string BasicClient = "keyroom-basic";

    public const string BasicSecret = "basic-secret";

    /// <summary>Public client (no secret).</summary>
    public const string PublicClient = "keyroom-public";

    private readonly Process _process;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(15) };

    private OidcProvider(Process process, JsonObject discovery)
    {
        _process = process;
        Issuer = discovery["issuer"]!.GetValue<string>();
        AuthorizationEndpoint = discovery["authorization_endpoint"]!.GetValue<string>();
        TokenEndpoint = discovery["token_endpoint"]!.GetValue<string>();
        UserInfoEndpoint = discovery["userinfo_endpoint"]!.GetValue<string>();
    }

    public string Issuer { get; }

    public string AuthorizationEndpoint { get; }

    public string TokenEndpoint { get; }

    public string UserInfoEndpoint { get; }

    /// <summary>The real token endpoint behind a gate that accepts only client_secret_basic (like some providers do).</summary>
    public string BasicOnlyTokenEndpoint => Issuer + "/token-basic-only";

    public static string Directory { get; } = FindDirectory();

    /// <summary>Starts the provider and waits for its ready line.</summary>
    public static async Task<OidcProvider> StartAsync(int accessTokenTtlSeconds = 300)
    {
        if (!System.IO.Directory.Exists(Path.Combine(Directory, "node_modules", "oidc-provider")))
        {
            throw new InvalidOperationException($"oidc-provider is not installed: run 'npm ci' in {Directory} (./test.sh does this)");
        }

        var start = new ProcessStartInfo("node", ["provider.mjs"])
        {
            WorkingDirectory = Directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["OIDC_ACCESS_TOKEN_TTL"] = accessTokenTtlSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start node");
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string? line;
        try
        {
            line = await process.StandardOutput.ReadLineAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            line = null;
        }

        if (line is null || JsonNode.Parse(line) is not JsonObject discovery || discovery["ready"]?.GetValue<bool>() != true)
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            string text;
            lock (stderr)
            {
                text = stderr.ToString();
            }

            throw new InvalidOperationException($"oidc-provider did not start: {line}\n{text}");
        }

        return new OidcProvider(process, discovery);
    }

    /// <summary>The oauth object (OAuthClientConfig) a requester would send for one of the test clients.</summary>
    public JsonObject OAuthConfig(string clientId, string? clientSecret, bool noPkce = false) => new()
    {
        ["client_id"] = clientId,
        ["client_secret"] = clientSecret,
        ["authorization_endpoint"] = AuthorizationEndpoint,
        ["token_endpoint"] = TokenEndpoint,
        ["no_pkce"] = noPkce ? true : null,
        ["scopes"] = new JsonArray("openid", "offline_access"),
    };

    /// <summary>
    /// Runs the authorization request as a user agent would and returns the code from the redirect
    /// (or the provider's error). offline_access with prompt=consent makes the provider issue a refresh token.
    /// </summary>
    public async Task<AuthorizationResult> AuthorizeAsync(string clientId, string? codeChallenge, string loginHint = "test-user", CancellationToken cancellationToken = default)
    {
        var state = Guid.NewGuid().ToString("N");
        var query = HttpUtility.ParseQueryString(string.Empty);
        query["response_type"] = "code";
        query["client_id"] = clientId;
        query["redirect_uri"] = RedirectUri;
        query["scope"] = "openid offline_access";
        query["prompt"] = "consent";
        query["state"] = state;
        query["login_hint"] = loginHint;
        if (codeChallenge is not null)
        {
            query["code_challenge"] = codeChallenge;
            query["code_challenge_method"] = "S256";
        }

        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() };
        using var browser = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(15) };
        var url = new Uri(AuthorizationEndpoint + "?" + query);
        for (var hop = 0; hop < 12; hop++)
        {
            using var response = await browser.GetAsync(url, cancellationToken);
            var location = response.Headers.Location
                ?? throw new InvalidOperationException($"the provider answered {(int)response.StatusCode} without a redirect at {url.AbsolutePath}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
            url = location.IsAbsoluteUri ? location : new Uri(url, location);
            if (url.GetLeftPart(UriPartial.Path) == RedirectUri)
            {
                var back = HttpUtility.ParseQueryString(url.Query);
                Assert.Equal(state, back["state"]);
                return new AuthorizationResult(back["code"], back["error"]);
            }
        }

        throw new InvalidOperationException("the authorization request did not come back to the redirect URI");
    }

    /// <summary>What the provider's token endpoint has seen so far.</summary>
    public async Task<ProviderStats> GetStatsAsync()
    {
        var json = JsonNode.Parse(await _http.GetStringAsync(new Uri(Issuer + "/__test/stats")))!.AsObject();
        var errors = json["errors"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<int>());
        return new ProviderStats(
            json["token"]!["authorization_code"]!.GetValue<int>(),
            json["token"]!["refresh_token"]!.GetValue<int>(),
            json["revoked"]!.GetValue<int>(),
            json["basic_only_rejections"]!.GetValue<int>(),
            errors);
    }

    /// <summary>Calls the userinfo endpoint with an access token: 200 only while the token (and its grant) is valid.</summary>
    public async Task<HttpStatusCode> UserInfoStatusAsync(string accessToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, UserInfoEndpoint);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        using var response = await _http.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>A token request straight to the provider, bypassing Keyroom (e.g. to spend a refresh token behind its back).</summary>
    public async Task<JsonObject> PostTokenAsync(IDictionary<string, string> form)
    {
        using var response = await _http.PostAsync(new Uri(TokenEndpoint), new FormUrlEncodedContent(form));
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        try
        {
            _process.StandardInput.Close();
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException or IOException)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private static string FindDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "test", "oidc");
            if (File.Exists(Path.Combine(candidate, "provider.mjs")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("test/oidc not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>The redirect's code, or the provider's error.</summary>
public sealed record AuthorizationResult(string? Code, string? Error)
{
    public string RequireCode() => Code ?? throw new InvalidOperationException("no code: " + Error);
}

/// <summary>Token endpoint counters from the provider script.</summary>
public sealed record ProviderStats(int AuthorizationCodeGrants, int RefreshGrants, int Revoked, int BasicOnlyRejections, IReadOnlyDictionary<string, int> Errors)
{
    public int ErrorCount(string key) => Errors.TryGetValue(key, out var n) ? n : 0;
}
