using Keyroom.Client.Serialization;

namespace Keyroom.Client;

// Rooms, connect and API keys: spec §5.6.
public sealed partial class AccountsClient
{
    /// <summary>Creates a room (admin). With <see cref="CreateRoomRequest.IfNotExists"/>, an existing room is returned.</summary>
    /// <param name="request">The name and optional metadata.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The room.</returns>
    public Task<Room> CreateRoomAsync(CreateRoomRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SendJsonAsync(HttpMethod.Post, ProjectPath("/rooms"), request,
            KeyroomJsonContext.Default.CreateRoomRequest, KeyroomJsonContext.Default.Room, cancellationToken);
    }

    /// <summary>Lists rooms, a page at a time.</summary>
    /// <param name="limit">The page size.</param>
    /// <param name="offset">How many rooms to skip.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The rooms.</returns>
    public async Task<IReadOnlyList<Room>> ListRoomsAsync(int limit = 50, int offset = 0, CancellationToken cancellationToken = default)
    {
        var list = await GetAsync(ProjectPath("/rooms" + Query(("limit", Number(limit)), ("offset", Number(offset)))),
            KeyroomJsonContext.Default.RoomList, cancellationToken).ConfigureAwait(false);
        return list.Rooms ?? [];
    }

    /// <summary>Gets a room by name (or id).</summary>
    /// <param name="room">The room's name or id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The room.</returns>
    public Task<Room> GetRoomAsync(string room, CancellationToken cancellationToken = default) =>
        GetAsync(ProjectPath("/rooms/" + Segment(room)), KeyroomJsonContext.Default.Room, cancellationToken);

    /// <summary>Renames a room or replaces its metadata (admin).</summary>
    /// <param name="room">The room's id or name.</param>
    /// <param name="request">The new name and metadata.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The updated room.</returns>
    public Task<Room> UpdateRoomAsync(string room, UpdateRoomRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SendJsonAsync(HttpMethod.Put, ProjectPath("/rooms/" + Segment(room)), request,
            KeyroomJsonContext.Default.UpdateRoomRequest, KeyroomJsonContext.Default.Room, cancellationToken);
    }

    /// <summary>Deletes a room and its room secrets (admin).</summary>
    /// <param name="room">The room's id or name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the room is deleted.</returns>
    public Task DeleteRoomAsync(string room, CancellationToken cancellationToken = default) =>
        DeleteAsync(ProjectPath("/rooms/" + Segment(room)), cancellationToken);

    /// <summary>Gets a participant JWT for a room (creating the room if missing) and its WebSocket URL.</summary>
    /// <param name="room">The room's name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The token, room name, project id and room URL.</returns>
    public Task<RoomConnection> ConnectRoomAsync(string room, CancellationToken cancellationToken = default) =>
        SendJsonAsync(HttpMethod.Post, ProjectPath("/rooms/" + Segment(room) + "/connect"), new EmptyRequest(),
            KeyroomJsonContext.Default.EmptyRequest, KeyroomJsonContext.Default.RoomConnection, cancellationToken);

    /// <summary>Creates an API key (admin). Its value is returned once.</summary>
    /// <param name="request">The name, description and role.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The key, with its <c>ma-…</c> value.</returns>
    public Task<CreatedApiKey> CreateApiKeyAsync(CreateApiKeyRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SendJsonAsync(HttpMethod.Post, ProjectPath("/api-keys"), request,
            KeyroomJsonContext.Default.CreateApiKeyRequest, KeyroomJsonContext.Default.CreatedApiKey, cancellationToken);
    }

    /// <summary>Lists the project's API keys, without their values (admin).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The keys.</returns>
    public async Task<IReadOnlyList<ApiKeyInfo>> ListApiKeysAsync(CancellationToken cancellationToken = default)
    {
        var list = await GetAsync(ProjectPath("/api-keys"), KeyroomJsonContext.Default.ApiKeyList, cancellationToken).ConfigureAwait(false);
        return list.Tokens ?? [];
    }

    /// <summary>Deletes (revokes) an API key (admin).</summary>
    /// <param name="apiKeyId">The key's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the key is deleted.</returns>
    public Task DeleteApiKeyAsync(string apiKeyId, CancellationToken cancellationToken = default) =>
        DeleteAsync(ProjectPath("/api-keys/" + Segment(apiKeyId)), cancellationToken);
}
