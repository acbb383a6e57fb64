using Keyroom.Client.Serialization;

namespace Keyroom.Client;

// Room secrets over REST: spec §5.3. The same store as the room `secrets` toolkit; {room} is the room name.
public sealed partial class AccountsClient
{
    /// <summary>Creates a room secret owned by <see cref="CreateRoomSecretRequest.ForIdentity"/> or the caller.</summary>
    /// <param name="room">The room's name.</param>
    /// <param name="request">The value and optional fields.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new secret's id.</returns>
    public async Task<string> CreateRoomSecretAsync(string room, CreateRoomSecretRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = await SendJsonAsync(HttpMethod.Post, RoomSecretsPath(room, null), request,
            KeyroomJsonContext.Default.CreateRoomSecretRequest, KeyroomJsonContext.Default.IdResponse, cancellationToken).ConfigureAwait(false);
        return response.Id ?? request.SecretId ?? string.Empty;
    }

    /// <summary>Replaces a room secret's value.</summary>
    /// <param name="room">The room's name.</param>
    /// <param name="secretId">The secret's id.</param>
    /// <param name="request">The new value and optional fields.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the secret is updated.</returns>
    public Task UpdateRoomSecretAsync(string room, string secretId, UpdateRoomSecretRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SendJsonAsync(HttpMethod.Put, RoomSecretsPath(room, secretId), request,
            KeyroomJsonContext.Default.UpdateRoomSecretRequest, cancellationToken);
    }

    /// <summary>Gets a room secret with its value.</summary>
    /// <param name="room">The room's name.</param>
    /// <param name="secretId">The secret's id.</param>
    /// <param name="delegatedTo">Selects the secret delegated to this identity, if given.</param>
    /// <param name="forIdentity">Reads the secret owned by this identity (admin only when not the caller).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The secret.</returns>
    public Task<ManagedSecret> GetRoomSecretAsync(string room, string secretId, string? delegatedTo = null, string? forIdentity = null, CancellationToken cancellationToken = default) =>
        GetAsync(RoomSecretsPath(room, secretId) + Query(("delegated_to", delegatedTo), ("for_identity", forIdentity)),
            KeyroomJsonContext.Default.ManagedSecret, cancellationToken);

    /// <summary>Lists room secrets, without values.</summary>
    /// <param name="room">The room's name.</param>
    /// <param name="forIdentity">Lists the secrets owned by this identity (admin only when not the caller).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The secrets.</returns>
    public async Task<IReadOnlyList<ManagedSecretInfo>> ListRoomSecretsAsync(string room, string? forIdentity = null, CancellationToken cancellationToken = default)
    {
        var list = await GetAsync(RoomSecretsPath(room, null) + Query(("for_identity", forIdentity)),
            KeyroomJsonContext.Default.SecretList, cancellationToken).ConfigureAwait(false);
        return list.Secrets ?? [];
    }

    /// <summary>Deletes a room secret.</summary>
    /// <param name="room">The room's name.</param>
    /// <param name="secretId">The secret's id.</param>
    /// <param name="delegatedTo">Selects the secret delegated to this identity, if given.</param>
    /// <param name="forIdentity">Deletes the secret owned by this identity (admin only when not the caller).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the secret is deleted.</returns>
    public Task DeleteRoomSecretAsync(string room, string secretId, string? delegatedTo = null, string? forIdentity = null, CancellationToken cancellationToken = default) =>
        DeleteAsync(RoomSecretsPath(room, secretId) + Query(("delegated_to", delegatedTo), ("for_identity", forIdentity)), cancellationToken);

    private string RoomSecretsPath(string room, string? secretId) =>
        ProjectPath("/rooms/" + Segment(room) + "/secrets" + (secretId is null ? string.Empty : "/" + Segment(secretId)));
}
