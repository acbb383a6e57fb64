using Keyroom.Core.Audit;
using Keyroom.Core.Auth;
using Keyroom.Core.Crypto;
using Keyroom.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Keyroom.Core.Tests.Support;

/// <summary>A real SQLite store in a fresh temp directory, deleted on dispose.</summary>
public sealed class TempStore : IAsyncDisposable
{
    private TempStore(string directory)
    {
        Directory = directory;
        Store = new SqliteKeyroomStore(Path.Combine(directory, "keyroom.db"));
    }

    public string Directory { get; }

    public SqliteKeyroomStore Store { get; }

    public static async Task<TempStore> CreateAsync()
    {
        var directory = Path.Combine(Path.GetTempPath(), "keyroom-core-test-" + Guid.NewGuid().ToString("N"));
        var store = new TempStore(directory);
        await store.Store.InitializeAsync(TestContext.Current.CancellationToken);
        return store;
    }

    /// <summary>Runs raw SQL against the file (to simulate someone editing the database).</summary>
    public async Task<int> ExecuteAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Store.DatabasePath, Pooling = false }.ToString());
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>Reads one scalar.</summary>
    public async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Store.DatabasePath, Pooling = false }.ToString());
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(TestContext.Current.CancellationToken);
    }

    public AuditLog CreateAuditLog() => new(Store, TimeProvider.System, NullLogger<AuditLog>.Instance);

    public async ValueTask DisposeAsync()
    {
        Store.Dispose();
        await Task.Yield();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Small helpers shared by the tests.</summary>
public static class TestKeys
{
    public static Keyring NewKeyring() => new(MasterKey.Generate().Key);

    public static Principal ApiKey(string projectId, ProjectRole role, string identity = "tester") =>
        new(projectId, identity, role, CredentialKind.ApiKey, Guid.NewGuid(), null);

    public static Principal Token(string projectId, ProjectRole role, ParticipantToken token) =>
        new(projectId, token.Name, role, CredentialKind.ParticipantToken, Guid.NewGuid(), token);
}
