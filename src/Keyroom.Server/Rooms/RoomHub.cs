using System.Collections.Concurrent;

namespace Keyroom.Server.Rooms;

/// <summary>
/// The live rooms, keyed by (project, room name), and every open connection. A room exists here while it has
/// at least one participant; its secrets live in the store either way.
/// </summary>
internal sealed class RoomHub
{
    private readonly ConcurrentDictionary<(string ProjectId, string Room), LiveRoom> _rooms = new();
    private readonly ConcurrentDictionary<RoomConnection, byte> _connections = new();

    /// <summary>Open connections (joined or still in the handshake).</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>Rooms with at least one participant.</summary>
    public int RoomCount => _rooms.Count;

    /// <summary>A snapshot of the live rooms.</summary>
    public IReadOnlyCollection<LiveRoom> Rooms => [.. _rooms.Values];

    /// <summary>Finds a live room (for tests and diagnostics).</summary>
    public LiveRoom? Find(string projectId, string room) => _rooms.TryGetValue((projectId, room), out var live) ? live : null;

    /// <summary>Counts a connection as open (from the upgrade on).</summary>
    public void Open(RoomConnection connection) => _connections.TryAdd(connection, 0);

    /// <summary>Forgets a connection once it has been closed and cleaned up.</summary>
    public void Closed(RoomConnection connection) => _connections.TryRemove(connection, out _);

    /// <summary>Adds a connection to its room (creating the live room when it is the first) and returns the room.</summary>
    public LiveRoom Join(RoomConnection connection, string projectId, string roomName)
    {
        var key = (projectId, roomName);
        while (true)
        {
            var room = _rooms.GetOrAdd(key, static k => new LiveRoom(k.ProjectId, k.Room));
            lock (room.Gate)
            {
                if (room.Closed)
                {
                    // The last participant left between the lookup and the lock; that room is being removed.
                    continue;
                }

                room.AddLocked(connection);
                return room;
            }
        }
    }

    /// <summary>
    /// Removes a connection from its room: peers get <c>participant.disabled</c>, requests addressed to it fail,
    /// and an empty room is dropped.
    /// </summary>
    public void Leave(RoomConnection connection, LiveRoom room)
    {
        lock (room.Gate)
        {
            if (room.RemoveLocked(connection) == 0)
            {
                room.Closed = true;
                _rooms.TryRemove(new KeyValuePair<(string, string), LiveRoom>((room.ProjectId, room.Name), room));
            }
        }

        room.Pending.TargetLeft(connection);
    }

    /// <summary>
    /// Closes every connection in a room (with 1000 and <paramref name="reason"/>, which the official client treats
    /// as final) and returns how many there were. Used when the room is deleted.
    /// </summary>
    public int CloseRoom(string projectId, string roomName, string reason)
    {
        if (Find(projectId, roomName) is not { } room)
        {
            return 0;
        }

        RoomConnection[] participants;
        lock (room.Gate)
        {
            participants = room.ParticipantsLocked();
        }

        foreach (var participant in participants)
        {
            participant.RequestClose(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, reason);
        }

        return participants.Length;
    }
}
