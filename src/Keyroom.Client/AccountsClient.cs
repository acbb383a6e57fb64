using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Keyroom.Client.Serialization;

namespace Keyroom.Client;

/// <summary>
/// The accounts REST API of a Keyroom (or MeshAgent-compatible) server: project secrets, room secrets,
/// rooms, API keys, role and the Keyroom admin endpoints. Thread-safe; it does not change the
/// <see cref="HttpClient"/> it is given, so it fits <c>IHttpClientFactory</c> typed clients.
/// </summary>
public sealed partial class AccountsClient
{
    private const int MaxErrorBodyBytes = 64 * 1024;

    private readonly HttpClient _http;
    private readonly string? _apiKey;

    /// <summary>Creates a client.</summary>
    /// <param name="httpClient">The HttpClient to send with (not disposed by this client).</param>
    /// <param name="options">The base URL, credential and project.</param>
    /// <exception cref="ArgumentException">Neither the options nor the HttpClient give an absolute base URL.</exception>
    public AccountsClient(HttpClient httpClient, KeyroomClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        _http = httpClient;
        BaseUrl = options.BaseUrl ?? httpClient.BaseAddress
            ?? throw new ArgumentException("set KeyroomClientOptions.BaseUrl or HttpClient.BaseAddress", nameof(options));
        if (!BaseUrl.IsAbsoluteUri)
        {
            throw new ArgumentException("the base URL must be absolute, for example http://localhost:5000", nameof(options));
        }

        _apiKey = string.IsNullOrEmpty(options.ApiKey) ? null : options.ApiKey;
        ProjectId = !string.IsNullOrEmpty(options.ProjectId) ? options.ProjectId
            : ApiKeyIds.TryParse(_apiKey, out var ids) ? ids.ProjectId
            : null;
    }

    /// <summary>The server's base URL.</summary>
    public Uri BaseUrl { get; }

    /// <summary>The project that project-scoped calls address: the configured one, else the one in the API key.</summary>
    public string? ProjectId { get; }

    /// <summary>Gets the caller's role in the project (<c>admin</c>, <c>developer</c> or <c>member</c>).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The role.</returns>
    public async Task<string> GetRoleAsync(CancellationToken cancellationToken = default)
    {
        var response = await GetAsync(ProjectPath("/role"), KeyroomJsonContext.Default.RoleResponse, cancellationToken).ConfigureAwait(false);
        return response.Role ?? string.Empty;
    }

    private string RequireProject() => ProjectId
        ?? throw new InvalidOperationException("no project id: set KeyroomClientOptions.ProjectId or use an ma- API key");

    private string ProjectPath(string suffix) => "/accounts/projects/" + Segment(RequireProject()) + suffix;

    private static string Segment(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        return Uri.EscapeDataString(value);
    }

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var builder = new StringBuilder();
        foreach (var (name, value) in parameters)
        {
            if (value is null)
            {
                continue;
            }

            builder.Append(builder.Length == 0 ? '?' : '&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
        }

        return builder.ToString();
    }

    private static string? Number(long? value) => value?.ToString(CultureInfo.InvariantCulture);

    private Task<TResponse> GetAsync<TResponse>(string path, JsonTypeInfo<TResponse> responseType, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, path, content: null, responseType, cancellationToken);

    private Task<TResponse> SendJsonAsync<TRequest, TResponse>(HttpMethod method, string path, TRequest body, JsonTypeInfo<TRequest> requestType, JsonTypeInfo<TResponse> responseType, CancellationToken cancellationToken) =>
        SendAsync(method, path, JsonContent.Create(body, requestType), responseType, cancellationToken);

    private async Task SendJsonAsync<TRequest>(HttpMethod method, string path, TRequest body, JsonTypeInfo<TRequest> requestType, CancellationToken cancellationToken)
    {
        using var response = await SendCoreAsync(method, path, JsonContent.Create(body, requestType), cancellationToken).ConfigureAwait(false);
    }

    private async Task DeleteAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await SendCoreAsync(HttpMethod.Delete, path, content: null, cancellationToken).ConfigureAwait(false);
    }

    private async Task<TResponse> SendAsync<TResponse>(HttpMethod method, string path, HttpContent? content, JsonTypeInfo<TResponse> responseType, CancellationToken cancellationToken)
    {
        using var response = await SendCoreAsync(method, path, content, cancellationToken).ConfigureAwait(false);
        try
        {
            var value = await response.Content.ReadFromJsonAsync(responseType, cancellationToken).ConfigureAwait(false);
            if (value is not null)
            {
                return value;
            }
        }
        catch (JsonException)
        {
            // Fall through: the parser's message can quote the body, which may hold a value.
        }
        catch (NotSupportedException)
        {
            // An unexpected content type.
        }

        throw new KeyroomApiException(response.StatusCode, "invalid_response", "the server's response is not the JSON this call expects");
    }

    /// <summary>Sends one request and returns the response when it is a success; otherwise throws <see cref="KeyroomApiException"/>.</summary>
    private async Task<HttpResponseMessage> SendCoreAsync(HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        // Root-relative, as the official clients build URLs: a path in the base URL is ignored.
        using var request = new HttpRequestMessage(method, new Uri(BaseUrl, path)) { Content = content };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (_apiKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
        }

        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            throw await ToExceptionAsync(response, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<KeyroomApiException> ToExceptionAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        ProblemBody? problem = null;
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (mediaType is not null && mediaType.EndsWith("json", StringComparison.OrdinalIgnoreCase)
            && response.Content.Headers.ContentLength is null or <= MaxErrorBodyBytes)
        {
            try
            {
                var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                if (bytes.Length <= MaxErrorBodyBytes)
                {
                    problem = JsonSerializer.Deserialize(bytes, KeyroomJsonContext.Default.ProblemBody);
                }
            }
            catch (JsonException)
            {
                // Not a problem document: report the status only.
            }
        }

        // Only the problem's own fields are used; a non-problem body is never echoed.
        var detail = !string.IsNullOrWhiteSpace(problem?.Detail) ? problem.Detail
            : !string.IsNullOrWhiteSpace(problem?.Title) ? problem.Title
            : response.ReasonPhrase;
        return new KeyroomApiException(response.StatusCode, problem?.Code, detail);
    }
}
