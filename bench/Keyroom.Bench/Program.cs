using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using Keyroom.Core.Auth;
using Microsoft.Data.Sqlite;

namespace Keyroom.Bench;

/// <summary>Settings from the command line (see bench/run.sh).</summary>
internal sealed record BenchSettings(
    bool Quick, bool Diag, TimeSpan Warmup, TimeSpan Duration, int Runs, int[] GetConcurrency, int[] CreateConcurrency, int IdleConnections,
    TimeSpan Deadline, string OutPath, string? ServerDll, bool KeepData, string? Soak)
{
    public static BenchSettings Parse(string[] args)
    {
        var quick = args.Contains("--quick");
        string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        return new BenchSettings(
            Quick: quick,
            Diag: args.Contains("--diag") || args.Contains("--soak"),
            Warmup: TimeSpan.FromSeconds(quick ? 0.3 : 0.75),
            Duration: TimeSpan.FromSeconds(quick ? 1.0 : 1.6),
            Runs: quick ? 1 : 5,
            GetConcurrency: [1, 16, 64],
            CreateConcurrency: [1, 16],
            IdleConnections: int.Parse(Value("--idle") ?? "1000", CultureInfo.InvariantCulture),
            Deadline: TimeSpan.FromSeconds(args.Contains("--soak") ? 200 : quick ? 100 : 270),
            OutPath: Value("--out") ?? Path.Combine("bench", "results", "latest.json"),
            ServerDll: Value("--server-dll"),
            KeepData: args.Contains("--keep-data"),
            Soak: Value("--soak"));
    }
}

internal static class BenchProgram
{
    private const int ValueSize = 200;
    private const string RoomName = "bench-room";

