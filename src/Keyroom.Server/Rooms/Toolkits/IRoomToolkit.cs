using Keyroom.Core.Auth;
using Keyroom.Protocol;

namespace Keyroom.Server.Rooms.Toolkits;

/// <summary>A toolkit built into the room server (<c>secrets</c>, <c>messaging</c>): a name and its tools.</summary>
internal interface IRoomToolkit
{
    /// <summary>The wire name (<c>toolkit</c> of <c>room.invoke_tool</c>).</summary>
    string Name { get; }

    /// <summary>Whether the toolkit has this tool. Calls to other tools get error 1002 without reaching the toolkit.</summary>
    bool HasTool(string tool);

    /// <summary>
    /// Whether a call to <paramref name="tool"/> may start on the connection's read loop: true for tools that do no
    /// blocking I/O before their first real wait (memory, cached or point reads). Other tools start on the thread
    /// pool so that they never hold up the next message of the same connection.
    /// </summary>
    bool StartsInline(string tool);

    /// <summary>
    /// Runs one call. Returns the reply content (only the content types of spec 3.3). Failures are thrown as
    /// <see cref="Keyroom.Core.KeyroomException"/> and mapped to error replies in one place
    /// (<see cref="RoomErrors"/>). <paramref name="cancellationToken"/> is cancelled when the caller disconnects.
    /// </summary>
    ValueTask<Content> InvokeAsync(RoomToolCall call, CancellationToken cancellationToken);
}

/// <summary>One <c>room.invoke_tool</c> call being served.</summary>
internal sealed class RoomToolCall
{
    private Action<Action>? _replyWrapper;

    public RoomToolCall(RoomConnection caller, InvokeToolRequest request, ulong messageId)
    {
        Caller = caller;
        Request = request;
        MessageId = messageId;
    }

    /// <summary>The calling connection.</summary>
    public RoomConnection Caller { get; }

    /// <summary>The decoded request.</summary>
    public InvokeToolRequest Request { get; }

    /// <summary>The request's message id (the reply reuses it).</summary>
    public ulong MessageId { get; }

    /// <summary>The authenticated caller (always a participant token).</summary>
    public Principal Principal => Caller.Principal;

    /// <summary>The caller's room.</summary>
    public LiveRoom Room => Caller.Room;

    /// <summary>The tool name.</summary>
    public string Tool => Request.Tool;

    /// <summary>The input.</summary>
    public Content Arguments => Request.Arguments;

    /// <summary>
    /// Lets the toolkit queue a successful reply itself: <paramref name="wrapper"/> is given the action that queues
    /// the reply and must call it exactly once. Used to make a state change and its messages atomic with the reply,
    /// in order (for example <c>messaging.enable</c>: reply, then <c>messaging.enabled</c>, then
    /// <c>participant.enabled</c> to the others, all under the room's gate, so nobody can observe the reply
    /// before the state it reports).
    /// </summary>
    public void WrapReply(Action<Action> wrapper) => _replyWrapper = wrapper;

    /// <summary>Queues the reply through the wrapper, if any (called by the connection); returns its send.</summary>
    internal Task QueueReply<TState>(Func<TState, Task> queue, TState state) =>
        _replyWrapper is null ? queue(state) : QueueWrapped(_replyWrapper, queue, state);

    private static Task QueueWrapped<TState>(Action<Action> wrapper, Func<TState, Task> queue, TState state)
    {
        Task? sent = null;
        void QueueOnce() => sent ??= queue(state);

        try
        {
            wrapper(QueueOnce);
        }
        finally
        {
            QueueOnce();
        }

        return sent!;
    }
}

/// <summary>The built-in toolkits by name.</summary>
internal sealed class RoomToolkits
{
    private readonly Dictionary<string, IRoomToolkit> _byName;

    public RoomToolkits(IEnumerable<IRoomToolkit> toolkits)
    {
        _byName = toolkits.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IRoomToolkit? toolkit) =>
        _byName.TryGetValue(name, out toolkit);
}
