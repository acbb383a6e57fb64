using System.Diagnostics;

namespace Keyroom.Bench;

/// <summary>What one closed-loop measurement produced.</summary>
/// <param name="Completed">Operations that completed (successfully) inside the measured window.</param>
/// <param name="Errors">Failed operations at any time (warm-up included): any error fails the cell.</param>
/// <param name="Seconds">The measured window, plus any drain time added by the caller.</param>
/// <param name="LatenciesMs">Sorted latencies of the operations completed in the window.</param>
/// <param name="FirstError">The first failure's description, if any.</param>
/// <param name="CpuSeconds">This process's CPU time (user + system, all threads: client, server, background writers) in the window.</param>
internal sealed record Measurement(long Completed, long Errors, double Seconds, double[] LatenciesMs, string? FirstError, double CpuSeconds)
{
    public double Rate => Seconds > 0 ? Completed / Seconds : 0;

    /// <summary>
    /// Process CPU per completed operation, in microseconds. Client and server share the process, so this is the
    /// whole cost of one request on this machine; unlike the rate, it barely depends on other work running.
    /// </summary>
    public double CpuMicrosPerOp => Completed > 0 ? CpuSeconds * 1e6 / Completed : double.NaN;

    public double P50 => Percentile(0.50);

    public double P99 => Percentile(0.99);

    /// <summary>Adds deferred work done after the window (audit commits) to its time and CPU.</summary>
    public Measurement WithDrain(double seconds, double cpuSeconds) => this with { Seconds = Seconds + seconds, CpuSeconds = CpuSeconds + cpuSeconds };

    private double Percentile(double p)
    {
        if (LatenciesMs.Length == 0)
        {
            return double.NaN;
        }

        var index = (int)Math.Ceiling(p * LatenciesMs.Length) - 1;
        return LatenciesMs[Math.Clamp(index, 0, LatenciesMs.Length - 1)];
    }
}

/// <summary>A failed check of a response (status or content).</summary>
internal sealed class BenchCheckException(string message) : Exception(message);

/// <summary>
/// Runs <c>concurrency</c> workers, each calling an operation in a closed loop (one in flight per worker), for a
/// warm-up and then a fixed measured window. Every operation is checked by the operation itself (it throws on a
/// bad status or content); errors are counted all the time. Nothing here can hang: workers stop at the end of the
/// window, and if one does not return within a grace period its token is cancelled and the cell fails.
/// </summary>
internal static class LoadRunner
{
    /// <summary>A worker stops early after this many errors, so a broken target fails fast.</summary>
    private const int MaxErrorsPerWorker = 50;

    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(15);

    public static async Task<Measurement> RunAsync(
        int concurrency, TimeSpan warmup, TimeSpan duration, Func<int, CancellationToken, ValueTask> operation, CancellationToken cancellationToken)
    {
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var window = new Window();
        var workers = new Worker[concurrency];
        var tasks = new Task[concurrency];
        for (var i = 0; i < concurrency; i++)
        {
            var worker = workers[i] = new Worker(i);
            tasks[i] = Task.Run(() => worker.RunAsync(window, operation, abort.Token), CancellationToken.None);
        }

        var cpuStart = TimeSpan.Zero;
        var cpuEnd = TimeSpan.Zero;
        try
        {
            await Task.Delay(warmup, cancellationToken);
            cpuStart = ProcessCpu();
            window.Start = Stopwatch.GetTimestamp();
            await Task.Delay(duration, cancellationToken);
            window.End = Stopwatch.GetTimestamp();
            cpuEnd = ProcessCpu();
        }
        finally
        {
            window.Stopping = true;
            window.End = Math.Min(window.End, Stopwatch.GetTimestamp());
            var all = Task.WhenAll(tasks);
            if (await Task.WhenAny(all, Task.Delay(Grace, CancellationToken.None)) != all)
            {
                await abort.CancelAsync();
                await Task.WhenAny(all, Task.Delay(Grace, CancellationToken.None));
                workers[0].Fail("a worker did not stop within the grace period (hung request)");
            }
        }

        var seconds = Stopwatch.GetElapsedTime(window.Start, window.End).TotalSeconds;
        var latencies = workers.SelectMany(w => w.Latencies).Select(t => t * 1000.0 / Stopwatch.Frequency).ToArray();
        Array.Sort(latencies);
        return new Measurement(
            workers.Sum(w => w.Completed), workers.Sum(w => w.Errors), seconds, latencies, workers.Select(w => w.FirstError).FirstOrDefault(e => e is not null),
            (cpuEnd - cpuStart).TotalSeconds);
    }

    /// <summary>User + system CPU time of this process so far.</summary>
    public static TimeSpan ProcessCpu()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }

    private sealed class Window
    {
        private long _start = long.MaxValue;
        private long _end = long.MaxValue;

        public long Start
        {
            get => Volatile.Read(ref _start);
            set => Volatile.Write(ref _start, value);
        }

        public long End
        {
            get => Volatile.Read(ref _end);
            set => Volatile.Write(ref _end, value);
        }

        public volatile bool Stopping;
    }

    private sealed class Worker(int index)
    {
        public List<long> Latencies { get; } = new(16 * 1024);

        public long Completed { get; private set; }

        public long Errors { get; private set; }

        public string? FirstError { get; private set; }

        public void Fail(string error)
        {
            Errors++;
            FirstError ??= error;
        }

        public async Task RunAsync(Window window, Func<int, CancellationToken, ValueTask> operation, CancellationToken cancellationToken)
        {
            while (!window.Stopping && !cancellationToken.IsCancellationRequested && Errors < MaxErrorsPerWorker)
            {
                var start = Stopwatch.GetTimestamp();
                try
                {
                    await operation(index, cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    Fail("cancelled (deadline)");
                    return;
                }
                catch (Exception ex)
                {
                    Fail(ex is BenchCheckException ? ex.Message : ex.GetType().Name + ": " + ex.Message);
                    continue;
                }

                var end = Stopwatch.GetTimestamp();
                if (end >= window.Start && end <= window.End)
                {
                    Completed++;
                    Latencies.Add(end - start);
                }
            }
        }
    }
}
