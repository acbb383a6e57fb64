using System.Threading.Channels;
using Keyroom.Core.Storage;
using Microsoft.Extensions.Logging;

namespace Keyroom.Core.Audit;

/// <summary>
/// Appends audit events through one writer, in batches, so the chain stays linear and the hot read path
/// only enqueues. Writes that change data await <see cref="RecordDurablyAsync"/>, which returns once the
/// entry is committed; reads use <see cref="Record"/> and are committed within milliseconds.
/// </summary>
public sealed partial class AuditLog : IAsyncDisposable
{
    private const int MaxBatch = 512;

    // Entries nobody waits for (reads) may wait this long to share one commit: with synchronous=FULL every
    // commit is an fsync, and one per read would cost more than the read itself. Entries somebody waits for
    // (writes, flushes) end the window at once, so their latency does not change.
    private static readonly TimeSpan BatchWindow = TimeSpan.FromMilliseconds(5);
    private int _waitedFor;
    private TaskCompletionSource _waitedForArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly IAuditStore _store;
    private AuditChain? _chain;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private Task? _writer;
    private long _lastSequence;
    private byte[] _lastMac = AuditChain.Genesis;

    /// <summary>Creates the log. Events recorded before <see cref="StartAsync"/> wait in the queue.</summary>
    public AuditLog(IAuditStore store, TimeProvider time, ILogger<AuditLog> logger)
    {
        _store = store;
        _time = time;
        _logger = logger;
    }

    /// <summary>The chain (available after start), for verification.</summary>
    public AuditChain Chain => _chain ?? throw new InvalidOperationException("the audit log has not started");

    /// <summary>
    /// Loads the chain's tail and starts the writer. When the stored head says entries existed beyond the last
    /// stored one (the tail was deleted while the server was down), the chain continues after the head, so the
    /// gap stays visible to <see cref="AuditVerifier"/>, and an <c>audit.tail_missing</c> entry is recorded.
    /// </summary>
    public async Task StartAsync(AuditChain chain, CancellationToken cancellationToken)
    {
        _chain = chain ?? throw new ArgumentNullException(nameof(chain));
        var last = await _store.GetLastAuditRecordAsync(cancellationToken);
        if (last is not null)
        {
            _lastSequence = last.Sequence;
            _lastMac = last.Mac;
        }

        var sealedHead = await _store.GetAuditHeadAsync(cancellationToken);
        if (sealedHead is null)
        {
            // A store written before heads existed (or whose head was deleted): start tracking from here.
            await _store.AppendAuditAsync([], chain.SealHead(_lastSequence, _lastMac), cancellationToken);
            if (last is not null)
            {
                Log.HeadMissing(_logger, _lastSequence);
                Record(new AuditEvent(string.Empty, "system", "audit.head_missing", "audit/after/" + Number(_lastSequence), "error"));
            }
        }
        else if (!chain.TryOpenHead(sealedHead, out var head))
        {
            Log.HeadInvalid(_logger, _lastSequence);
            Record(new AuditEvent(string.Empty, "system", "audit.head_invalid", "audit/after/" + Number(_lastSequence), "error"));
        }
        else if (head.Sequence > _lastSequence)
        {
            Log.TailMissing(_logger, _lastSequence, head.Sequence);
            Record(new AuditEvent(string.Empty, "system", "audit.tail_missing", "audit/after/" + Number(_lastSequence), "error"));
            _lastSequence = head.Sequence;
            _lastMac = head.Mac;
        }
        else if (head.Sequence == _lastSequence && !head.Mac.AsSpan().SequenceEqual(_lastMac))
        {
            Log.HeadInvalid(_logger, _lastSequence);
            Record(new AuditEvent(string.Empty, "system", "audit.head_mismatch", "audit/at/" + Number(_lastSequence), "error"));
        }

        _writer = Task.Run(WriteLoopAsync, CancellationToken.None);
    }

