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

    /// <summary>Loads the chain's tail and starts the writer.</summary>
    public async Task StartAsync(AuditChain chain, CancellationToken cancellationToken)
    {
        _chain = chain ?? throw new ArgumentNullException(nameof(chain));
        var last = await _store.GetLastAuditRecordAsync(cancellationToken);
        if (last is not null)
        {
            _lastSequence = last.Sequence;
            _lastMac = last.Mac;
        }

        _writer = Task.Run(WriteLoopAsync, CancellationToken.None);
    }

    /// <summary>Records an event without waiting for it to be committed.</summary>
    public void Record(AuditEvent auditEvent) =>
        _queue.Writer.TryWrite(new Pending(auditEvent, _time.GetUtcNow(), null));

    /// <summary>Records an event and waits until it is committed.</summary>
    public Task RecordDurablyAsync(AuditEvent auditEvent)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite(new Pending(auditEvent, _time.GetUtcNow(), done)))
        {
            done.SetException(new ObjectDisposedException(nameof(AuditLog)));
        }

        return done.Task;
    }

    /// <summary>Waits until everything recorded so far is committed.</summary>
    public Task FlushAsync() => RecordDurablyAsync(new AuditEvent(string.Empty, "system", "audit.flush", string.Empty, "ok"));

    private async Task WriteLoopAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        var records = new List<AuditRecord>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            records.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            var sequence = _lastSequence;
            var mac = _lastMac;
            foreach (var item in batch)
            {
                var record = _chain!.Link(++sequence, item.At, item.Event, mac);
                records.Add(record);
                mac = record.Mac;
            }

            try
            {
                await _store.AppendAuditAsync(records, CancellationToken.None);
                _lastSequence = sequence;
                _lastMac = mac;
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

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        if (_writer is not null)
        {
            await _writer;
        }
    }

    private readonly record struct Pending(AuditEvent Event, DateTimeOffset At, TaskCompletionSource? Done);

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Appending {Count} audit entries failed")]
        public static partial void AppendFailed(ILogger logger, Exception exception, int count);
    }
}

/// <summary>The result of checking the whole audit chain.</summary>
/// <param name="Checked">How many entries were checked.</param>
/// <param name="FirstBadSequence">The first entry that is broken, missing or out of order; null when intact.</param>
/// <param name="Problem">What is wrong there.</param>
public sealed record AuditVerification(long Checked, long? FirstBadSequence, string? Problem)
{
    /// <summary>Whether the chain is intact.</summary>
    public bool IsIntact => FirstBadSequence is null;
}

/// <summary>Walks the stored chain and reports the first broken link.</summary>
public static class AuditVerifier
{
    /// <summary>Verifies every entry in order.</summary>
    public static async Task<AuditVerification> VerifyAsync(IAuditStore store, AuditChain chain, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(chain);
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

            previous = record.Mac;
            expected++;
        }

        return new AuditVerification(expected - 1, null, null);
    }
}
