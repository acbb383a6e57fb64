namespace Keyroom.Client;

/// <summary>Where an <see cref="AccountsClient"/> connects and how it authenticates.</summary>
public sealed class KeyroomClientOptions
{
    /// <summary>
    /// The server's base URL, for example <c>http://localhost:5000</c>. Paths are root-relative, as in the
    /// official MeshAgent clients: any path in this URL is ignored. When null, the HttpClient's
    /// <see cref="HttpClient.BaseAddress"/> is used.
    /// </summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>
    /// The bearer credential: an <c>ma-…</c> API key or a participant JWT. When null, no
    /// <c>Authorization</c> header is added (for example when a message handler adds one).
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// The project that project-scoped calls address. When null, the project encoded in an <c>ma-…</c>
    /// <see cref="ApiKey"/> is used.
    /// </summary>
    public string? ProjectId { get; set; }
}