    /// <summary>Records an event without waiting for it to be committed.</summary>
    public void Record(AuditEvent auditEvent)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        _queue.Writer.TryWrite(new Pending(auditEvent, _time.GetUtcNow(), null));
    }

    /// <summary>Records an event and waits until it is committed.</summary>
    public Task RecordDurablyAsync(AuditEvent auditEvent)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        return Enqueue(auditEvent);
    }

    /// <summary>Waits until everything recorded so far is committed (it writes no entry itself).</summary>
    public Task FlushAsync() => Enqueue(null);

    private Task Enqueue(AuditEvent? auditEvent)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Increment(ref _waitedFor);
        if (!_queue.Writer.TryWrite(new Pending(auditEvent, _time.GetUtcNow(), done)))
        {
            Interlocked.Decrement(ref _waitedFor);
            done.SetException(new ObjectDisposedException(nameof(AuditLog)));
        }

        Volatile.Read(ref _waitedForArrived).TrySetResult();
        return done.Task;
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        var records = new List<AuditRecord>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            if (Volatile.Read(ref _waitedFor) == 0)
            {
                var arrived = Volatile.Read(ref _waitedForArrived);
                if (Volatile.Read(ref _waitedFor) == 0)
                {
                    await Task.WhenAny(Task.Delay(BatchWindow), arrived.Task);
                }
            }

            if (_waitedForArrived.Task.IsCompleted)
            {
                // Swapped before draining: an entry enqueued after this point signals the new one, and one
                // enqueued before is either drained below or still counted in _waitedFor.
                Volatile.Write(ref _waitedForArrived, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            }

            batch.Clear();
            records.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item))
            {
                batch.Add(item);
                if (item.Done is not null)
                {
                    Interlocked.Decrement(ref _waitedFor);
                }
            }

            var sequence = _lastSequence;
            var mac = _lastMac;
            foreach (var item in batch)
            {
                if (item.Event is null)
                {
                    continue; // a flush marker
                }

                var record = _chain!.Link(++sequence, item.At, item.Event, mac);
                records.Add(record);
                mac = record.Mac;
            }

            try
            {
                if (records.Count > 0)
                {
                    await _store.AppendAuditAsync(records, _chain!.SealHead(sequence, mac), CancellationToken.None);
                    _lastSequence = sequence;
                    _lastMac = mac;
                }

                foreach (var item in batch)
                {
                    item.Done?.TrySetResult();
                }
            }
            catch (Exception ex)
            {
                Log.AppendFailed(_logger, ex, batch.Count);
                foreach (var item in batch)
                {
                    item.Done?.TrySetException(new KeyroomException(KeyroomError.IntegrityFailure, "the audit log could not be written", ex));
                }
            }
        }
    }

    private static string Number(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        if (_writer is not null)
        {
            await _writer;
        }
    }

    private readonly record struct Pending(AuditEvent? Event, DateTimeOffset At, TaskCompletionSource? Done);

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Appending {Count} audit entries failed")]
        public static partial void AppendFailed(ILogger logger, Exception exception, int count);

        [LoggerMessage(EventId = 3002, Level = LogLevel.Critical, Message = "The audit log ends at entry {LastSequence} but its head records entry {HeadSequence}: entries were deleted. The chain continues after {HeadSequence}, leaving the gap visible")]
        public static partial void TailMissing(ILogger logger, long lastSequence, long headSequence);

        [LoggerMessage(EventId = 3003, Level = LogLevel.Critical, Message = "The audit log head does not verify against entry {LastSequence} (modified or replaced)")]
        public static partial void HeadInvalid(ILogger logger, long lastSequence);

        [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "The audit log has entries up to {LastSequence} but no head; tail truncation is detected from here on")]
        public static partial void HeadMissing(ILogger logger, long lastSequence);
    }
}

/// <summary>The result of checking the whole audit chain.</summary>
/// <param name="Checked">How many entries were checked (and found good).</param>
/// <param name="FirstBadSequence">The first entry that is broken, missing or out of order; null when intact or when only the head is wrong.</param>
/// <param name="Problem">What is wrong; null when intact.</param>
public sealed record AuditVerification(long Checked, long? FirstBadSequence, string? Problem)
{
    /// <summary>Whether the chain is intact.</summary>
    public bool IsIntact => FirstBadSequence is null && Problem is null;
}

/// <summary>Walks the stored chain and reports the first broken link, and whether the tail was cut off.</summary>
public static class AuditVerifier
{
    /// <summary>
    /// Verifies every entry in order, then compares the end of the chain with the stored head: a chain that
    /// ends before the head means entries at the end were deleted. The head is read first, so entries
    /// appended while verifying do not count as a problem.
    /// </summary>
    public static async Task<AuditVerification> VerifyAsync(IAuditStore store, AuditChain chain, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(chain);
        var sealedHead = await store.GetAuditHeadAsync(cancellationToken);
        AuditHead? head = null;
        var headInvalid = false;
        if (sealedHead is not null)
        {
            if (chain.TryOpenHead(sealedHead, out var opened))
            {
                head = opened;
            }
            else
            {
                headInvalid = true;
            }
        }

        long expected = 1;
        var previous = AuditChain.Genesis;
        await foreach (var record in store.ReadAuditAsync(0, cancellationToken))
        {
            if (record.Sequence != expected)
            {
                return new AuditVerification(expected - 1, expected, $"entry {expected} is missing (found {record.Sequence} next)");
            }

            if (!record.PreviousMac.AsSpan().SequenceEqual(previous))
            {
                return new AuditVerification(expected - 1, expected, $"entry {expected} does not link to the entry before it");
            }

            if (!chain.IsValid(record))
            {
                return new AuditVerification(expected - 1, expected, $"entry {expected} was modified");
            }

            if (head is { } h && h.Sequence == record.Sequence && !h.Mac.AsSpan().SequenceEqual(record.Mac))
            {
                return new AuditVerification(expected - 1, expected, $"entry {expected} is not the entry the audit head records");
            }

            previous = record.Mac;
            expected++;
        }

        var last = expected - 1;
        if (headInvalid)
        {
            return new AuditVerification(last, null, "the audit head was modified (it does not verify), so deleted entries at the end cannot be ruled out");
        }

        if (head is null)
        {
            return last == 0
                ? new AuditVerification(0, null, null)
                : new AuditVerification(last, null, "the audit head is missing, so deleted entries at the end cannot be ruled out");
        }

        if (head.Value.Sequence > last)
        {
            return new AuditVerification(last, last + 1, $"entries after {last} were deleted (the audit head records {head.Value.Sequence})");
        }

        return new AuditVerification(last, null, null);
    }
}