    public static async Task<int> Main(string[] args)
    {
        var settings = BenchSettings.Parse(args);
        using var deadline = new CancellationTokenSource(settings.Deadline);
        var work = Directory.CreateTempSubdirectory("keyroom-bench-").FullName;
        try
        {
            return settings.Diag
                ? await Diagnostics.RunAsync(settings, work, KeysValue(ValueSize), deadline.Token)
                : await RunAsync(settings, work, deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync($"bench: the overall deadline ({settings.Deadline.TotalSeconds:0} s) was reached; stopping.");
            return 3;
        }
        finally
        {
            if (!settings.KeepData)
            {
                TryDelete(work);
            }
        }
    }

    private static async Task<int> RunAsync(BenchSettings settings, string work, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var value = KeysValue(ValueSize);
        var loadAtStart = PrintHeader(settings);

        await using var keyroom = await KeyroomInProcess.StartAsync(Path.Combine(work, "keyroom"), cancellationToken);
        var session = await KeyroomSession.CreateAsync(keyroom.BaseUrl, keyroom.AdminKey, RoomName, value, cancellationToken);
        var jwt = BaselineJwtFor(session.AdminKey);
        await using var baseline = await BaselineServer.StartAsync(Path.Combine(work, "baseline"), session.ProjectId, value, jwt, cancellationToken);
        var storeSettings = ReadStoreSettings(Path.Combine(work, "keyroom", "keyroom.db"));
        Console.WriteLine($"keyroom store connection: {storeSettings}; 2 = FULL, 1 = NORMAL (the store does not set synchronous itself)");
        Console.WriteLine($"participant JWT used by every REST/room client: {session.Jwt.Length} chars; secret value: {value.Length} bytes (type keys)");

        var roomRequest = RoomConnection.GetSecretRequest(KeyroomSession.RoomSecretId);
        var hubProblem = await ProbeRoomHubAsync(session, roomRequest, value, cancellationToken);
        Console.WriteLine(hubProblem is null ? "room hub: available (GET /rooms/{room} WebSocket answers get_secret)" : $"room bench: hub not available ({hubProblem})");

        var restPath = session.ProjectSecretPath;
        var baselinePath = BaselineServer.ReadPath(session.ProjectId);
        var cells = new List<Cell>();
        var exitCode = 0;

        await using var writer = new BaselineWriter(Path.Combine(work, "baseline"), session.ProjectId, new BaselineEnvelope(new byte[32], "bench-kek-1").Seal(value, new byte[64]));
        await writer.InitializeAsync(cancellationToken);
        var createBody = Encoding.UTF8.GetBytes(new JsonObject { ["name"] = "bench-create", ["type"] = "keys", ["data_base64"] = Convert.ToBase64String(value) }.ToJsonString());

        var rooms = new List<RoomConnection>();
        try
        {
            if (hubProblem is null)
            {
                while (rooms.Count < settings.GetConcurrency.Max())
                {
                    rooms.Add(await RoomConnection.ConnectAsync(session.RoomUrl, session.Jwt, TimeSpan.FromSeconds(10), cancellationToken));
                }
            }

            // ---- warm-up: every path, until the JIT has stopped compiling (tiered compilation and PGO take tens of seconds on 2 busy cores) ----
            using (var warmRest = Http.CreateClient(session.BaseUrl, 16, session.Jwt))
            using (var warmBaseline = Http.CreateClient(baseline.BaseUrl, 16, session.Jwt))
            {
                var warm = new List<(string Name, Func<int, CancellationToken, ValueTask> Operation, double Seconds)>
                {
                    ("keyroom REST", (_, ct) => Http.GetSecretAsync(warmRest, restPath, KeyroomSession.ProjectSecretId, value, ct), 1.0),
                    ("baseline REST", (_, ct) => Http.GetSecretAsync(warmBaseline, baselinePath, BaselineServer.SecretId, value, ct), 1.0),
                    ("keyroom POST", (_, ct) => Http.CreateSecretAsync(warmRest, session.CreatePath, createBody, ct), 0.3),
                    ("baseline SQLite", (_, ct) => writer.CreateAsync(ct), 0.3),
                };
                if (hubProblem is null)
                {
                    warm.Add(("keyroom room", (worker, ct) => rooms[worker].GetSecretAsync(roomRequest, value, ct), 1.0));
                }

                await WarmUpAsync(warm, keyroom, TimeSpan.FromSeconds(settings.Quick ? 10 : 45), cancellationToken);
            }

            // ---- REST GET (+ room get_secret at the same concurrency), interleaved per run ----
            foreach (var concurrency in settings.GetConcurrency)
            {
                var keyroomCell = new Cell("rest_get", "keyroom REST", concurrency, "req/s");
                var baselineCell = new Cell("rest_get", "baseline REST", concurrency, "req/s");
                var roomCell = new Cell("room_get", "keyroom room", concurrency, "req/s");
                cells.AddRange([keyroomCell, baselineCell, roomCell]);
                using var keyroomClient = Http.CreateClient(session.BaseUrl, concurrency, session.Jwt);
                using var baselineClient = Http.CreateClient(baseline.BaseUrl, concurrency, session.Jwt);
                using var apiKeyClient = Http.CreateClient(session.BaseUrl, concurrency, session.AdminKey);
                // Order: each compared pair is adjacent (baseline | keyroom REST | room), so within a run the two sides of
                // a ratio are measured back to back whichever direction the run goes.
                var targets = new List<(Cell Cell, Func<int, CancellationToken, ValueTask> Operation, bool Audited)>
                {
                    (baselineCell, (_, ct) => Http.GetSecretAsync(baselineClient, baselinePath, BaselineServer.SecretId, value, ct), false),
                    (keyroomCell, (_, ct) => Http.GetSecretAsync(keyroomClient, restPath, KeyroomSession.ProjectSecretId, value, ct), true),
                };
                if (hubProblem is null)
                {
                    targets.Add((roomCell, (worker, ct) => rooms[worker].GetSecretAsync(roomRequest, value, ct), true));
                }
                else
                {
                    roomCell.Skipped = "hub not available";
                }

                if (concurrency == 16)
                {
                    // Informational: the same read authenticated with the ma- API key instead of the participant JWT.
                    var apiKeyCell = new Cell("rest_get", "keyroom REST ma-key", concurrency, "req/s");
                    cells.Add(apiKeyCell);
                    targets.Add((apiKeyCell, (_, ct) => Http.GetSecretAsync(apiKeyClient, restPath, KeyroomSession.ProjectSecretId, value, ct), true));
                }

                await MeasureInterleavedAsync(settings, targets, keyroom, clock, concurrency, cancellationToken);
            }
        }
        finally
        {
            await Task.WhenAll(rooms.Select(r => r.DisposeAsync().AsTask()));
        }

        // ---- durable creates ----
        Console.WriteLine($"WAL files before the create runs: keyroom {WalSize(Path.Combine(work, "keyroom", "keyroom.db"))}, baseline {WalSize(writer.DatabasePath)} "
            + "(both past the 1000-page auto-checkpoint size = steady state, where commits overwrite WAL pages in place)");
        foreach (var concurrency in settings.CreateConcurrency)
        {
            var keyroomCell = new Cell("create", "keyroom POST", concurrency, "creates/s");
            var baselineCell = new Cell("create", "baseline SQLite", concurrency, "creates/s");
            cells.AddRange([keyroomCell, baselineCell]);
            using var client = Http.CreateClient(session.BaseUrl, concurrency, session.Jwt);
            var targets = new List<(Cell Cell, Func<int, CancellationToken, ValueTask> Operation, bool Audited)>
            {
                (keyroomCell, (_, ct) => Http.CreateSecretAsync(client, session.CreatePath, createBody, ct), true),
                (baselineCell, (_, ct) => writer.CreateAsync(ct), false),
            };
            await MeasureInterleavedAsync(settings, targets, keyroom, clock, concurrency, cancellationToken);
        }

        Console.WriteLine($"baseline writes ran with PRAGMA synchronous={writer.Synchronous} (2 = FULL), journal_mode=WAL");

        // ---- idle connections against a separate server process ----
        IdleResult? idle = null;
        if (hubProblem is not null)
        {
            Console.WriteLine("idle connections: skipped (room bench: hub not available)");
        }
        else if (clock.Elapsed > settings.Deadline - TimeSpan.FromSeconds(35))
        {
            Console.WriteLine("idle connections: skipped (not enough time left before the deadline)");
        }
        else
        {
            var serverDll = settings.ServerDll ?? FindServerDll();
            idle = await IdleConnectionsBench.RunAsync(serverDll, Path.Combine(work, "idle"), settings.IdleConnections, value, cancellationToken);
        }

        // ---- report ----
        Report.PrintTable($"REST GET of a project secret ({ValueSize}-byte keys value), median of {settings.Runs} run(s) x {settings.Duration.TotalSeconds:0.#} s after {settings.Warmup.TotalSeconds:0.##} s warm-up",
            cells.Where(c => c.Section == "rest_get"));
        Report.PrintTable("Room get_secret over the WebSocket protocol (same value size), same runs", cells.Where(c => c.Section == "room_get"));
        Report.PrintTable("Durable creates (POST …/secrets vs raw SQLite INSERT+COMMIT, WAL, synchronous=FULL)", cells.Where(c => c.Section == "create"));
        PrintIdle(idle, hubProblem);

        Cell Find(string target, int concurrency) => cells.First(c => c.Target == target && c.Concurrency == concurrency);
        var summary = new List<SummaryLine>();
        foreach (var c in settings.GetConcurrency)
        {
            summary.Add(Report.Ratio($"REST get c={c}", Find("keyroom REST", c), Find("baseline REST", c), "keyroom", "baseline", "rps", 0.80));
        }

        if (cells.Any(c => c.Target == "keyroom REST ma-key"))
        {
            summary.Add(Report.Ratio("REST get c=16 with the ma- API key (informational)", Find("keyroom REST ma-key", 16), Find("baseline REST", 16), "keyroom", "baseline (JWT)", "rps", null));
        }

        foreach (var c in settings.CreateConcurrency)
        {
            summary.Add(Report.Ratio($"durable create c={c}", Find("keyroom POST", c), Find("baseline SQLite", c), "keyroom", "raw SQLite", "creates/s", null));
        }

        foreach (var c in settings.GetConcurrency)
        {
            summary.Add(hubProblem is null
                ? Report.Ratio($"room get c={c}", Find("keyroom room", c), Find("keyroom REST", c), "room", "REST", "rps", 1.00)
                : new SummaryLine($"room get c={c}", $"room get c={c}: room bench: hub not available", null, string.Empty, new JsonObject { ["name"] = $"room get c={c}", ["skipped"] = hubProblem }));
        }

        summary.Add(LatencyLine(Find("keyroom room", 16), Find("baseline REST", 16), hubProblem));
        summary.Add(IdleLine(idle, hubProblem));

        Console.WriteLine();
        Console.WriteLine("== Summary");
        foreach (var line in summary)
        {
            Console.WriteLine(line.Render());
        }

        var loadAtEnd = LoadAverage();
        Console.WriteLine($"load average (1 min) at end: {Report.F(loadAtEnd, "0.00")}"
            + (loadAtEnd > Environment.ProcessorCount * 0.5 ? "  WARNING: other work was running on this machine; treat the ratios as rough" : string.Empty));
        if (cells.Any(c => c.Failed))
        {
            exitCode = 2;
            Console.WriteLine("ERRORS: at least one cell had failed requests (see FAILED above); its numbers are not used.");
        }

        var document = new JsonObject
        {
            ["generated_at"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            ["mode"] = settings.Quick ? "quick" : "full",
            ["machine"] = MachineJson(),
            ["settings"] = new JsonObject
            {
                ["warmup_seconds"] = settings.Warmup.TotalSeconds,
                ["duration_seconds"] = settings.Duration.TotalSeconds,
                ["runs"] = settings.Runs,
                ["value_bytes"] = ValueSize,
                ["keyroom_store"] = storeSettings,
            },
            ["room_hub"] = hubProblem is null ? "available" : "not available: " + hubProblem,
            ["cells"] = new JsonArray([.. cells.Select(c => (JsonNode)c.ToJson())]),
            ["idle"] = idle is null ? null : new JsonObject
            {
                ["requested"] = idle.Requested,
                ["opened"] = idle.Opened,
                ["still_open"] = idle.StillOpen,
                ["rss_before_kib"] = idle.RssBeforeKiB,
                ["rss_after_kib"] = idle.RssAfterKiB,
                ["rss_peak_kib"] = idle.RssPeakKiB,
                ["threads_before"] = idle.ThreadsBefore,
                ["threads_after"] = idle.ThreadsAfter,
                ["per_connection_kib"] = Cell.Finite(idle.PerConnectionKiB),
                ["open_seconds"] = Math.Round(idle.OpenSeconds, 2),
                ["error"] = idle.Error,
            },
            ["summary"] = new JsonArray([.. summary.Select(s => (JsonNode)s.Json)]),
            ["summary_text"] = new JsonArray([.. summary.Select(s => (JsonNode)s.Render())]),
            ["elapsed_seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1),
            ["load_average_start"] = Cell.Finite(loadAtStart),
            ["load_average_end"] = Cell.Finite(loadAtEnd),
        };
        Report.Write(settings.OutPath, document);
        Console.WriteLine($"(written to {settings.OutPath}; bench took {clock.Elapsed.TotalSeconds:0} s)");
        return exitCode;
    }

    /// <summary>
    /// Drives every path at 16 concurrent clients in rounds until a whole round compiles (almost) no new methods,
    /// or until <paramref name="limit"/>: measuring while the JIT still tiers code up would charge its CPU to
    /// whichever target happens to be running. Failures here are reported by the measured runs.
    /// </summary>
    private static async Task WarmUpAsync(
        List<(string Name, Func<int, CancellationToken, ValueTask> Operation, double Seconds)> targets, KeyroomInProcess keyroom, TimeSpan limit,
        CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var start = System.Runtime.JitInfo.GetCompiledMethodCount();
        var before = start;
        var rounds = 0;
        long added;
        do
        {
            foreach (var (_, operation, seconds) in targets)
            {
                await LoadRunner.RunAsync(16, TimeSpan.Zero, TimeSpan.FromSeconds(seconds), operation, cancellationToken);
            }

            await keyroom.FlushAuditAsync(cancellationToken);
            rounds++;
            var now = System.Runtime.JitInfo.GetCompiledMethodCount();
            added = now - before;
            before = now;
        }
        while ((rounds < 2 || added > 10) && watch.Elapsed < limit);

        var note = added > 10 ? " (limit reached: the JIT was still busy)" : string.Empty;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"warm-up: {watch.Elapsed.TotalSeconds:0} s, {rounds} rounds over {targets.Count} paths, {before - start} methods JIT-compiled, {added} in the last round{note}"));
    }

    /// <summary>
    /// Runs every target at one concurrency, <c>Runs</c> times, alternating the order each run (ABC, CBA, …) so
    /// slow drift affects all targets alike. After a run of an audited Keyroom target, the audit entries it queued
    /// are committed and that time is added to the run, so deferred work is not left out of its rate.
    /// </summary>
    private static async Task MeasureInterleavedAsync(
        BenchSettings settings, List<(Cell Cell, Func<int, CancellationToken, ValueTask> Operation, bool Audited)> targets,
        KeyroomInProcess keyroom, Stopwatch clock, int concurrency, CancellationToken cancellationToken)
    {
        for (var run = 0; run < settings.Runs; run++)
        {
            var order = run % 2 == 0 ? targets : Enumerable.Reverse(targets).ToList();
            foreach (var (cell, operation, audited) in order)
            {
                if (cell.Failed)
                {
                    continue;
                }

                if (clock.Elapsed + settings.Warmup + settings.Duration > settings.Deadline - TimeSpan.FromSeconds(20))
                {
                    cell.Skipped ??= "deadline";
                    continue;
                }

                var measurement = await LoadRunner.RunAsync(concurrency, settings.Warmup, settings.Duration, operation, cancellationToken);
                if (audited)
                {
                    var cpu = LoadRunner.ProcessCpu();
                    var drain = Stopwatch.StartNew();
                    await keyroom.FlushAuditAsync(cancellationToken);
                    cell.DrainSeconds.Add(drain.Elapsed.TotalSeconds);
                    measurement = measurement.WithDrain(drain.Elapsed.TotalSeconds, (LoadRunner.ProcessCpu() - cpu).TotalSeconds);
                }

                cell.Runs.Add(measurement);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  [{clock.Elapsed.TotalSeconds,5:0}s] {cell.Section,-8} c={concurrency,-3} {cell.Target,-16} run {run + 1}: {Report.N(measurement.Rate),9} {cell.Unit}  cpu {Report.N(measurement.CpuMicrosPerOp),6} us/op  p50 {Report.F(measurement.P50, "0.00")} ms  p99 {Report.F(measurement.P99, "0.00")} ms  errors {measurement.Errors}"));
            }
        }
    }

    private static async Task<string?> ProbeRoomHubAsync(KeyroomSession session, byte[] request, byte[] value, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await RoomConnection.ConnectAsync(session.RoomUrl, session.Jwt, TimeSpan.FromSeconds(5), cancellationToken);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(TimeSpan.FromSeconds(5));
            await connection.GetSecretAsync(request, value, limit.Token);
            return null;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            return $"{session.RoomUrl}: {ex.GetType().Name}: {ex.Message}";
        }
    }

