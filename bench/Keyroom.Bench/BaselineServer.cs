using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Data.Sqlite;

namespace Keyroom.Bench;

/// <summary>
/// The REST read baseline: a bare Kestrel minimal endpoint doing by hand the essential work of a secret read —
/// HS256 JWT check, a point read of the sealed blob from a pooled SQLite connection, one key unwrap plus one
/// AES-256-GCM decrypt, and a base64 JSON response of the same shape as Keyroom's. No audit, no filters, no
/// ProblemDetails: it is the floor Keyroom is compared with.
/// </summary>
internal sealed class BaselineServer : IAsyncDisposable
{
    public const string SecretId = "bench-get";
    private const string ReadSql = "SELECT name, type, version, created_at, updated_at, blob FROM secrets WHERE project_id=$p AND id=$id";

    private readonly WebApplication _app;
    private readonly string _connectionString;
    private readonly BaselineJwt _jwt;
    private readonly BaselineEnvelope _envelope;

    private BaselineServer(WebApplication app, string connectionString, BaselineJwt jwt, BaselineEnvelope envelope)
    {
        _app = app;
        _connectionString = connectionString;
        _jwt = jwt;
        _envelope = envelope;
    }

    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>The envelope of the stored row (for the diagnostics).</summary>
    public BaselineEnvelope Envelope => _envelope;

    /// <summary>The read URL for a project's bench secret.</summary>
    public static string ReadPath(string projectId) => $"/b/projects/{projectId}/secrets/{SecretId}";

    /// <summary>Creates the database (WAL, one sealed row) and starts the server on a free loopback port.</summary>
    public static async Task<BaselineServer> StartAsync(string directory, string projectId, byte[] value, BaselineJwt jwt, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(directory, "baseline.db"),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
        }.ToString();
        var envelope = new BaselineEnvelope(RandomNumberGenerator.GetBytes(32), "bench-kek-1");
        await using (var connection = new SqliteConnection(connectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = """
                PRAGMA journal_mode=WAL;
                CREATE TABLE secrets (project_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
                    version INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, blob BLOB NOT NULL,
                    PRIMARY KEY (project_id, id)) WITHOUT ROWID;
                INSERT INTO secrets VALUES ($p, $id, 'bench', 'keys', 1, $now, $now, $blob);
                """;
            var aad = new byte[512];
            var aadLength = BaselineEnvelope.WriteSecretAad(aad, projectId, SecretId, 1);
            command.Parameters.AddWithValue("$p", projectId);
            command.Parameters.AddWithValue("$id", SecretId);
            command.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$blob", envelope.Seal(value, aad.AsSpan(0, aadLength)));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--urls", "http://127.0.0.1:0"] });
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new BaselineServer(app, connectionString, jwt, envelope);
        app.MapGet("/b/projects/{projectId}/secrets/{secretId}", server.ReadAsync);
        app.MapGet("/b/ping", static http =>
        {
            http.Response.ContentType = "application/json; charset=utf-8";
            return http.Response.Body.WriteAsync("{\"status\":\"ok\"}"u8.ToArray()).AsTask();
        });
        await app.StartAsync(cancellationToken);
        server.BaseUrl = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return server;
    }

    private Task ReadAsync(HttpContext http)
    {
        var projectId = (string)http.Request.RouteValues["projectId"]!;
        var secretId = (string)http.Request.RouteValues["secretId"]!;
        var authorization = http.Request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            || !_jwt.TryVerify(authorization.AsSpan(7).Trim(), projectId, DateTimeOffset.UtcNow.ToUnixTimeSeconds()))
        {
            http.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Task.CompletedTask;
        }

        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = ReadSql;
        command.Parameters.AddWithValue("$p", projectId);
        command.Parameters.AddWithValue("$id", secretId);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        var version = reader.GetInt32(2);
        var blob = (byte[])reader.GetValue(5);
        Span<byte> aad = stackalloc byte[512];
        var aadLength = BaselineEnvelope.WriteSecretAad(aad, projectId, secretId, version);
        var plaintext = ArrayPool<byte>.Shared.Rent(_envelope.PlaintextLength(blob));
        var value = plaintext.AsSpan(0, _envelope.PlaintextLength(blob));
        var body = new ArrayBufferWriter<byte>(512);
        try
        {
            _envelope.Open(blob, aad[..aadLength], value);
            using var json = new Utf8JsonWriter(body);
            json.WriteStartObject();
            json.WriteString("id"u8, secretId);
            json.WriteString("type"u8, reader.GetString(1));
            json.WriteString("name"u8, reader.GetString(0));
            json.WriteNull("delegated_to"u8);
            json.WriteBase64String("data_base64"u8, value);
            json.WriteNumber("version"u8, version);
            json.WriteString("created_at"u8, DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)));
            json.WriteString("updated_at"u8, DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)));
            json.WriteEndObject();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(value);
            ArrayPool<byte>.Shared.Return(plaintext);
        }

        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "application/json; charset=utf-8";
        http.Response.ContentLength = body.WrittenCount;
        return http.Response.Body.WriteAsync(body.WrittenMemory).AsTask();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        SqliteConnection.ClearPool(new SqliteConnection(_connectionString));
    }
}

