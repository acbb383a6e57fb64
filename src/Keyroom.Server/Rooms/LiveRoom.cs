using System.Text.Json.Nodes;
using Keyroom.Core.Secrets;
using Keyroom.Protocol;

namespace Keyroom.Server.Rooms;

/// <summary>
/// A room with at least one connection: its participants, their messaging presence and the table of requests
/// waiting between participants. Presence changes and the messages announcing them happen under one gate, and
/// messages are queued (not awaited) while holding it, so every connection sees presence in a consistent order
/// (for example its own <c>messaging.enabled</c> list before any <c>participant.enabled</c> that follows it).
/// </summary>
internal sealed class LiveRoom
{
    private readonly Dictionary<string, RoomConnection> _participants = new(StringComparer.Ordinal);

    public LiveRoom(string projectId, string name)
    {
        ProjectId = projectId;
        Name = name;
        Scope = SecretKey.RoomScope(name);
    }

    public string ProjectId { get; }

    public string Name { get; }

    /// <summary>The secret scope of this room (<c>room:&lt;name&gt;</c>).</summary>
    public string Scope { get; }

    /// <summary>Requests waiting for a participant of this room.</summary>
    public PendingRequestTable Pending { get; } = new();

    /// <summary>Guards the participants, their attributes and messaging state.</summary>
    internal Lock Gate { get; } = new();

    /// <summary>Set once the last participant left; a closed room is replaced by a new one on the next join.</summary>
    internal bool Closed { get; set; }

    public int Count
    {
        get
        {
            lock (Gate)
            {
                return _participants.Count;
            }
        }
    }

    /// <summary>Finds a participant by its participant id.</summary>
    public bool TryGetParticipant(string participantId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RoomConnection? connection)
    {
        lock (Gate)
        {
            return _participants.TryGetValue(participantId, out connection);
        }
    }

    /// <summary>Adds a participant (caller holds <see cref="Gate"/>).</summary>
    /// <summary>The participants now (the caller holds <see cref="Gate"/>).</summary>
    internal RoomConnection[] ParticipantsLocked() => [.. _participants.Values];

    internal void AddLocked(RoomConnection connection) => _participants.Add(connection.ParticipantId, connection);

    /// <summary>Removes a participant and tells messaging-enabled peers; returns how many remain (caller holds <see cref="Gate"/>).</summary>
    internal int RemoveLocked(RoomConnection connection)
    {
        if (_participants.Remove(connection.ParticipantId) && connection.MessagingEnabled)
        {
            connection.MessagingEnabled = false;
            AnnounceDisabledLocked(connection);
        }

        return _participants.Count;
    }

    /// <summary>
    /// Turns messaging on for a connection: it gets <c>messaging.enabled</c> with the other messaging-enabled
    /// participants, and they get <c>participant.enabled</c> for it. Enabling twice re-sends the list only.
    /// <paramref name="reply"/> queues the tool's reply first, under the same gate.
    /// </summary>
    public void EnableMessaging(RoomConnection connection, Action reply)
    {
        lock (Gate)
        {
            reply();
            if (!_participants.ContainsKey(connection.ParticipantId))
            {
                return;
            }

            var others = _participants.Values.Where(p => p.MessagingEnabled && !ReferenceEquals(p, connection)).ToList();
            var list = new JsonArray([.. others.Select(p => (JsonNode)Describe(p))]);
            connection.Post(MessageTypes.MessagingSend, Envelope(connection, "messaging.enabled", new JsonObject { ["participants"] = list }));
            if (connection.MessagingEnabled)
            {
                return;
            }

            connection.MessagingEnabled = true;
            var announcement = Envelope(connection, "participant.enabled", Describe(connection));
            foreach (var other in others)
            {
                other.Post(MessageTypes.MessagingSend, announcement);
            }
        }
    }

    /// <summary>Turns messaging off: no more presence messages to it, and peers get <c>participant.disabled</c>.</summary>
    public void DisableMessaging(RoomConnection connection, Action reply)
    {
        lock (Gate)
        {
            reply();
            if (connection.MessagingEnabled && _participants.ContainsKey(connection.ParticipantId))
            {
                connection.MessagingEnabled = false;
                AnnounceDisabledLocked(connection);
            }
        }
    }

    /// <summary>
    /// Merges attributes (<c>set_attributes</c>) and tells messaging-enabled peers when the sender is visible to
    /// them. The <c>name</c> attribute stays the token's identity: peers find participants by it
    /// (<c>getParticipantByName</c>), so it must not be spoofable.
    /// </summary>
    public void SetAttributes(RoomConnection connection, JsonObject attributes)
    {
        lock (Gate)
        {
            foreach (var (key, value) in attributes)
            {
                if (key != "name")
                {
                    connection.Attributes[key] = value?.DeepClone();
                }
            }

            if (connection.MessagingEnabled && _participants.ContainsKey(connection.ParticipantId))
            {
                var update = Envelope(connection, "participant.attributes", new JsonObject { ["attributes"] = connection.Attributes.DeepClone() });
                foreach (var other in MessagingPeersLocked(connection))
                {
                    other.Post(MessageTypes.MessagingSend, update);
                }
            }
        }
    }

    /// <summary>
    /// Delivers a participant message (<c>messaging.send</c> envelope) to one messaging-enabled participant, or
    /// to all of them but the sender when <paramref name="toParticipantId"/> is null. False when the recipient is
    /// not a messaging-enabled participant of this room.
    /// </summary>
    public bool Deliver(RoomConnection sender, string? toParticipantId, string type, JsonNode? message, ReadOnlyMemory<byte> attachment)
    {
        var data = Envelope(sender, type, message, attachment);
        lock (Gate)
        {
            if (toParticipantId is null)
            {
                foreach (var other in MessagingPeersLocked(sender))
                {
                    other.Post(MessageTypes.MessagingSend, data);
                }

                return true;
            }

            if (!_participants.TryGetValue(toParticipantId, out var recipient) || !recipient.MessagingEnabled)
            {
                return false;
            }

            recipient.Post(MessageTypes.MessagingSend, data);
            return true;
        }
    }

    private void AnnounceDisabledLocked(RoomConnection connection)
    {
        var announcement = Envelope(connection, "participant.disabled", new JsonObject { ["id"] = connection.ParticipantId });
        foreach (var other in MessagingPeersLocked(connection))
        {
            other.Post(MessageTypes.MessagingSend, announcement);
        }
    }

    private List<RoomConnection> MessagingPeersLocked(RoomConnection except) =>
        _participants.Values.Where(p => p.MessagingEnabled && !ReferenceEquals(p, except)).ToList();

    private static JsonObject Describe(RoomConnection participant) => new()
    {
        ["id"] = participant.ParticipantId,
        ["role"] = participant.Role,
        ["attributes"] = participant.Attributes.DeepClone(),
    };

    /// <summary>Encodes one <c>messaging.send</c> payload once; the same bytes go to every recipient.</summary>
    private static byte[] Envelope(RoomConnection from, string type, JsonNode? message, ReadOnlyMemory<byte> attachment = default) =>
        new PackedMessage(
            new JsonObject
            {
                ["from_participant_id"] = from.ParticipantId,
                ["type"] = type,
                ["message"] = message,
            },
            attachment).Encode();
}
