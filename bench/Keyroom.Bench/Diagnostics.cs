using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Keyroom.Core.Audit;
using Keyroom.Core.Auth;
using Keyroom.Core.Crypto;
using Keyroom.Core.Secrets;
using Keyroom.Core.Storage;
using Keyroom.Server.Accounts;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Keyroom.Bench;

/// <summary>
/// <c>--diag</c>: where the time of one secret read goes. Each step of Keyroom's read path is called directly
/// (no HTTP) in a single-threaded loop after a warm-up, next to the baseline's hand-written equivalent, and timed
/// with a stopwatch; allocations per call come from the thread's allocation counter. Then a few short HTTP runs
/// separate the framework pipeline from the endpoint work.
/// </summary>
internal static class Diagnostics
{
    private const int Iterations = 20_000;
    private const int WriteIterations = 300;

    public static async Task<int> RunAsync(BenchSettings settings, string work, byte[] value, CancellationToken cancellationToken)
    {
        await using var keyroom = await KeyroomInProcess.StartAsync(Path.Combine(work, "keyroom"), cancellationToken);
        var session = await KeyroomSession.CreateAsync(keyroom.BaseUrl, keyroom.AdminKey, "diag-room", value, cancellationToken);
        var jwt = BenchProgram.BaselineJwtFor(session.AdminKey);
        await using var baseline = await BaselineServer.StartAsync(Path.Combine(work, "baseline"), session.ProjectId, value, jwt, cancellationToken);

        if (settings.Soak is not null)
        {
            return await SoakAsync(settings.Soak, session, keyroom, baseline, value, cancellationToken);
        }

        var services = keyroom.Services;
        var apiKeys = services.GetRequiredService<ApiKeyService>();
        var store = services.GetRequiredService<ISecretStore>();
        var cipher = services.GetRequiredService<EnvelopeCipher>();
        var audit = services.GetRequiredService<AuditLog>();
        var secrets = services.GetRequiredService<SecretService>();
        var json = services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var key = SecretKey.Project(session.ProjectId, KeyroomSession.ProjectSecretId);
        var principal = await apiKeys.AuthenticateAsync(session.Jwt, cancellationToken);
        var sealedSecret = (await store.ReadAsync(key, null, cancellationToken))!;
        var secretValue = await secrets.ReadAsync(principal, key, null, cancellationToken);

        Console.WriteLine($"Diagnostics: one secret read, step by step, single thread, {Iterations:#,0} calls each after a warm-up");
        Console.WriteLine($"{"step",-58} {"wall us",9} {"cpu us",9} {"bytes/call",11}");
        Console.WriteLine("(cpu = whole-process CPU per call, background writers included; wall includes waiting for the other busy processes)");

        Console.WriteLine("-- Keyroom (services called directly)");
        await TimeAsync("auth: participant JWT (ApiKeyService.AuthenticateAsync)", async () => await apiKeys.AuthenticateAsync(session.Jwt, cancellationToken));
        var secretUtf8 = System.Text.Encoding.UTF8.GetBytes(ApiKeyString.TryParse(session.AdminKey, out var parsedKey) ? parsedKey.Secret : string.Empty);
        await TimeAsync("  of which ParticipantToken.ReadUnverified (JSON DOM)", () =>
        {
            _ = ParticipantToken.ReadUnverified(session.Jwt);
            return ValueTask.CompletedTask;
        });
        var unverified = ParticipantToken.ReadUnverified(session.Jwt)!;
        await TimeAsync("  of which UnverifiedToken.Verify (HMAC-SHA256)", () =>
        {
            _ = unverified.Verify(secretUtf8, DateTimeOffset.UtcNow);
            return ValueTask.CompletedTask;
        });
        await TimeAsync("auth: ma- API key (ApiKeyService.AuthenticateAsync)", async () => await apiKeys.AuthenticateAsync(session.AdminKey, cancellationToken));
        await TimeAsync("authorize: SecretAuthorizer.Demand (JWT principal)", () =>
        {
            SecretAuthorizer.Demand(principal, SecretAction.Read, key);
            return ValueTask.CompletedTask;
        });
        await TimeAsync("store: SqliteKeyroomStore.ReadAsync (join, pooled conn)", async () => await store.ReadAsync(key, null, cancellationToken));
        var keyroomDb = Path.Combine(work, "keyroom", "keyroom.db");
        var keyroomConnection = new SqliteConnectionStringBuilder
        {
            DataSource = keyroomDb,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            ForeignKeys = true,
            DefaultTimeout = 30,
        }.ToString();
        var plainConnection = new SqliteConnectionStringBuilder { DataSource = keyroomDb, Pooling = true }.ToString();
        await TimeAsync("  open+close pooled conn, store's settings (ForeignKeys)", () =>
        {
            using var connection = new SqliteConnection(keyroomConnection);
            connection.Open();
            return ValueTask.CompletedTask;
        });
        await TimeAsync("  open+close pooled conn, no ForeignKeys", () =>
        {
            using var connection = new SqliteConnection(plainConnection);
            connection.Open();
            return ValueTask.CompletedTask;
        });
        await TimeAsync("  store's join SQL, sync, plain pooled conn", () =>
        {
            using var connection = new SqliteConnection(plainConnection);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT s.name, s.type, s.version, s.created_at, s.updated_at, v.version, v.blob FROM secrets s " +
                "JOIN secret_versions v ON v.secret_row = s.row_id AND v.version = COALESCE($v, s.version) " +
                "WHERE s.project_id=$p AND s.scope=$s AND s.owner=$o AND s.delegated_to=$d AND s.id=$id";
            command.Parameters.AddWithValue("$v", DBNull.Value);
            command.Parameters.AddWithValue("$p", key.ProjectId);
            command.Parameters.AddWithValue("$s", key.Scope);
            command.Parameters.AddWithValue("$o", key.Owner);
            command.Parameters.AddWithValue("$d", key.DelegatedTo);
            command.Parameters.AddWithValue("$id", key.Id);
            using var reader = command.ExecuteReader();
            reader.Read();
            _ = (byte[])reader.GetValue(6);
            return ValueTask.CompletedTask;
        });
        await TimeAsync("crypto: AssociatedData.ForSecret + EnvelopeCipher.Open", () =>
        {
            cipher.Open(sealedSecret.Blob, AssociatedData.ForSecret(key, sealedSecret.Version));
            return ValueTask.CompletedTask;
        });
        await TimeAsync("audit: AuditLog.Record + its share of the batched commit", () =>
        {
            audit.Record(new AuditEvent(session.ProjectId, principal.AuditActor, "secret.read", SecretService.Target(key), "ok"));
            return ValueTask.CompletedTask;
        }, () => audit.FlushAsync());
        var chain = new AuditChain(new byte[32]);
        var previous = AuditChain.Genesis;
        await TimeAsync("  of which AuditChain.Link (HMAC chain)", () =>
        {
            previous = chain.Link(1, DateTimeOffset.UtcNow, new AuditEvent(session.ProjectId, principal.AuditActor, "secret.read", SecretService.Target(key), "ok"), previous).Mac;
            return ValueTask.CompletedTask;
        });
        await TimeAsync("json: SecretValueResponse via the app's JsonOptions", () =>
        {
            var buffer = new ArrayBufferWriter<byte>(512);
            using var writer = new Utf8JsonWriter(buffer);
            JsonSerializer.Serialize(writer, SecretValueResponse.From(secretValue), json);
            return ValueTask.CompletedTask;
        });
        await TimeAsync("all core: SecretService.ReadAsync (authz+store+open+audit)", async () => await secrets.ReadAsync(principal, key, null, cancellationToken),
            () => audit.FlushAsync());

        Console.WriteLine("-- baseline (hand-written)");
        var baselineDb = new SqliteConnectionStringBuilder { DataSource = Path.Combine(work, "baseline", "baseline.db"), Pooling = true }.ToString();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        await TimeAsync("auth: HS256 JWT check (BaselineJwt.TryVerify)", () =>
        {
            if (!jwt.TryVerify(session.Jwt, session.ProjectId, now))
            {
                throw new InvalidOperationException("baseline JWT check failed");
            }

            return ValueTask.CompletedTask;
        });
        byte[] blob = [];
        await TimeAsync("store: SQLite point read of the blob (pooled conn)", () =>
        {
            using var connection = new SqliteConnection(baselineDb);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT name, type, version, created_at, updated_at, blob FROM secrets WHERE project_id=$p AND id=$id";
            command.Parameters.AddWithValue("$p", session.ProjectId);
            command.Parameters.AddWithValue("$id", BaselineServer.SecretId);
            using var reader = command.ExecuteReader();
            reader.Read();
            blob = (byte[])reader.GetValue(5);
            return ValueTask.CompletedTask;
        });
        var envelope = baseline.Envelope;
        var plaintext = new byte[envelope.PlaintextLength(blob)];
        await TimeAsync("crypto: AAD + unwrap + decrypt (BaselineEnvelope.Open)", () =>
        {
            Span<byte> aad = stackalloc byte[512];
            var length = BaselineEnvelope.WriteSecretAad(aad, session.ProjectId, BaselineServer.SecretId, 1);
            envelope.Open(blob, aad[..length], plaintext);
            return ValueTask.CompletedTask;
        });

        Console.WriteLine($"-- durable writes, one writer, {WriteIterations} each, each call dispatched to the thread pool like a request");
        var writeLimits = new SecretLimits(64 * 1024, 10);
        var counter = 0;
        await TimeAsync("keyroom: SecretService.WriteAsync create (+durable audit)", async () =>
        {
            await Task.Yield();
            await secrets.WriteAsync(principal, SecretKey.Project(session.ProjectId, "w" + counter++), "w", "keys", value, WriteMode.Create, writeLimits, cancellationToken);
        }, iterations: WriteIterations);
        await TimeAsync("keyroom: ISecretStore.WriteAsync create only", async () =>
        {
            await Task.Yield();
            await store.WriteAsync(SecretKey.Project(session.ProjectId, "s" + counter++), "w", "keys", WriteMode.Create, v => blob, 10, cancellationToken);
        }, iterations: WriteIterations);
        await TimeAsync("keyroom: AuditLog.RecordDurablyAsync only", async () =>
        {
            await Task.Yield();
            await audit.RecordDurablyAsync(new AuditEvent(session.ProjectId, principal.AuditActor, "secret.create", "project/secret/x", "ok"));
        }, iterations: WriteIterations);
        await using (var writer = new BaselineWriter(Path.Combine(work, "baseline"), session.ProjectId, blob))
        {
            await writer.InitializeAsync(cancellationToken);
            await TimeAsync("baseline: INSERT + COMMIT (synchronous=FULL)", () => writer.CreateAsync(cancellationToken), iterations: WriteIterations);
        }

        Console.WriteLine("-- HTTP, c=16, 3 interleaved rounds of 2 s after 0.5 s warm-up, medians (same client code)");
        using var keyroomClient = Http.CreateClient(session.BaseUrl, 16, session.Jwt);
        using var keyClient = Http.CreateClient(session.BaseUrl, 16, session.AdminKey);
        using var baselineClient = Http.CreateClient(baseline.BaseUrl, 16, session.Jwt);
        var baselinePath = BaselineServer.ReadPath(session.ProjectId);
        var rolePath = $"/accounts/projects/{session.ProjectId}/role";
        var runs = new List<(string Name, Func<CancellationToken, ValueTask> Operation, bool Audited, List<(Measurement Measurement, double GcPauseMsPer1k, int Gen0, int Gen1, int Gen2)> Results)>
        {
            ("keyroom GET /healthz (pipeline only)", c => Ok(keyroomClient, "/healthz", c), false, []),
            ("baseline GET /b/ping (pipeline only)", c => Ok(baselineClient, "/b/ping", c), false, []),
            ("keyroom GET …/role, ma- key (group filters + auth)", c => Ok(keyClient, rolePath, c), false, []),
            ("keyroom GET …/role, participant JWT", c => Ok(keyroomClient, rolePath, c), false, []),
            ("keyroom GET secret, participant JWT", c => Http.GetSecretAsync(keyroomClient, session.ProjectSecretPath, KeyroomSession.ProjectSecretId, value, c), true, []),
            ("keyroom GET secret, ma- API key", c => Http.GetSecretAsync(keyClient, session.ProjectSecretPath, KeyroomSession.ProjectSecretId, value, c), true, []),
            ("baseline GET secret, JWT", c => Http.GetSecretAsync(baselineClient, baselinePath, BaselineServer.SecretId, value, c), false, []),
        };
        for (var round = 0; round < 3; round++)
        {
            foreach (var (_, operation, audited, results) in round % 2 == 0 ? runs : Enumerable.Reverse(runs))
            {
                results.Add(await HttpAsync(operation, audited ? keyroom : null, cancellationToken));
            }
        }

        foreach (var (name, _, _, results) in runs)
        {
            var rate = results.Select(r => r.Measurement.Rate).Order().ElementAt(1);
            var cpu = results.Select(r => r.Measurement.CpuMicrosPerOp).Order().ElementAt(1);
            var p50 = results.Select(r => r.Measurement.P50).Order().ElementAt(1);
            var gcPause = results.Select(r => r.GcPauseMsPer1k).Order().ElementAt(1);
            var gcs = string.Join(" ", results.Select(r => $"{r.Gen0}/{r.Gen1}/{r.Gen2}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name,-58} {Report.N(rate),7} req/s  cpu {Report.N(cpu),4} us/req  p50 {Report.F(p50, "0.00")} ms  GC pause {Report.F(gcPause, "0.00")} ms/1k req, gen0/1/2 per run {gcs}  errors {results.Sum(r => r.Measurement.Errors)}"));
        }

        return 0;
    }

