using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Keyroom.Core;
using Keyroom.Core.Accounts;
using Keyroom.Core.Audit;
using Keyroom.Core.Auth;
using Keyroom.Core.Crypto;
using Keyroom.Core.Secrets;
using Keyroom.Core.Storage;
using Microsoft.Data.Sqlite;

namespace Keyroom.Storage.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode with synchronous=FULL, so a write that returned is on
/// disk. Readers use pooled connections and never block on the writer; writers are serialized in process
/// (SQLite allows one writer at a time anyway) so they queue instead of failing with SQLITE_BUSY.
/// </summary>
public sealed class SqliteKeyroomStore : IKeyroomStore, IDisposable
{
    private const int RewrapBatch = 500;

    private readonly string _connectionString;

    // The hot read path skips the per-open foreign_keys pragma (only writers need it) and uses the
    // synchronous ADO calls: SQLite has no asynchronous I/O, so the async wrappers only add cost.
    private readonly string _readConnectionString;
    private const int MaxIdleReaders = 16;
    private readonly System.Collections.Concurrent.ConcurrentBag<SecretReader> _readers = new();
    private volatile bool _disposed;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    /// <summary>Creates a store over a database file (created on first use).</summary>
    public SqliteKeyroomStore(string databasePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(databasePath);
        DatabasePath = Path.GetFullPath(databasePath);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            ForeignKeys = true,
            DefaultTimeout = 30,
        }.ToString();
        _readConnectionString = new SqliteConnectionStringBuilder(_connectionString) { ForeignKeys = null }.ToString();
    }

    /// <summary>The database file.</summary>
    public string DatabasePath { get; }

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(DatabasePath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, "PRAGMA journal_mode=WAL;", cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, SqliteSchema.V1, cancellationToken, transaction);
        await ExecuteAsync(connection, $"PRAGMA user_version={SqliteSchema.Version};", cancellationToken, transaction);
        await transaction.CommitAsync(cancellationToken);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(DatabasePath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    // ---- secrets ----

    /// <inheritdoc />
    public async Task<SecretInfo> WriteAsync(SecretKey key, string name, string type, WriteMode mode, Func<int, byte[]> seal, int keepVersions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(seal);
        var now = DateTimeOffset.UtcNow;
        return await WriteTransactionAsync(async (connection, transaction) =>
        {
            long rowId;
            int version;
            long createdAt;
            await using (var find = Command(connection, transaction,
                "SELECT row_id, version, created_at FROM secrets WHERE project_id=$p AND scope=$s AND owner=$o AND delegated_to=$d AND id=$id", key))
            await using (var reader = await find.ExecuteReaderAsync(cancellationToken))
            {
                if (await reader.ReadAsync(cancellationToken))
                {
                    if (mode == WriteMode.Create)
                    {
                        throw new KeyroomException(KeyroomError.AlreadyExists, "a secret with this id already exists");
                    }

                    rowId = reader.GetInt64(0);
                    version = reader.GetInt32(1) + 1;
                    createdAt = reader.GetInt64(2);
                }
                else
                {
                    if (mode == WriteMode.Update)
                    {
                        throw KeyroomException.NotFound("secret");
                    }

                    rowId = 0;
                    version = 1;
                    createdAt = now.ToUnixTimeMilliseconds();
                }
            }

            var blob = seal(version);
            if (rowId == 0)
            {
                await using var insert = Command(connection, transaction,
                    "INSERT INTO secrets (project_id, scope, owner, delegated_to, id, name, type, version, created_at, updated_at) " +
                    "VALUES ($p, $s, $o, $d, $id, $name, $type, 1, $now, $now) RETURNING row_id", key);
                insert.Parameters.AddWithValue("$name", name);
                insert.Parameters.AddWithValue("$type", type);
                insert.Parameters.AddWithValue("$now", createdAt);
                rowId = (long)(await insert.ExecuteScalarAsync(cancellationToken))!;
            }
            else
            {
                await using var update = Command(connection, transaction,
                    "UPDATE secrets SET name=$name, type=$type, version=$v, updated_at=$now WHERE row_id=$row");
                update.Parameters.AddWithValue("$name", name);
                update.Parameters.AddWithValue("$type", type);
                update.Parameters.AddWithValue("$v", version);
                update.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
                update.Parameters.AddWithValue("$row", rowId);
                await update.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var insertVersion = Command(connection, transaction,
                "INSERT INTO secret_versions (secret_row, version, blob, created_at) VALUES ($row, $v, $blob, $now)"))
            {
                insertVersion.Parameters.AddWithValue("$row", rowId);
                insertVersion.Parameters.AddWithValue("$v", version);
                insertVersion.Parameters.AddWithValue("$blob", blob);
                insertVersion.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
                await insertVersion.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var prune = Command(connection, transaction, "DELETE FROM secret_versions WHERE secret_row=$row AND version <= $cut"))
            {
                prune.Parameters.AddWithValue("$row", rowId);
                prune.Parameters.AddWithValue("$cut", version - Math.Max(1, keepVersions));
                await prune.ExecuteNonQueryAsync(cancellationToken);
            }

            return new SecretInfo(key, name, type, version, DateTimeOffset.FromUnixTimeMilliseconds(createdAt), now);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<SealedSecret?> ReadAsync(SecretKey key, int? version, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var reader = RentReader();
        var reusable = false;
        try
        {
            var command = version is null ? reader.Current : reader.ByVersion;
            SecretReader.Bind(command, key, version);
            SealedSecret? result = null;
            using (var row = command.ExecuteReader())
            {
                if (row.Read())
                {
                    var info = new SecretInfo(key, row.GetString(0), row.GetString(1), row.GetInt32(2),
                        DateTimeOffset.FromUnixTimeMilliseconds(row.GetInt64(3)), DateTimeOffset.FromUnixTimeMilliseconds(row.GetInt64(4)));
                    result = new SealedSecret(info, row.GetInt32(5), (byte[])row.GetValue(6));
                }
            }

            reusable = true;
            return Task.FromResult(result);
        }
        finally
        {
            // A reader whose statement failed is not reused: its connection state is unknown.
            if (reusable)
            {
                ReturnReader(reader);
            }
            else
            {
                reader.Dispose();
            }
        }
    }

    private SecretReader RentReader() => _readers.TryTake(out var reader) ? reader : new SecretReader(_readConnectionString);

    private void ReturnReader(SecretReader reader)
    {
        if (_disposed || _readers.Count >= MaxIdleReaders)
        {
            reader.Dispose();
            return;
        }

        _readers.Add(reader);
    }

    /// <summary>
    /// A reader connection with the point-read statements prepared once. Parsing and planning the join on
    /// every call cost about as much as the read itself; a prepared statement skips both.
    /// </summary>
    private sealed class SecretReader : IDisposable
    {
        private const string Select =
            "SELECT s.name, s.type, s.version, s.created_at, s.updated_at, v.version, v.blob FROM secrets s JOIN secret_versions v ON v.secret_row = s.row_id AND v.version = ";
        private const string Where = " WHERE s.project_id=$p AND s.scope=$s AND s.owner=$o AND s.delegated_to=$d AND s.id=$id";

        private readonly SqliteConnection _connection;

        public SecretReader(string connectionString)
        {
            _connection = new SqliteConnection(connectionString);
            _connection.Open();
            Current = Create(Select + "s.version" + Where, withVersion: false);
            ByVersion = Create(Select + "$v" + Where, withVersion: true);
        }

        public SqliteCommand Current { get; }

        public SqliteCommand ByVersion { get; }

        public static void Bind(SqliteCommand command, in SecretKey key, int? version)
        {
            command.Parameters[0].Value = key.ProjectId;
            command.Parameters[1].Value = key.Scope;
            command.Parameters[2].Value = key.Owner;
            command.Parameters[3].Value = key.DelegatedTo;
            command.Parameters[4].Value = key.Id;
            if (version is { } v)
            {
                command.Parameters[5].Value = v;
            }
        }

        private SqliteCommand Create(string sql, bool withVersion)
        {
            var command = _connection.CreateCommand();
            command.CommandText = sql;
            foreach (var name in new[] { "$p", "$s", "$o", "$d", "$id" })
            {
                command.Parameters.Add(name, SqliteType.Text).Value = string.Empty;
            }

            if (withVersion)
            {
                command.Parameters.Add("$v", SqliteType.Integer).Value = 0;
            }

            command.Prepare();
            return command;
        }

        public void Dispose()
        {
            Current.Dispose();
            ByVersion.Dispose();
            _connection.Dispose();
        }
    }

    /// <inheritdoc />
    public async Task<SecretInfo?> FindAsync(SecretQuery query, string? type, string? name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var list = await ListCoreAsync(query, type, name, limit: 1, cancellationToken);
        return list.Count > 0 ? list[0] : null;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<SecretInfo>> ListAsync(SecretQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        return ListCoreAsync(query, null, null, limit: -1, cancellationToken);
    }

    private async Task<IReadOnlyList<SecretInfo>> ListCoreAsync(SecretQuery query, string? type, string? name, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT owner, delegated_to, id, name, type, version, created_at, updated_at FROM secrets " +
            "WHERE project_id=$p AND scope=$s AND ($o IS NULL OR owner=$o) AND ($d IS NULL OR delegated_to=$d) " +
            "AND ($type IS NULL OR type=$type) AND ($name IS NULL OR name=$name) ORDER BY id, owner, delegated_to LIMIT $limit";
        command.Parameters.AddWithValue("$p", query.ProjectId);
        command.Parameters.AddWithValue("$s", query.Scope);
        command.Parameters.AddWithValue("$o", (object?)query.Owner ?? DBNull.Value);
        command.Parameters.AddWithValue("$d", (object?)query.DelegatedTo ?? DBNull.Value);
        command.Parameters.AddWithValue("$type", (object?)type ?? DBNull.Value);
        command.Parameters.AddWithValue("$name", (object?)name ?? DBNull.Value);
        command.Parameters.AddWithValue("$limit", limit);
        var result = new List<SecretInfo>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var key = new SecretKey(query.ProjectId, query.Scope, reader.GetString(0), reader.GetString(1), reader.GetString(2));
            result.Add(new SecretInfo(key, reader.GetString(3), reader.GetString(4), reader.GetInt32(5),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7))));
        }

        return result;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SecretVersionInfo>> ListVersionsAsync(SecretKey key, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "SELECT v.version, v.created_at FROM secrets s JOIN secret_versions v ON v.secret_row = s.row_id " +
            "WHERE s.project_id=$p AND s.scope=$s AND s.owner=$o AND s.delegated_to=$d AND s.id=$id ORDER BY v.version DESC", key);
        var result = new List<SecretVersionInfo>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(new SecretVersionInfo(reader.GetInt32(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1))));
        }

        return result;
    }

    /// <inheritdoc />
    public Task<bool> DeleteAsync(SecretKey key, CancellationToken cancellationToken) =>
        WriteTransactionAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction,
                "DELETE FROM secrets WHERE project_id=$p AND scope=$s AND owner=$o AND delegated_to=$d AND id=$id", key);
            return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<int> DeleteScopeAsync(string projectId, string scope, CancellationToken cancellationToken) =>
        WriteTransactionAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, "DELETE FROM secrets WHERE project_id=$p AND scope=$s");
            command.Parameters.AddWithValue("$p", projectId);
            command.Parameters.AddWithValue("$s", scope);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    // ---- accounts ----

    /// <inheritdoc />
    public Task CreateProjectAsync(Project project, CancellationToken cancellationToken) =>
        WriteTransactionAsync(async (connection, transaction) =>
        {
            ArgumentNullException.ThrowIfNull(project);
            await using var command = Command(connection, transaction, "INSERT INTO projects (id, name, created_at) VALUES ($id, $name, $at)");
            command.Parameters.AddWithValue("$id", project.Id);
            command.Parameters.AddWithValue("$name", project.Name);
            command.Parameters.AddWithValue("$at", project.CreatedAt.ToUnixTimeMilliseconds());
            await command.ExecuteNonQueryAsync(cancellationToken);
            return true;
        }, cancellationToken);

    /// <inheritdoc />
    public async Task<Project?> GetProjectAsync(string projectId, CancellationToken cancellationToken)
    {
        var list = await ReadListAsync("SELECT id, name, created_at FROM projects WHERE id=$id", c => c.Parameters.AddWithValue("$id", projectId), ReadProject, cancellationToken);
        return list.Count > 0 ? list[0] : null;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<Project>> ListProjectsAsync(CancellationToken cancellationToken) =>
        ReadListAsync("SELECT id, name, created_at FROM projects ORDER BY created_at", _ => { }, ReadProject, cancellationToken);

    /// <inheritdoc />
    public Task CreateApiKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken) =>
        WriteTransactionAsync(async (connection, transaction) =>
        {
            ArgumentNullException.ThrowIfNull(key);
            await using var command = Command(connection, transaction,
                "INSERT INTO api_keys (id, project_id, name, description, role, sealed_secret, created_at) VALUES ($id, $p, $name, $desc, $role, $secret, $at)");
            command.Parameters.AddWithValue("$id", key.Id.ToString("D"));
            command.Parameters.AddWithValue("$p", key.ProjectId);
            command.Parameters.AddWithValue("$name", key.Name);
            command.Parameters.AddWithValue("$desc", key.Description);
            command.Parameters.AddWithValue("$role", key.Role.ToWire());
            command.Parameters.AddWithValue("$secret", key.SealedSecret);
            command.Parameters.AddWithValue("$at", key.CreatedAt.ToUnixTimeMilliseconds());
            await command.ExecuteNonQueryAsync(cancellationToken);
            return true;
        }, cancellationToken);

    /// <inheritdoc />
    public async Task<ApiKeyRecord?> GetApiKeyAsync(Guid keyId, CancellationToken cancellationToken)
    {
        var list = await ReadListAsync(ApiKeyColumns + " WHERE id=$id", c => c.Parameters.AddWithValue("$id", keyId.ToString("D")), ReadApiKey, cancellationToken);
        return list.Count > 0 ? list[0] : null;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(string projectId, CancellationToken cancellationToken) =>
        ReadListAsync(ApiKeyColumns + " WHERE project_id=$p ORDER BY created_at, id", c => c.Parameters.AddWithValue("$p", projectId), ReadApiKey, cancellationToken);

    /// <inheritdoc />
    public Task<bool> DeleteApiKeyAsync(string projectId, Guid keyId, CancellationToken cancellationToken) =>
        WriteTransactionAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, "DELETE FROM api_keys WHERE id=$id AND project_id=$p");
            command.Parameters.AddWithValue("$id", keyId.ToString("D"));
            command.Parameters.AddWithValue("$p", projectId);
            return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);

    /// <inheritdoc />
    public Task CreateRoomAsync(Room room, CancellationToken cancellationToken) =>
        WriteTransactionAsync(async (connection, transaction) =>
        {
            ArgumentNullException.ThrowIfNull(room);
            await using var command = Command(connection, transaction,
                "INSERT INTO rooms (id, project_id, name, metadata, annotations, permissions, created_at) VALUES ($id, $p, $name, $meta, $ann, $perm, $at)");
            BindRoom(command, room);
            command.Parameters.AddWithValue("$at", room.CreatedAt.ToUnixTimeMilliseconds());
            try
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode == 19)
            {
                throw new KeyroomException(KeyroomError.AlreadyExists, "a room with this name already exists", ex);
            }

            return true;
        }, cancellationToken);

    /// <inheritdoc />
    public async Task<Room?> GetRoomByNameAsync(string projectId, string name, CancellationToken cancellationToken)
    {
        var list = await ReadListAsync(RoomColumns + " WHERE project_id=$p AND name=$name", c =>
        {
            c.Parameters.AddWithValue("$p", projectId);
            c.Parameters.AddWithValue("$name", name);
        }, ReadRoom, cancellationToken);
        return list.Count > 0 ? list[0] : null;
    }

    /// <inheritdoc />
    public async Task<Room?> GetRoomByIdAsync(string projectId, string roomId, CancellationToken cancellationToken)
    {
        var list = await ReadListAsync(RoomColumns + " WHERE project_id=$p AND id=$id", c =>
        {
            c.Parameters.AddWithValue("$p", projectId);
            c.Parameters.AddWithValue("$id", roomId);
        }, ReadRoom, cancellationToken);
        return list.Count > 0 ? list[0] : null;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<Room>> ListRoomsAsync(string projectId, int limit, int offset, CancellationToken cancellationToken) =>
        ReadListAsync(RoomColumns + " WHERE project_id=$p ORDER BY name LIMIT $limit OFFSET $offset", c =>
        {
            c.Parameters.AddWithValue("$p", projectId);
            c.Parameters.AddWithValue("$limit", limit);
            c.Parameters.AddWithValue("$offset", offset);
        }, ReadRoom, cancellationToken);

    /// <inheritdoc />
    public Task<bool> UpdateRoomAsync(Room room, CancellationToken cancellationToken) =>
        WriteTransactionAsync(async (connection, transaction) =>
        {
            ArgumentNullException.ThrowIfNull(room);
            await using var command = Command(connection, transaction,
                "UPDATE rooms SET name=$name, metadata=$meta, annotations=$ann, permissions=$perm WHERE id=$id AND project_id=$p");
            BindRoom(command, room);
            try
            {
                return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode == 19)
            {
                throw new KeyroomException(KeyroomError.AlreadyExists, "a room with this name already exists", ex);
            }
        }, cancellationToken);

    /// <inheritdoc />
    public Task<bool> DeleteRoomAsync(string projectId, string roomId, CancellationToken cancellationToken) =>
        WriteTransactionAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, "DELETE FROM rooms WHERE id=$id AND project_id=$p");
            command.Parameters.AddWithValue("$id", roomId);
            command.Parameters.AddWithValue("$p", projectId);
            return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);

    // ---- audit ----

    /// <inheritdoc />
    public async Task<AuditRecord?> GetLastAuditRecordAsync(CancellationToken cancellationToken)
    {
        var list = await ReadListAsync(AuditColumns + " ORDER BY seq DESC LIMIT 1", _ => { }, ReadAudit, cancellationToken);
        return list.Count > 0 ? list[0] : null;
    }

    /// <inheritdoc />
    public Task AppendAuditAsync(IReadOnlyList<AuditRecord> records, byte[] head, CancellationToken cancellationToken) =>
        WriteTransactionAsync(async (connection, transaction) =>
        {
            ArgumentNullException.ThrowIfNull(records);
            ArgumentNullException.ThrowIfNull(head);
            await using (var setHead = Command(connection, transaction, "INSERT INTO meta (name, value) VALUES ($name, $value) ON CONFLICT(name) DO UPDATE SET value=excluded.value"))
            {
                setHead.Parameters.AddWithValue("$name", AuditHeadName);
                setHead.Parameters.AddWithValue("$value", head);
                await setHead.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var command = Command(connection, transaction,
                "INSERT INTO audit (seq, at, project_id, actor, action, target, outcome, prev_mac, mac) VALUES ($seq, $at, $p, $actor, $action, $target, $outcome, $prev, $mac)");
            var seq = command.Parameters.Add("$seq", SqliteType.Integer);
            var at = command.Parameters.Add("$at", SqliteType.Integer);
            var project = command.Parameters.Add("$p", SqliteType.Text);
            var actor = command.Parameters.Add("$actor", SqliteType.Text);
            var action = command.Parameters.Add("$action", SqliteType.Text);
            var target = command.Parameters.Add("$target", SqliteType.Text);
            var outcome = command.Parameters.Add("$outcome", SqliteType.Text);
            var prev = command.Parameters.Add("$prev", SqliteType.Blob);
            var mac = command.Parameters.Add("$mac", SqliteType.Blob);
            // Synchronous inside the writer's transaction: SQLite has no asynchronous I/O, and the async wrapper's
            // per-row state machine costs more than the insert itself.
            foreach (var record in records)
            {
                seq.Value = record.Sequence;
                at.Value = record.At.ToUnixTimeMilliseconds();
                project.Value = record.Event.ProjectId;
                actor.Value = record.Event.Actor;
                action.Value = record.Event.Action;
                target.Value = record.Event.Target;
                outcome.Value = record.Event.Outcome;
                prev.Value = record.PreviousMac;
                mac.Value = record.Mac;
                command.ExecuteNonQuery();
            }

            return true;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<byte[]?> GetAuditHeadAsync(CancellationToken cancellationToken) => GetMetaAsync(AuditHeadName, cancellationToken);

    /// <inheritdoc />
    public async IAsyncEnumerable<AuditRecord> ReadAuditAsync(long afterSequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = AuditColumns + " WHERE seq > $after ORDER BY seq";
        command.Parameters.AddWithValue("$after", afterSequence);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return ReadAudit(reader);
        }
    }

    // ---- meta ----

    /// <inheritdoc />
    public async Task<byte[]?> GetMetaAsync(string name, CancellationToken cancellationToken)
    {
        var list = await ReadListAsync("SELECT value FROM meta WHERE name=$name", c => c.Parameters.AddWithValue("$name", name), r => (byte[])r.GetValue(0), cancellationToken);
        return list.Count > 0 ? list[0] : null;
    }

    /// <inheritdoc />
    public Task SetMetaAsync(string name, byte[] value, CancellationToken cancellationToken) =>
        WriteTransactionAsync(async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, "INSERT INTO meta (name, value) VALUES ($name, $value) ON CONFLICT(name) DO UPDATE SET value=excluded.value");
            command.Parameters.AddWithValue("$name", name);
            command.Parameters.AddWithValue("$value", value);
            await command.ExecuteNonQueryAsync(cancellationToken);
            return true;
        }, cancellationToken);

    // ---- rotation ----

    /// <inheritdoc />
    public async Task<IReadOnlyCollection<string>> GetKeyIdsInUseAsync(CancellationToken cancellationToken)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var sql in new[] { "SELECT blob FROM secret_versions", "SELECT sealed_secret FROM api_keys", "SELECT value FROM meta WHERE name LIKE 'sealed:%'" })
        {
            foreach (var blob in await ReadListAsync(sql, _ => { }, r => (byte[])r.GetValue(0), cancellationToken))
            {
                ids.Add(EnvelopeCipher.ReadKeyId(blob));
            }
        }

        return ids;
    }

    /// <inheritdoc />
    public async Task<int> RewrapAllAsync(Func<EncryptedItem, byte[]?> rewrap, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rewrap);
        var total = 0;

        // Secret versions, in batches by rowid so each transaction is short.
        long lastRow = -1;
        var lastVersion = -1;
        while (true)
        {
            var batch = await ReadListAsync(
                "SELECT s.row_id, v.version, s.project_id, s.scope, s.owner, s.delegated_to, s.id, v.blob FROM secret_versions v " +
                "JOIN secrets s ON s.row_id = v.secret_row WHERE (v.secret_row, v.version) > ($row, $v) ORDER BY v.secret_row, v.version LIMIT $n",
                c =>
                {
                    c.Parameters.AddWithValue("$row", lastRow);
                    c.Parameters.AddWithValue("$v", lastVersion);
                    c.Parameters.AddWithValue("$n", RewrapBatch);
                },
                r => (Row: r.GetInt64(0), Version: r.GetInt32(1), Key: new SecretKey(r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6)), Blob: (byte[])r.GetValue(7)),
                cancellationToken);
            if (batch.Count == 0)
            {
                break;
            }

            total += await WriteTransactionAsync(async (connection, transaction) =>
            {
                var count = 0;
                foreach (var item in batch)
                {
                    if (rewrap(new EncryptedItem(item.Blob, AssociatedData.ForSecret(item.Key, item.Version))) is { } updated)
                    {
                        await using var command = Command(connection, transaction, "UPDATE secret_versions SET blob=$blob WHERE secret_row=$row AND version=$v AND blob=$old");
                        command.Parameters.AddWithValue("$blob", updated);
                        command.Parameters.AddWithValue("$row", item.Row);
                        command.Parameters.AddWithValue("$v", item.Version);
                        command.Parameters.AddWithValue("$old", item.Blob);
                        count += await command.ExecuteNonQueryAsync(cancellationToken);
                    }
                }

                return count;
            }, cancellationToken);
            (lastRow, lastVersion) = (batch[^1].Row, batch[^1].Version);
        }

        var keys = await ReadListAsync("SELECT id, sealed_secret FROM api_keys", _ => { }, r => (Id: Guid.Parse(r.GetString(0)), Blob: (byte[])r.GetValue(1)), cancellationToken);
        var metas = await ReadListAsync("SELECT name, value FROM meta WHERE name LIKE 'sealed:%'", _ => { }, r => (Name: r.GetString(0), Blob: (byte[])r.GetValue(1)), cancellationToken);
        total += await WriteTransactionAsync(async (connection, transaction) =>
        {
            var count = 0;
            foreach (var key in keys)
            {
                if (rewrap(new EncryptedItem(key.Blob, AssociatedData.ForApiKey(key.Id))) is { } updated)
                {
                    await using var command = Command(connection, transaction, "UPDATE api_keys SET sealed_secret=$blob WHERE id=$id");
                    command.Parameters.AddWithValue("$blob", updated);
                    command.Parameters.AddWithValue("$id", key.Id.ToString("D"));
                    count += await command.ExecuteNonQueryAsync(cancellationToken);
                }
            }

            foreach (var meta in metas)
            {
                if (rewrap(new EncryptedItem(meta.Blob, AssociatedData.ForInternal(meta.Name))) is { } updated)
                {
                    await using var command = Command(connection, transaction, "UPDATE meta SET value=$blob WHERE name=$name");
                    command.Parameters.AddWithValue("$blob", updated);
                    command.Parameters.AddWithValue("$name", meta.Name);
                    count += await command.ExecuteNonQueryAsync(cancellationToken);
                }
            }

            return count;
        }, cancellationToken);
        return total;
    }

    // ---- plumbing ----

    private const string ApiKeyColumns = "SELECT id, project_id, name, description, role, sealed_secret, created_at FROM api_keys";
    private const string RoomColumns = "SELECT id, project_id, name, metadata, annotations, permissions, created_at FROM rooms";
    private const string AuditHeadName = "audit-head";
    private const string AuditColumns = "SELECT seq, at, project_id, actor, action, target, outcome, prev_mac, mac FROM audit";

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    private async Task<T> WriteTransactionAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);

            // Durability is a promise, not a build default: a write that returned must be on disk (fsync per commit).
            await ExecuteAsync(connection, "PRAGMA synchronous=FULL;", cancellationToken);
            await using var transaction = connection.BeginTransaction(deferred: false);
            var result = await work(connection, transaction);
            await transaction.CommitAsync(cancellationToken);
            return result;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task<IReadOnlyList<T>> ReadListAsync<T>(string sql, Action<SqliteCommand> bind, Func<SqliteDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        bind(command);
        var result = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(read(reader));
        }

        return result;
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, in SecretKey key)
    {
        var command = Command(connection, transaction, sql);
        command.Parameters.AddWithValue("$p", key.ProjectId);
        command.Parameters.AddWithValue("$s", key.Scope);
        command.Parameters.AddWithValue("$o", key.Owner);
        command.Parameters.AddWithValue("$d", key.DelegatedTo);
        command.Parameters.AddWithValue("$id", key.Id);
        return command;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken, SqliteTransaction? transaction = null)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void BindRoom(SqliteCommand command, Room room)
    {
        command.Parameters.AddWithValue("$id", room.Id);
        command.Parameters.AddWithValue("$p", room.ProjectId);
        command.Parameters.AddWithValue("$name", room.Name);
        command.Parameters.AddWithValue("$meta", room.Metadata.ToJsonString());
        command.Parameters.AddWithValue("$ann", room.Annotations.ToJsonString());
        command.Parameters.AddWithValue("$perm", (object?)room.Permissions?.ToJsonString() ?? DBNull.Value);
    }

    private static Project ReadProject(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2)));

    private static ApiKeyRecord ReadApiKey(SqliteDataReader r)
    {
        if (!ProjectRoles.TryParse(r.GetString(4), out var role))
        {
            throw new KeyroomException(KeyroomError.IntegrityFailure, "an API key row has an unknown role");
        }

        return new ApiKeyRecord(Guid.Parse(r.GetString(0)), r.GetString(1), r.GetString(2), r.GetString(3), role, (byte[])r.GetValue(5),
            DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(6)));
    }

    private static Room ReadRoom(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2),
            JsonNode.Parse(r.GetString(3)) as JsonObject ?? [],
            JsonNode.Parse(r.GetString(4)) as JsonObject ?? [],
            r.IsDBNull(5) ? null : JsonNode.Parse(r.GetString(5)) as JsonObject,
            DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(6)));

    private static AuditRecord ReadAudit(SqliteDataReader r) =>
        new(r.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)),
            new AuditEvent(r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6)),
            (byte[])r.GetValue(7), (byte[])r.GetValue(8));

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        while (_readers.TryTake(out var reader))
        {
            reader.Dispose();
        }

        _writeLock.Dispose();
        SqliteConnection.ClearPool(new SqliteConnection(_connectionString));
    }
}
