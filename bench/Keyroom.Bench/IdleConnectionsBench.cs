using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Keyroom.Bench;

/// <summary>What holding many idle room connections cost the server process.</summary>
internal sealed record IdleResult(
    int Requested, int Opened, int StillOpen, long RssBeforeKiB, long RssAfterKiB, long RssPeakKiB, int ThreadsBefore, int ThreadsAfter,
    double OpenSeconds, string? Error)
{
    public double PerConnectionKiB => Opened > 0 ? (RssAfterKiB - RssBeforeKiB) / (double)Opened : double.NaN;
}

/// <summary>
/// Runs Keyroom.Server.dll as a separate process (so its RSS is its own), opens many room WebSockets to it that
/// then stay idle, and reads VmRSS from /proc before and after. Every step has a time limit, and the process is
/// killed at the end whatever happened.
/// </summary>
internal static class IdleConnectionsBench
{
    private const int Rooms = 10;
    private const int OpenParallelism = 32;

    public static async Task<IdleResult> RunAsync(string serverDll, string directory, int connections, byte[] value, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var port = FreePort();
        var keyFile = Path.Combine(directory, "admin.key");
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { serverDll, "--urls", $"http://127.0.0.1:{port}", "--data", Path.Combine(directory, "data") })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["KEYROOM_BOOTSTRAP_KEY_FILE"] = keyFile;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        var output = new Queue<string>();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Keep(output, e.Data);
        process.ErrorDataReceived += (_, e) => Keep(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var open = new List<RoomConnection>(connections);
        try
        {
            var baseUrl = new Uri($"http://127.0.0.1:{port}");
            await WaitForServerAsync(process, baseUrl, keyFile, output, cancellationToken);
            var adminKey = (await File.ReadAllTextAsync(keyFile, cancellationToken)).Trim();
            var session = await KeyroomSession.CreateAsync(baseUrl, adminKey, "idle-0", value, cancellationToken);
            var rooms = new List<(string Jwt, Uri Url)> { (session.Jwt, session.RoomUrl) };
            using (var client = Http.CreateClient(baseUrl, 1, adminKey))
            {
                for (var i = 1; i < Rooms; i++)
                {
                    rooms.Add(await KeyroomSession.ConnectAsync(client, session.ProjectId, "idle-" + i.ToString(CultureInfo.InvariantCulture), cancellationToken));
                }
            }

            // Warm the server's connection path (JIT, pools) so "before" already includes the code, not per-connection cost.
            var request = RoomConnection.GetSecretRequest(KeyroomSession.RoomSecretId);
            for (var i = 0; i < 20; i++)
            {
                await using var warm = await RoomConnection.ConnectAsync(session.RoomUrl, session.Jwt, TimeSpan.FromSeconds(10), cancellationToken);
                await warm.GetSecretAsync(request, value, cancellationToken);
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            var before = ReadStatus(process.Id);

            var watch = Stopwatch.StartNew();
            using var gate = new SemaphoreSlim(OpenParallelism);
            var tasks = Enumerable.Range(0, connections).Select(async i =>
            {
                await gate.WaitAsync(cancellationToken);
                try
                {
                    var (jwt, url) = rooms[i % rooms.Count];
                    return await RoomConnection.ConnectAsync(url, jwt, TimeSpan.FromSeconds(15), cancellationToken);
                }
                finally
                {
                    gate.Release();
                }
            }).ToList();
            string? error = null;
            foreach (var task in tasks)
            {
                try
                {
                    open.Add(await task);
                }
                catch (Exception ex) when (ex is BenchCheckException or System.Net.WebSockets.WebSocketException or HttpRequestException)
                {
                    error ??= ex.Message;
                }
            }

            var openSeconds = watch.Elapsed.TotalSeconds;
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            var after = ReadStatus(process.Id);

            // The connections must still be live: every one open, and a sample answers get_secret.
            var stillOpen = open.Count(c => c.State == System.Net.WebSockets.WebSocketState.Open);
            foreach (var connection in open.Where((_, i) => i % Rooms == 0).Take(10))
            {
                await connection.GetSecretAsync(request, value, cancellationToken);
            }

            return new IdleResult(connections, open.Count, stillOpen, before.RssKiB, after.RssKiB, after.PeakKiB, before.Threads, after.Threads, openSeconds, error);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var tail = string.Join(" | ", output.TakeLast(5));
            return new IdleResult(connections, open.Count, 0, 0, 0, 0, 0, 0, 0, ex.Message + (tail.Length > 0 ? " [server: " + tail + "]" : string.Empty));
        }
        finally
        {
            using var closing = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await Task.WhenAll(open.Select(c => c.DisposeAsync().AsTask())).WaitAsync(closing.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private static async Task WaitForServerAsync(Process process, Uri baseUrl, string keyFile, Queue<string> output, CancellationToken cancellationToken)
    {
        using var client = Http.CreateClient(baseUrl, 1, null);
        client.Timeout = TimeSpan.FromSeconds(2);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(40))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the server exited with code {process.ExitCode}: {string.Join(" | ", output.TakeLast(5))}");
            }

            try
            {
                using var response = await client.GetAsync("/healthz", cancellationToken);
                if (response.IsSuccessStatusCode && File.Exists(keyFile))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // a slow first answer
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new TimeoutException("the server did not answer /healthz within 40 s");
    }

    /// <summary>VmRSS, VmHWM (KiB) and Threads from /proc/&lt;pid&gt;/status.</summary>
    public static (long RssKiB, long PeakKiB, int Threads) ReadStatus(int pid)
    {
        long rss = 0, peak = 0;
        var threads = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Number(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Number(line);
            }
            else if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                threads = (int)Number(line);
            }
        }

        return (rss, peak, threads);

        static long Number(string line) =>
            long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim().ToString().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void Keep(Queue<string> output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.Enqueue(line);
            if (output.Count > 50)
            {
                output.Dequeue();
            }
        }
    }
}