    /// <summary>
    /// <c>--soak TARGET</c>: drives one target at 16 concurrent clients (KEYROOM_BENCH_SOAK_WORKERS) for 60 s (for an external profiler such as
    /// <c>perf record -p PID</c> with DOTNET_PerfMapEnabled=1). TARGET: keyroom-rest, keyroom-key, baseline-rest, room.
    /// </summary>
    private static async Task<int> SoakAsync(string target, KeyroomSession session, KeyroomInProcess keyroom, BaselineServer baseline, byte[] value, CancellationToken cancellationToken)
    {
        var workers = int.TryParse(Environment.GetEnvironmentVariable("KEYROOM_BENCH_SOAK_WORKERS"), out var w) && w > 0 ? w : 16;
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("KEYROOM_BENCH_SOAK_SECONDS"), out var d) && d > 0 ? d : 60;
        using var jwtClient = Http.CreateClient(session.BaseUrl, workers, session.Jwt);
        using var keyClient = Http.CreateClient(session.BaseUrl, workers, session.AdminKey);
        using var baselineClient = Http.CreateClient(baseline.BaseUrl, workers, session.Jwt);
        var rooms = new List<RoomConnection>();
        var request = RoomConnection.GetSecretRequest(KeyroomSession.RoomSecretId);
        try
        {
            if (target == "room")
            {
                for (var i = 0; i < workers; i++)
                {
                    rooms.Add(await RoomConnection.ConnectAsync(session.RoomUrl, session.Jwt, TimeSpan.FromSeconds(10), cancellationToken));
                }
            }

            Func<int, CancellationToken, ValueTask> operation = target switch
            {
                "keyroom-rest" => (_, c) => Http.GetSecretAsync(jwtClient, session.ProjectSecretPath, KeyroomSession.ProjectSecretId, value, c),
                "keyroom-key" => (_, c) => Http.GetSecretAsync(keyClient, session.ProjectSecretPath, KeyroomSession.ProjectSecretId, value, c),
                "baseline-rest" => (_, c) => Http.GetSecretAsync(baselineClient, BaselineServer.ReadPath(session.ProjectId), BaselineServer.SecretId, value, c),
                "room" => (w, c) => rooms[w].GetSecretAsync(request, value, c),
                _ => throw new ArgumentException("--soak takes keyroom-rest, keyroom-key, baseline-rest or room"),
            };
            Console.WriteLine($"soak {target}: pid {Environment.ProcessId}, {workers} workers, {seconds} s");
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
            var measurement = await LoadRunner.RunAsync(workers, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(seconds), operation, cancellationToken);
            var allocatedPerOp = (GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore) / Math.Max(1.0, measurement.Completed);
            await keyroom.FlushAuditAsync(cancellationToken);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"soak {target}: {Report.N(measurement.Rate)} req/s  cpu {Report.N(measurement.CpuMicrosPerOp)} us/req  p50 {Report.F(measurement.P50, "0.00")} ms  p99 {Report.F(measurement.P99, "0.00")} ms  errors {measurement.Errors}  allocated ~{allocatedPerOp:0} B/op (warm-up included, client + server)  threads {ThreadPool.ThreadCount}"));
            return measurement.Errors > 0 ? 2 : 0;
        }
        finally
        {
            await Task.WhenAll(rooms.Select(r => r.DisposeAsync().AsTask()));
        }
    }

    private static async ValueTask Ok(HttpClient client, string path, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync(path, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new BenchCheckException($"HTTP {(int)response.StatusCode}");
        }

        await response.Content.ReadAsByteArrayAsync(cancellationToken);
    }

    private static async Task<(Measurement Measurement, double GcPauseMsPer1k, int Gen0, int Gen1, int Gen2)> HttpAsync(
        Func<CancellationToken, ValueTask> operation, KeyroomInProcess? audited, CancellationToken cancellationToken)
    {
        var pause = GC.GetTotalPauseDuration();
        var (gen0, gen1, gen2) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var measurement = await LoadRunner.RunAsync(16, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(2), (_, c) => operation(c), cancellationToken);
        if (audited is not null)
        {
            var cpu = LoadRunner.ProcessCpu();
            var drain = Stopwatch.StartNew();
            await audited.FlushAuditAsync(cancellationToken);
            measurement = measurement.WithDrain(drain.Elapsed.TotalSeconds, (LoadRunner.ProcessCpu() - cpu).TotalSeconds);
        }

        var pauseMs = (GC.GetTotalPauseDuration() - pause).TotalMilliseconds;
        return (measurement, measurement.Completed > 0 ? pauseMs * 1000 / measurement.Completed : double.NaN,
            GC.CollectionCount(0) - gen0, GC.CollectionCount(1) - gen1, GC.CollectionCount(2) - gen2);
    }

    /// <summary>Times <paramref name="step"/> (plus an optional completion, e.g. an audit flush, inside the timed span).</summary>
    private static async Task TimeAsync(string name, Func<ValueTask> step, Func<Task>? complete = null, int iterations = Iterations)
    {
        for (var i = 0; i < Math.Min(2_000, iterations / 5); i++)
        {
            await step();
        }

        if (complete is not null)
        {
            await complete();
        }

        GC.Collect();
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var cpu = LoadRunner.ProcessCpu();
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++)
        {
            await step();
        }

        if (complete is not null)
        {
            await complete();
        }

        var micros = watch.Elapsed.TotalMicroseconds / iterations;
        var cpuMicros = (LoadRunner.ProcessCpu() - cpu).TotalMicroseconds / iterations;
        var bytes = Math.Max(0, GC.GetTotalAllocatedBytes(precise: true) - allocated) / (double)iterations;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-58} {micros,9:0.0} {cpuMicros,9:0.0} {bytes,11:#,0}"));
    }
}
