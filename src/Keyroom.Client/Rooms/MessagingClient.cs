using System.Text.Json.Nodes;
using Keyroom.Protocol;

namespace Keyroom.Client.Rooms;

/// <summary>Another participant in the room, as messaging presence reports it. Immutable: an attribute change replaces it.</summary>
public sealed class RemoteParticipant
{
    private readonly JsonObject _attributes;

    internal RemoteParticipant(string id, string role, JsonObject attributes)
    {
        Id = id;
        Role = role;
        _attributes = attributes;
    }

    /// <summary>The participant id (what <see cref="SecretsClient.RequestSecretAsync"/> takes as <c>fromParticipantId</c>).</summary>
    public string Id { get; }

    /// <summary>The participant's role, for example <c>user</c> or <c>agent</c>.</summary>
    public string Role { get; }

    /// <summary>The <c>name</c> attribute (normally the token's identity), or null.</summary>
    public string? Name => RoomSession.OptionalString(_attributes, "name");

    /// <summary>Returns a copy of one attribute, or null when it is not set.</summary>
    /// <param name="name">The attribute name.</param>
    /// <returns>The value.</returns>
    public JsonNode? GetAttribute(string name) => _attributes[name]?.DeepClone();

    /// <summary>Returns a copy of all attributes.</summary>
    /// <returns>The attributes.</returns>
    public JsonObject GetAttributes() => (JsonObject)_attributes.DeepClone();

    /// <inheritdoc />
    public override string ToString() => $"RemoteParticipant {Id} ({Role}, {Name})";

    internal RemoteParticipant WithAttributes(JsonObject changes)
    {
        var merged = (JsonObject)_attributes.DeepClone();
        foreach (var (key, value) in changes)
        {
            merged[key] = value?.DeepClone();
        }

        return new RemoteParticipant(Id, Role, merged);
    }
}

/// <summary>A participant joined, left or changed attributes.</summary>
public sealed class RemoteParticipantEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    /// <param name="participant">The participant.</param>
    public RemoteParticipantEventArgs(RemoteParticipant participant)
    {
        Participant = participant;
    }

    /// <summary>The participant (after the change).</summary>
    public RemoteParticipant Participant { get; }
}

/// <summary>A message another participant sent through <c>messaging.send</c> or <c>broadcast</c>.</summary>
public sealed class MessagingMessageEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    /// <param name="fromParticipantId">The sender's participant id.</param>
    /// <param name="type">The message type.</param>
    /// <param name="message">The message object.</param>
    /// <param name="attachment">The attachment bytes (possibly empty).</param>
    public MessagingMessageEventArgs(string? fromParticipantId, string type, JsonObject message, ReadOnlyMemory<byte> attachment)
    {
        FromParticipantId = fromParticipantId;
        Type = type;
        Message = message;
        Attachment = attachment;
    }

    /// <summary>The sender's participant id, if the server sent it.</summary>
    public string? FromParticipantId { get; }

    /// <summary>The message type.</summary>
    public string Type { get; }

    /// <summary>The message object.</summary>
    public JsonObject Message { get; }

    /// <summary>The attachment bytes (possibly empty).</summary>
    public ReadOnlyMemory<byte> Attachment { get; }
}

/// <summary>
/// The room <c>messaging</c> toolkit and participant presence (spec 6). Remote participants are only known while
/// messaging is enabled: <see cref="EnableAsync"/> asks the server for the list and for join, leave and attribute
/// updates. Messaging stays enabled across reconnects (the list is rebuilt).
/// </summary>
public sealed class MessagingClient
{
    private const string Toolkit = "messaging";

    private readonly RoomClient _room;
    private readonly Lock _gate = new();
    private Dictionary<string, RemoteParticipant> _participants = new(StringComparer.Ordinal);
    private TaskCompletionSource _online = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _enabled;
    private bool _isOnline;

    internal MessagingClient(RoomClient room)
    {
        _room = room;
    }

    /// <summary>The server sent the participant list (<c>messaging.enabled</c>); <see cref="Participants"/> is now complete.</summary>
    public event EventHandler<EventArgs>? Enabled;

    /// <summary>A participant joined (<c>participant.enabled</c>).</summary>
    public event EventHandler<RemoteParticipantEventArgs>? ParticipantAdded;

    /// <summary>A participant left (<c>participant.disabled</c>).</summary>
    public event EventHandler<RemoteParticipantEventArgs>? ParticipantRemoved;

    /// <summary>A participant's attributes changed (<c>participant.attributes</c>).</summary>
    public event EventHandler<RemoteParticipantEventArgs>? ParticipantAttributesChanged;