    private static SummaryLine LatencyLine(Cell room, Cell baselineRest, string? hubProblem)
    {
        const double TargetMs = 5.0;
        if (hubProblem is not null)
        {
            return new SummaryLine("room get p99 c=16", "room get p99 c=16: room bench: hub not available", null, string.Empty, new JsonObject { ["name"] = "room get p99 c=16", ["skipped"] = hubProblem });
        }

        var p99 = room.HasData ? room.Median!.P99 : double.NaN;
        var p50 = room.HasData ? room.Median!.P50 : double.NaN;
        var context = baselineRest.HasData
            ? $" [same run, baseline REST c=16: p50 {Report.F(baselineRest.Median!.P50, "0.00")} ms, p99 {Report.F(baselineRest.Median!.P99, "0.00")} ms]"
            : string.Empty;
        return new SummaryLine(
            "room get p99 c=16",
            $"room get latency c=16: p50 {Report.F(p50, "0.00")} ms, p99 {Report.F(p99, "0.00")} ms (target p99 < {TargetMs:0} ms)",
            room.HasData && p99 < TargetMs,
            context,
            new JsonObject { ["name"] = "room get p99 c=16", ["p50_ms"] = Cell.Finite(p50), ["p99_ms"] = Cell.Finite(p99), ["target_p99_ms"] = TargetMs, ["pass"] = room.HasData && p99 < TargetMs });
    }

