using Keyroom.Core;

namespace Keyroom.Server.Rooms;

/// <summary>What a pending request waits for.</summary>
internal enum PendingKind
{
    /// <summary><c>request_secret</c>, answered by <c>provide_secret</c>.</summary>
    Secret,

    /// <summary><c>request_oauth_token</c>, answered by <c>provide_oauth_authorization</c>.</summary>
    OAuth,
}

/// <summary>The target's answer: bytes (secrets), a code (OAuth) or the error text it chose.</summary>
internal sealed record ProviderAnswer(ReadOnlyMemory<byte> Data, string? Code, string? Error);

/// <summary>
/// One request waiting for another participant (architecture path 2): who asked (connection and message id),
/// who must answer, and a deadline. Completed exactly once: by the answer, the deadline, or the target leaving.
/// </summary>
internal sealed class PendingRequest
{
    private readonly TaskCompletionSource<ProviderAnswer> _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PendingRequest(string id, PendingKind kind, RoomConnection requester, ulong requesterMessageId, RoomConnection target)
    {
        Id = id;
        Kind = kind;
        Requester = requester;
        RequesterMessageId = requesterMessageId;
        Target = target;
    }

    public string Id { get; }

    public PendingKind Kind { get; }

    public RoomConnection Requester { get; }

    public ulong RequesterMessageId { get; }

    public RoomConnection Target { get; }

    /// <summary>Completes with the answer, or fails with a <see cref="KeyroomException"/> (timeout, target gone).</summary>
    public Task<ProviderAnswer> Answer => _answer.Task;

    internal ITimer? Deadline { get; set; }

    public bool TryComplete(ProviderAnswer answer) => _answer.TrySetResult(answer);

    public bool TryFail(KeyroomException error) => _answer.TrySetException(error);
}

/// <summary>
/// A room's table of requests waiting for a participant (request id → entry). Deadlines run on
/// <see cref="TimeProvider"/> timers. A requester that disconnects cancels its own wait and removes its entry;
/// a target that leaves fails every entry addressed to it.
/// </summary>
internal sealed class PendingRequestTable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, PendingRequest> _entries = new(StringComparer.Ordinal);

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Adds an entry with a deadline. Throws NotFound when the target has already left the room.</summary>
    public PendingRequest Add(
        PendingKind kind, RoomConnection requester, ulong requesterMessageId, RoomConnection target, TimeSpan timeout, string timeoutText, TimeProvider time)
    {
        var entry = new PendingRequest(Guid.NewGuid().ToString("D"), kind, requester, requesterMessageId, target);
        lock (_gate)
        {
            if (target.LeftPendingTable)
            {
                throw new KeyroomException(KeyroomError.NotFound, "the participant was not found");
            }

            _entries.Add(entry.Id, entry);

            // Created under the gate so that TryTake/Remove always see the timer they must stop.
            entry.Deadline = time.CreateTimer(
                static state =>
                {
                    var (table, pending, text) = ((PendingRequestTable, PendingRequest, string))state!;
                    table.Remove(pending);
                    pending.TryFail(new KeyroomException(KeyroomError.Timeout, text));
                },
                (this, entry, timeoutText),
                timeout,
                Timeout.InfiniteTimeSpan);
        }

        return entry;
    }

    /// <summary>Takes the entry a target answers: it must exist, be of this kind and be addressed to that target.</summary>
    public bool TryTake(string id, PendingKind kind, RoomConnection target, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PendingRequest? entry)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(id, out entry) && entry.Kind == kind && ReferenceEquals(entry.Target, target))
            {
                _entries.Remove(id);
                entry.Deadline?.Dispose();
                return true;
            }
        }

        entry = null;
        return false;
    }

    /// <summary>Removes an entry (idempotent) and stops its deadline.</summary>
    public void Remove(PendingRequest entry)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(entry.Id, out var current) && ReferenceEquals(current, entry))
            {
                _entries.Remove(entry.Id);
            }
        }

        entry.Deadline?.Dispose();
    }

    /// <summary>A participant left: fail every entry addressed to it, and refuse new ones.</summary>
    public void TargetLeft(RoomConnection target)
    {
        List<PendingRequest> failed;
        lock (_gate)
        {
            target.LeftPendingTable = true;
            failed = [.. _entries.Values.Where(e => ReferenceEquals(e.Target, target))];
            foreach (var entry in failed)
            {
                _entries.Remove(entry.Id);
            }
        }

        foreach (var entry in failed)
        {
            entry.Deadline?.Dispose();
            entry.TryFail(new KeyroomException(KeyroomError.NotFound, "the participant left the room before answering"));
        }
    }
}