/// <summary>
/// The durable-create baseline: raw SQLite, WAL, synchronous=FULL, one INSERT of a sealed blob of the same size
/// per transaction, writers serialized in process (as Keyroom's store does), each commit waiting for its fsync.
/// </summary>
internal sealed class BaselineWriter : IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly byte[] _blob;
    private readonly string _projectId;

    public BaselineWriter(string directory, string projectId, byte[] blob)
    {
        Directory.CreateDirectory(directory);
        _projectId = projectId;
        _blob = blob;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(directory, "baseline-writes.db"),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
        }.ToString();
    }

    /// <summary>The synchronous setting the writes ran with (2 = FULL).</summary>
    public long Synchronous { get; private set; }


    /// <summary>The database file (its WAL is this path + "-wal").</summary>
    public string DatabasePath => new SqliteConnectionStringBuilder(_connectionString).DataSource;

    /// <summary>
    /// Creates the table and brings the WAL to its steady state: one large transaction grows the -wal file past the
    /// auto-checkpoint size, so later commits overwrite WAL pages in place. A commit that grows the file must also
    /// make its new size durable, which costs several times more per fsync on ext4; a store that has been running for
    /// a while (like Keyroom's after the read benchmarks, whose audit entries are written to its WAL) is past that.
    /// </summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS secrets (project_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
                version INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, blob BLOB NOT NULL,
                PRIMARY KEY (project_id, id)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, blob BLOB NOT NULL);
            """;
        await command.ExecuteNonQueryAsync(cancellationToken);
        await using (var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken))
        {
            await using var fill = connection.CreateCommand();
            fill.Transaction = transaction;
            fill.CommandText = "INSERT INTO filler (blob) VALUES (zeroblob(4000))";
            for (var i = 0; i < 1200; i++)
            {
                await fill.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        for (var i = 0; i < 20; i++)
        {
            await CreateAsync(cancellationToken);
        }
    }

    /// <summary>One durable create: BEGIN IMMEDIATE, INSERT, COMMIT (fsync of the WAL).</summary>
    /// <remarks>
    /// Each create starts with a thread-pool dispatch, as a request handler's work does. Without it one worker would
    /// run back-to-back blocking commits on one thread, and on a busy machine the Linux scheduler makes such a thread
    /// wait a whole time slice after every fsync (its virtual runtime is high): measured here, 5-15x slower at 1 writer
    /// than the same commits dispatched like requests, which would flatter Keyroom.
    /// </remarks>
    public async ValueTask CreateAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            Insert();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void Insert()
    {
        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using (var pragma = connection.CreateCommand())
        {
            pragma.CommandText = "PRAGMA synchronous=FULL; PRAGMA synchronous;";
            Synchronous = (long)pragma.ExecuteScalar()!;
        }

        using var transaction = connection.BeginTransaction(deferred: false);
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO secrets VALUES ($p, $id, 'bench-create', 'keys', 1, $now, $now, $blob)";
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        insert.Parameters.AddWithValue("$p", _projectId);
        insert.Parameters.AddWithValue("$id", Guid.NewGuid().ToString("N"));
        insert.Parameters.AddWithValue("$now", now);
        insert.Parameters.AddWithValue("$blob", _blob);
        insert.ExecuteNonQuery();
        transaction.Commit();
    }

    public ValueTask DisposeAsync()
    {
        SqliteConnection.ClearPool(new SqliteConnection(_connectionString));
        _writeLock.Dispose();
        return ValueTask.CompletedTask;
    }
}