    private static SummaryLine IdleLine(IdleResult? idle, string? hubProblem)
    {
        if (idle is null)
        {
            return new SummaryLine("idle connections", "idle connections: " + (hubProblem is not null ? "room bench: hub not available" : "skipped"), null, string.Empty,
                new JsonObject { ["name"] = "idle connections", ["skipped"] = hubProblem ?? "skipped" });
        }

        var ok = idle.Error is null && idle.Opened == idle.Requested && idle.StillOpen == idle.Opened;
        var text = ok
            ? $"idle connections: {idle.Opened} held open, server RSS {idle.RssBeforeKiB / 1024.0:0.0} MiB -> {idle.RssAfterKiB / 1024.0:0.0} MiB, {Report.F(idle.PerConnectionKiB, "0.0")} KiB per connection"
            : $"idle connections: {idle.Opened}/{idle.Requested} opened, {idle.StillOpen} still open; problem: {idle.Error}";
        return new SummaryLine("idle connections", text, ok ? null : false, string.Empty, new JsonObject
        {
            ["name"] = "idle connections",
            ["opened"] = idle.Opened,
            ["per_connection_kib"] = Cell.Finite(idle.PerConnectionKiB),
            ["ok"] = ok,
        });
    }

    private static void PrintIdle(IdleResult? idle, string? hubProblem)
    {
        Console.WriteLine();
        Console.WriteLine("== Idle room WebSocket connections held against a separate server process (VmRSS from /proc)");
        if (idle is null)
        {
            Console.WriteLine(hubProblem is not null ? "room bench: hub not available" : "skipped");
            return;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"requested {idle.Requested}, opened {idle.Opened} in {idle.OpenSeconds:0.0} s, still open after 2 s: {idle.StillOpen}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"server RSS before {idle.RssBeforeKiB:#,0} KiB, after {idle.RssAfterKiB:#,0} KiB (peak {idle.RssPeakKiB:#,0} KiB); threads {idle.ThreadsBefore} -> {idle.ThreadsAfter}; per connection {Report.F(idle.PerConnectionKiB, "0.0")} KiB"));
        if (idle.Error is not null)
        {
            Console.WriteLine("problem: " + idle.Error);
        }
    }

    private static string WalSize(string databasePath)
    {
        var wal = new FileInfo(databasePath + "-wal");
        return wal.Exists ? $"{wal.Length / 1024.0 / 1024.0:0.0} MiB" : "none";
    }

    /// <summary>The 1-minute load average; other work on the machine makes every number noisier.</summary>
    internal static double LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    private static double PrintHeader(BenchSettings settings)
    {
        Console.WriteLine($"Keyroom bench ({(settings.Quick ? "quick" : "full")}): {Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}, "
            + $"{(GCSettings.IsServerGC ? "server" : "workstation")} GC, {RuntimeInformation.OSDescription}");
        Console.WriteLine("Load generator and servers share this machine's cores; every target is driven by the same client code, "
            + "concurrency and durations, in the same run. Compare ratios, not absolute numbers.");
        var load = LoadAverage();
        Console.WriteLine($"load average (1 min) at start: {Report.F(load, "0.00")}"
            + (load > Environment.ProcessorCount * 0.5 ? "  WARNING: other work is running on this machine; results will be noisy" : string.Empty));
        return load;
    }

    private static JsonObject MachineJson() => new()
    {
        ["cores"] = Environment.ProcessorCount,
        ["runtime"] = RuntimeInformation.FrameworkDescription,
        ["os"] = RuntimeInformation.OSDescription,
        ["server_gc"] = GCSettings.IsServerGC,
    };

    /// <summary>
    /// The durability settings a connection of Keyroom's store gets: journal mode, and synchronous read after a first
    /// read transaction (SQLite applies SQLITE_DEFAULT_WAL_SYNCHRONOUS when it finds the database in WAL mode), plus
    /// the library's compile-time defaults.
    /// </summary>
    private static string ReadStoreSettings(string databasePath)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA synchronous;";
        var before = command.ExecuteScalar();
        command.CommandText = "SELECT count(*) FROM meta;";
        command.ExecuteScalar();
        command.CommandText = "PRAGMA journal_mode;";
        var journal = command.ExecuteScalar();
        command.CommandText = "PRAGMA synchronous;";
        var after = command.ExecuteScalar();
        command.CommandText = "PRAGMA compile_options;";
        var options = new List<string>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var option = reader.GetString(0);
                if (option.Contains("SYNCHRONOUS", StringComparison.Ordinal))
                {
                    options.Add(option);
                }
            }
        }

