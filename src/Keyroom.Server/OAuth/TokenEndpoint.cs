using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Keyroom.Server.OAuth;

/// <summary>A successful token response (RFC 6749 §5.1).</summary>
internal sealed record TokenResponse(string AccessToken, string? TokenType, string? RefreshToken, long? ExpiresIn, string? Scope)
{
    // ToString must never print the tokens.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("TokenType = ").Append(TokenType).Append(", ExpiresIn = ").Append(ExpiresIn).Append(", Scope = ").Append(Scope);
        return true;
    }
}

/// <summary>Why a token request did not succeed.</summary>
internal enum TokenFailure
{
    /// <summary>The provider answered with an OAuth error (RFC 6749 §5.2); <see cref="TokenResult.Error"/> is its code.</summary>
    Rejected,
    /// <summary>No usable answer: connection failure, 5xx, a redirect, or a body that is not a token response.</summary>
    Unavailable,
    /// <summary>No answer within the configured timeout.</summary>
    TimedOut,
    /// <summary>The outbound guard refused the endpoint; nothing was sent.</summary>
    Refused,
}

/// <summary>The outcome of one token request: a response, or a failure with a caller-safe error text.</summary>
internal sealed record TokenResult(TokenResponse? Response, ClientAuthMethod ClientAuth, TokenFailure Failure, string Error)
{
    public bool Succeeded => Response is not null;

    public static TokenResult Success(TokenResponse response, ClientAuthMethod clientAuth) => new(response, clientAuth, default, string.Empty);

    public static TokenResult Fail(TokenFailure failure, string error) => new(null, default, failure, error);
}

/// <summary>
/// Calls a token endpoint: one form POST (no redirects followed), the client authenticated with
/// client_secret_post or client_secret_basic (falling back to the other once when the provider answers
/// invalid_client), the JSON answer parsed and its buffer cleared. Errors carry only the provider's
/// sanitized OAuth error code or a fixed word, never the code, tokens or secret that were sent.
/// </summary>
internal sealed class TokenEndpoint(IHttpClientFactory httpClientFactory, OutboundGuard guard, IOptions<OAuthOptions> options, ILogger<TokenEndpoint> logger)
{
    /// <summary>The named HttpClient for token endpoints.</summary>
    public const string HttpClientName = "Keyroom.OAuth";

    /// <summary>The largest token response read.</summary>
    public const int MaxResponseBytes = 64 * 1024;

    private static readonly long MaxExpiresIn = (long)TimeSpan.FromDays(3650).TotalSeconds;

    /// <summary>Sends a token request (the grant's own form fields in <paramref name="form"/>).</summary>
    public async Task<TokenResult> RequestAsync(
        Uri endpoint, string clientId, string? clientSecret, ClientAuthMethod preferred, IReadOnlyList<KeyValuePair<string, string>> form, CancellationToken cancellationToken)
    {
        if (guard.CheckUrl(endpoint) is { } reason)
        {
            OAuthLog.EndpointRefused(logger, endpoint.IdnHost, reason);
            return TokenResult.Fail(TokenFailure.Refused, reason);
        }

        ClientAuthMethod[] methods = clientSecret is null ? [ClientAuthMethod.None]
            : preferred == ClientAuthMethod.ClientSecretBasic ? [ClientAuthMethod.ClientSecretBasic, ClientAuthMethod.ClientSecretPost]
            : [ClientAuthMethod.ClientSecretPost, ClientAuthMethod.ClientSecretBasic];
        TokenResult result = null!;
        for (var i = 0; i < methods.Length; i++)
        {
            result = await SendAsync(endpoint, clientId, clientSecret, methods[i], form, cancellationToken);
            if (result.Succeeded || result.Failure != TokenFailure.Rejected || result.Error != "invalid_client" || i == methods.Length - 1)
            {
                break;
            }

            OAuthLog.ClientAuthRetry(logger, endpoint.IdnHost, methods[i], methods[i + 1]);
        }

        return result;
    }