    /// <summary>Another participant sent this one a message.</summary>
    public event EventHandler<MessagingMessageEventArgs>? MessageReceived;

    /// <summary>Whether messaging has been enabled (and not disabled).</summary>
    public bool IsEnabled
    {
        get
        {
            lock (_gate)
            {
                return _enabled;
            }
        }
    }

    /// <summary>Whether the participant list has arrived on the current connection.</summary>
    public bool IsOnline
    {
        get
        {
            lock (_gate)
            {
                return _isOnline;
            }
        }
    }

    /// <summary>A snapshot of the other participants (never this connection).</summary>
    public IReadOnlyList<RemoteParticipant> Participants
    {
        get
        {
            lock (_gate)
            {
                return [.. _participants.Values];
            }
        }
    }

    /// <summary>Finds a participant by id.</summary>
    /// <param name="participantId">The participant id.</param>
    /// <returns>The participant, or null.</returns>
    public RemoteParticipant? GetParticipant(string participantId)
    {
        ArgumentNullException.ThrowIfNull(participantId);
        lock (_gate)
        {
            return _participants.GetValueOrDefault(participantId);
        }
    }

    /// <summary>Finds a participant by its <c>name</c> attribute (the first one when several share it).</summary>
    /// <param name="name">The name.</param>
    /// <returns>The participant, or null.</returns>
    public RemoteParticipant? GetParticipantByName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (_gate)
        {
            return _participants.Values.FirstOrDefault(p => p.Name == name);
        }
    }

    /// <summary>
    /// Enables messaging (<c>messaging.enable</c>, one-way like the official client) and waits until the server has
    /// sent the participant list, within <see cref="RoomClientOptions.RequestTimeout"/>.
    /// </summary>
    /// <param name="cancellationToken">Cancels waiting (messaging stays requested).</param>
    /// <returns>A task that completes when <see cref="IsOnline"/> is true.</returns>
    /// <exception cref="RoomServerException">The server refused (for example no messaging grant).</exception>
    /// <exception cref="TimeoutException">The list did not arrive in time.</exception>
    public async Task EnableAsync(CancellationToken cancellationToken = default)
    {
        Task online;
        lock (_gate)
        {
            _enabled = true;
            online = _online.Task;
        }

        var request = EnableRequest();
        var reply = _room.InvokeAsync(request, minimumTimeout: null, cancellationToken);
        var first = await Task.WhenAny(online, reply).ConfigureAwait(false);
        if (first == online)
        {
            // The reply (normally "empty") is no longer interesting.
            _ = reply.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            return;
        }

        try
        {
            await reply.ConfigureAwait(false);
        }
        catch (RoomServerException)
        {
            lock (_gate)
            {
                _enabled = false;
            }

            throw;
        }

        var timeout = _room.Options.RequestTimeout;
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            await online.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await online.WaitAsync(timeout, _room.Options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Disables messaging (<c>messaging.disable</c>): presence updates stop and the list is cleared.</summary>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>A task that completes when the server has answered.</returns>
    /// <exception cref="RoomServerException">The server refused.</exception>
    public async Task DisableAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _enabled = false;
        }

        var request = new InvokeToolRequest(Toolkit, "disable", new JsonContent([])) { ToolCallId = RoomClient.NewToolCallId() };
        await _room.InvokeAsync(request, minimumTimeout: null, cancellationToken).ConfigureAwait(false);
        OnDisconnected();
    }

    /// <summary>Sends a message to one participant (<c>messaging.send</c>).</summary>
    /// <param name="toParticipantId">The recipient's participant id.</param>
    /// <param name="type">The message type.</param>
    /// <param name="message">The message object.</param>
    /// <param name="attachment">Optional attachment bytes.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>A task that completes when the server has accepted the message.</returns>
    /// <exception cref="RoomServerException">For example "the participant was not found".</exception>
    public async Task SendAsync(string toParticipantId, string type, JsonObject message, ReadOnlyMemory<byte> attachment = default, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(toParticipantId);
        var input = MessageInput(type, message, attachment);
        input.Insert(0, "to_participant_id", toParticipantId);
        await _room.InvokeAsync(new InvokeToolRequest(Toolkit, "send", new JsonContent(input)), minimumTimeout: null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a message to every other participant (<c>messaging.broadcast</c>).</summary>
    /// <param name="type">The message type.</param>
    /// <param name="message">The message object.</param>
    /// <param name="attachment">Optional attachment bytes.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>A task that completes when the server has accepted the message.</returns>
    /// <exception cref="RoomServerException">The server refused.</exception>
    public async Task BroadcastAsync(string type, JsonObject message, ReadOnlyMemory<byte> attachment = default, CancellationToken cancellationToken = default)
    {
        var input = MessageInput(type, message, attachment);
        await _room.InvokeAsync(new InvokeToolRequest(Toolkit, "broadcast", new JsonContent(input)), minimumTimeout: null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The connection ended (or messaging was disabled): the list is stale.</summary>
    internal void OnDisconnected()
    {
        lock (_gate)
        {
            _participants = new Dictionary<string, RemoteParticipant>(StringComparer.Ordinal);
            if (_isOnline)
            {
                _isOnline = false;
                _online = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>Re-enables messaging on a new connection if it was enabled.</summary>
    internal async Task RestoreAsync(CancellationToken cancellationToken)
    {
        if (IsEnabled)
        {
            await _room.InvokeOneWayAsync(Toolkit, "enable", new JsonContent([]), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Handles a <c>messaging.send</c> envelope (on the receive loop).</summary>
    internal void Handle(PackedMessage packed)
    {
        var header = packed.Header;
        var type = RoomSession.OptionalString(header, "type");
        var from = RoomSession.OptionalString(header, "from_participant_id");
        var message = header["message"] as JsonObject;
        if (type is null || message is null)
        {
            return;
        }

        switch (type)
        {
            case "messaging.enabled":
                OnEnabled(message);
                return;
            case "participant.enabled":
                if (ReadParticipant(message) is { } joined && joined.Id != OwnId())
                {
                    lock (_gate)
                    {
                        _participants[joined.Id] = joined;
                    }

                    _room.Raise(ParticipantAdded, new RemoteParticipantEventArgs(joined), "ParticipantAdded handler", this);
                }

                return;
            case "participant.disabled":
                var leftId = RoomSession.OptionalString(message, "id") ?? from;
                RemoteParticipant? left = null;
                if (leftId is not null)
                {
                    lock (_gate)
                    {
                        _participants.Remove(leftId, out left);
                    }
                }

                if (left is not null)
                {
                    _room.Raise(ParticipantRemoved, new RemoteParticipantEventArgs(left), "ParticipantRemoved handler", this);
                }

                return;
            case "participant.attributes":
                RemoteParticipant? changed = null;
                if (from is not null && message["attributes"] is JsonObject attributes)
                {
                    lock (_gate)
                    {
                        if (_participants.TryGetValue(from, out var existing))
                        {
                            changed = _participants[from] = existing.WithAttributes(attributes);
                        }
                    }
                }

                if (changed is not null)
                {
                    _room.Raise(ParticipantAttributesChanged, new RemoteParticipantEventArgs(changed), "ParticipantAttributesChanged handler", this);
                }

                return;
            default:
                _room.Raise(
                    MessageReceived,
                    new MessagingMessageEventArgs(from, type, (JsonObject)message.DeepClone(), packed.Payload.ToArray()),
                    "MessageReceived handler",
                    this);
                return;
        }
    }

    private static InvokeToolRequest EnableRequest() =>
        new(Toolkit, "enable", new JsonContent([])) { ToolCallId = RoomClient.NewToolCallId() };

    private static JsonObject MessageInput(string type, JsonObject message, ReadOnlyMemory<byte> attachment)
    {
        ArgumentException.ThrowIfNullOrEmpty(type);
        ArgumentNullException.ThrowIfNull(message);
        var input = new JsonObject
        {
            ["type"] = type,
            ["message_json"] = message.ToJsonString(),
        };
        if (!attachment.IsEmpty)
        {
            input["attachment_base64"] = Convert.ToBase64String(attachment.Span);
        }

        return input;
    }

    private static RemoteParticipant? ReadParticipant(JsonObject item)
    {
        if (RoomSession.OptionalString(item, "id") is not { } id)
        {
            return null;
        }

        var role = RoomSession.OptionalString(item, "role") ?? "user";
        var attributes = item["attributes"] is JsonObject a ? (JsonObject)a.DeepClone() : [];
        return new RemoteParticipant(id, role, attributes);
    }

    private string? OwnId()
    {
        try
        {
            return _room.ParticipantId;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private void OnEnabled(JsonObject message)
    {
        if (message["participants"] is not JsonArray list)
        {
            return;
        }

        var own = OwnId();
        var participants = new Dictionary<string, RemoteParticipant>(StringComparer.Ordinal);
        foreach (var item in list)
        {
            if (item is JsonObject entry && ReadParticipant(entry) is { } participant && participant.Id != own)
            {
                participants[participant.Id] = participant;
            }
        }

        TaskCompletionSource online;
        lock (_gate)
        {
            _participants = participants;
            _isOnline = true;
            online = _online;
        }

        online.TrySetResult();
        _room.Raise(Enabled, EventArgs.Empty, "Enabled handler", this);
    }
}