        return $"journal_mode={journal} synchronous={after} (on open: {before}; compile options: {(options.Count == 0 ? "none" : string.Join(",", options))})";
    }

    /// <summary>The baseline's verifier for JWTs signed with an API key: its secret is the HMAC key, its id the kid.</summary>
    internal static BaselineJwt BaselineJwtFor(string apiKey) =>
        ApiKeyString.TryParse(apiKey, out var key)
            ? new BaselineJwt(Encoding.UTF8.GetBytes(key.Secret), key.KeyId.ToString("D"))
            : throw new InvalidOperationException("not a ma- API key");

    /// <summary>A valid <c>keys</c> value (flat JSON object of strings) of exactly <paramref name="size"/> bytes.</summary>
    internal static byte[] KeysValue(int size)
    {
        const string Prefix = "{\"DATABASE_URL\":\"postgres://app:s3cr3t@db.internal:5432/app\",\"STRIPE_SECRET_KEY\":\"sk_test_";
        const string Suffix = "\"}";
        var random = new Random(42);
        var padding = new string([.. Enumerable.Range(0, size - Prefix.Length - Suffix.Length).Select(_ => (char)('a' + random.Next(26)))]);
        return Encoding.UTF8.GetBytes(Prefix + padding + Suffix);
    }

    private static string FindServerDll()
    {
        // bench built with --artifacts-path: <artifacts>/bin/Keyroom.Bench/release/ next to <artifacts>/bin/Keyroom.Server/release/.
        var here = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
        var candidate = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(here)!)!, "Keyroom.Server", Path.GetFileName(here), "Keyroom.Server.dll");
        return File.Exists(candidate) ? candidate : Path.Combine(here, "Keyroom.Server.dll");
    }

    private static void TryDelete(string directory)
    {
        try
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // best effort: a temp directory
        }
        catch (UnauthorizedAccessException)
        {
            // best effort
        }
    }
}