    private async Task<TokenResult> SendAsync(
        Uri endpoint, string clientId, string? clientSecret, ClientAuthMethod method, IReadOnlyList<KeyValuePair<string, string>> form, CancellationToken cancellationToken)
    {
        var fields = new List<KeyValuePair<string, string>>(form);
        if (method != ClientAuthMethod.ClientSecretBasic)
        {
            fields.Add(new("client_id", clientId));
        }

        if (method == ClientAuthMethod.ClientSecretPost)
        {
            fields.Add(new("client_secret", clientSecret!));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new FormUrlEncodedContent(fields) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (method == ClientAuthMethod.ClientSecretBasic)
        {
            // RFC 6749 §2.3.1: both parts form-encoded before base64.
            var pair = Uri.EscapeDataString(clientId) + ":" + Uri.EscapeDataString(clientSecret!);
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(pair)));
        }

        var client = httpClientFactory.CreateClient(HttpClientName);
        byte[] body;
        HttpStatusCode status;
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            status = response.StatusCode;
            body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return TokenResult.Fail(TokenFailure.TimedOut, "timeout");
        }
        catch (HttpRequestException ex) when (ex.InnerException is OutboundRefusedException)
        {
            OAuthLog.EndpointRefused(logger, endpoint.IdnHost, "the host resolves only to addresses this server may not call");
            return TokenResult.Fail(TokenFailure.Refused, "its address is not reachable from this server");
        }
        catch (HttpRequestException ex)
        {
            return TokenResult.Fail(TokenFailure.Unavailable, ex.HttpRequestError switch
            {
                HttpRequestError.Unknown => "connection_failed",
                HttpRequestError.ConfigurationLimitExceeded => "response_too_large",
                var other => Snake(other.ToString()),
            });
        }

        try
        {
            return Parse(status, body, method);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(body);
        }
    }

    private static TokenResult Parse(HttpStatusCode status, byte[] body, ClientAuthMethod method)
    {
        var code = (int)status;
        JsonDocument document;
        try
        {
            // Parses in place: no copy of the tokens is left behind once the body is cleared.
            document = JsonDocument.Parse(body.AsMemory());
        }
        catch (JsonException)
        {
            return TokenResult.Fail(TokenFailure.Unavailable, code is >= 200 and < 300 ? "invalid_response" : "http_" + code.ToString(CultureInfo.InvariantCulture));
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return TokenResult.Fail(TokenFailure.Unavailable, "invalid_response");
            }

            // Some providers answer errors with 200, so "error" decides, not the status.
            if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String)
            {
                return TokenResult.Fail(code >= 500 ? TokenFailure.Unavailable : TokenFailure.Rejected, SanitizeErrorCode(error.GetString()));
            }

            if (code is < 200 or >= 300)
            {
                return TokenResult.Fail(TokenFailure.Unavailable, "http_" + code.ToString(CultureInfo.InvariantCulture));
            }

            if (String(root, "access_token") is not { Length: > 0 } accessToken)
            {
                return TokenResult.Fail(TokenFailure.Unavailable, "invalid_response");
            }

            var refreshToken = String(root, "refresh_token");
            var response = new TokenResponse(
                accessToken, String(root, "token_type"), string.IsNullOrEmpty(refreshToken) ? null : refreshToken, ExpiresIn(root), String(root, "scope"));
            return TokenResult.Success(response, method);
        }
    }

    private static long? ExpiresIn(JsonElement root)
    {
        if (!root.TryGetProperty("expires_in", out var e))
        {
            return null;
        }

        long? seconds = e.ValueKind switch
        {
            JsonValueKind.Number when e.TryGetInt64(out var n) => n,
            JsonValueKind.Number when e.TryGetDouble(out var d) => (long)Math.Min(d, MaxExpiresIn),
            JsonValueKind.String when long.TryParse(e.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) => s,
            _ => null,
        };
        return seconds is { } value ? Math.Clamp(value, 0, MaxExpiresIn) : null;
    }

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>An OAuth error code as safe text: RFC 6749 codes are short ASCII words; anything else is replaced.</summary>
    internal static string SanitizeErrorCode(string? error) =>
        error is { Length: > 0 and <= 64 } && error.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.')
            ? error
            : "unrecognized_error";

    private static string Snake(string name)
    {
        var text = new StringBuilder();
        foreach (var c in name)
        {
            if (char.IsUpper(c) && text.Length > 0)
            {
                text.Append('_');
            }

            text.Append(char.ToLowerInvariant(c));
        }

        return text.ToString();
    }

    /// <summary>The configured timeout, for messages.</summary>
    public int TimeoutSeconds => options.Value.TimeoutSeconds;
}
