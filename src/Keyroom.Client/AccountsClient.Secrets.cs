using Keyroom.Client.Serialization;

namespace Keyroom.Client;

// Project (managed) secrets: spec §5.2 and docs/rest-contract.md. Needs the developer role or higher.
public sealed partial class AccountsClient
{
    /// <summary>Creates a project secret (version 1).</summary>
    /// <param name="request">The name, type and value.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new secret's id and version.</returns>
    public Task<SecretVersionRef> CreateSecretAsync(CreateSecretRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SendJsonAsync(HttpMethod.Post, ProjectPath("/secrets"), request,
            KeyroomJsonContext.Default.CreateSecretRequest, KeyroomJsonContext.Default.SecretVersionRef, cancellationToken);
    }

    /// <summary>Replaces a project secret's value, creating a new version.</summary>
    /// <param name="secretId">The secret's id.</param>
    /// <param name="request">The name, type and new value.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The secret's id and its new version.</returns>
    public async Task<SecretVersionRef> UpdateSecretAsync(string secretId, UpdateSecretRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var path = ProjectPath("/secrets/" + Segment(secretId));
        var result = await SendJsonAsync(HttpMethod.Put, path, request,
            KeyroomJsonContext.Default.UpdateSecretRequest, KeyroomJsonContext.Default.SecretVersionRef, cancellationToken).ConfigureAwait(false);
        return string.IsNullOrEmpty(result.Id) ? result with { Id = secretId } : result;
    }

    /// <summary>Gets a project secret with its value: the current version, or <paramref name="version"/>.</summary>
    /// <param name="secretId">The secret's id.</param>
    /// <param name="version">A kept version to read; null for the current one.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The secret.</returns>
    public Task<ManagedSecret> GetSecretAsync(string secretId, int? version = null, CancellationToken cancellationToken = default) =>
        GetAsync(ProjectPath("/secrets/" + Segment(secretId) + Query(("version", Number(version)))),
            KeyroomJsonContext.Default.ManagedSecret, cancellationToken);

    /// <summary>Lists the project's secrets, without values.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The secrets.</returns>
    public async Task<IReadOnlyList<ManagedSecretInfo>> ListSecretsAsync(CancellationToken cancellationToken = default)
    {
        var list = await GetAsync(ProjectPath("/secrets"), KeyroomJsonContext.Default.SecretList, cancellationToken).ConfigureAwait(false);
        return list.Secrets ?? [];
    }

    /// <summary>Deletes a project secret and all its versions.</summary>
    /// <param name="secretId">The secret's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the secret is deleted.</returns>
    public Task DeleteSecretAsync(string secretId, CancellationToken cancellationToken = default) =>
        DeleteAsync(ProjectPath("/secrets/" + Segment(secretId)), cancellationToken);

    /// <summary>Lists the kept versions of a project secret, newest first.</summary>
    /// <param name="secretId">The secret's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The versions.</returns>
    public async Task<IReadOnlyList<SecretVersionInfo>> ListSecretVersionsAsync(string secretId, CancellationToken cancellationToken = default)
    {
        var list = await GetAsync(ProjectPath("/secrets/" + Segment(secretId) + "/versions"),
            KeyroomJsonContext.Default.SecretVersionList, cancellationToken).ConfigureAwait(false);
        return list.Versions ?? [];
    }

    /// <summary>Creates a <c>keys</c> secret: environment variable names and values.</summary>
    /// <param name="name">The display name.</param>
    /// <param name="keys">The names and values; names must match <c>[A-Za-z_][A-Za-z0-9_]*</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new secret's id and version.</returns>
    public Task<SecretVersionRef> CreateKeysSecretAsync(string name, IReadOnlyDictionary<string, string> keys, CancellationToken cancellationToken = default) =>
        CreateSecretAsync(new CreateSecretRequest { Name = name, Type = SecretTypes.Keys, Data = SecretValues.EncodeKeys(keys) }, cancellationToken);

    /// <summary>Replaces a <c>keys</c> secret's names and values.</summary>
    /// <param name="secretId">The secret's id.</param>
    /// <param name="name">The display name.</param>
    /// <param name="keys">The names and values.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The secret's id and its new version.</returns>
    public Task<SecretVersionRef> UpdateKeysSecretAsync(string secretId, string name, IReadOnlyDictionary<string, string> keys, CancellationToken cancellationToken = default) =>
        UpdateSecretAsync(secretId, new UpdateSecretRequest { Name = name, Type = SecretTypes.Keys, Data = SecretValues.EncodeKeys(keys) }, cancellationToken);

    /// <summary>Gets a <c>keys</c> secret with its names and values decoded.</summary>
    /// <param name="secretId">The secret's id.</param>
    /// <param name="version">A kept version to read; null for the current one.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The decoded secret.</returns>
    /// <exception cref="FormatException">The value is not a flat JSON object of strings.</exception>
    public async Task<KeysSecret> GetKeysSecretAsync(string secretId, int? version = null, CancellationToken cancellationToken = default)
    {
        var secret = await GetSecretAsync(secretId, version, cancellationToken).ConfigureAwait(false);
        return new KeysSecret
        {
            Id = secret.Id,
            Name = secret.Name,
            Version = secret.Version,
            UpdatedAt = secret.UpdatedAt,
            Keys = SecretValues.DecodeKeys(secret.Data.Span),
        };
    }

    /// <summary>Creates a <c>docker</c> secret (image pull credentials).</summary>
    /// <param name="name">The display name.</param>
    /// <param name="credentials">The credentials.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new secret's id and version.</returns>
    public Task<SecretVersionRef> CreateDockerSecretAsync(string name, DockerCredentials credentials, CancellationToken cancellationToken = default) =>
        CreateSecretAsync(new CreateSecretRequest { Name = name, Type = SecretTypes.Docker, Data = SecretValues.EncodeDocker(credentials) }, cancellationToken);

    /// <summary>Replaces a <c>docker</c> secret's credentials.</summary>
    /// <param name="secretId">The secret's id.</param>
    /// <param name="name">The display name.</param>
    /// <param name="credentials">The credentials.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The secret's id and its new version.</returns>
    public Task<SecretVersionRef> UpdateDockerSecretAsync(string secretId, string name, DockerCredentials credentials, CancellationToken cancellationToken = default) =>
        UpdateSecretAsync(secretId, new UpdateSecretRequest { Name = name, Type = SecretTypes.Docker, Data = SecretValues.EncodeDocker(credentials) }, cancellationToken);

    /// <summary>Gets a <c>docker</c> secret with its credentials decoded.</summary>
    /// <param name="secretId">The secret's id.</param>
    /// <param name="version">A kept version to read; null for the current one.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The decoded secret.</returns>
    /// <exception cref="FormatException">The value is not docker credentials JSON.</exception>
    public async Task<DockerSecret> GetDockerSecretAsync(string secretId, int? version = null, CancellationToken cancellationToken = default)
    {
        var secret = await GetSecretAsync(secretId, version, cancellationToken).ConfigureAwait(false);
        return new DockerSecret
        {
            Id = secret.Id,
            Name = secret.Name,
            Version = secret.Version,
            UpdatedAt = secret.UpdatedAt,
            Credentials = SecretValues.DecodeDocker(secret.Data.Span),
        };
    }
}
