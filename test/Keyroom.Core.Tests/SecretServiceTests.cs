using System.Text;
using Keyroom.Core.Auth;
using Keyroom.Core.Crypto;
using Keyroom.Core.Secrets;
using Keyroom.Core.Tests.Support;

namespace Keyroom.Core.Tests;

public sealed class SecretServiceTests
{
    private const string Project = "11111111-1111-1111-1111-111111111111";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly Principal Developer = TestKeys.ApiKey(Project, ProjectRole.Developer);

    private static async Task<(TempStore Temp, SecretService Service, Audit.AuditLog Audit, Keyring Keyring)> CreateAsync()
    {
        var temp = await TempStore.CreateAsync();
        var keyring = TestKeys.NewKeyring();
        var audit = temp.CreateAuditLog();
        await audit.StartAsync(new Audit.AuditChain(new byte[32]), Ct);
        return (temp, new SecretService(temp.Store, new EnvelopeCipher(keyring), audit), audit, keyring);
    }

    private static Task<SecretInfo> WriteAsync(SecretService service, string id, string value, WriteMode mode = WriteMode.Upsert, int keep = 10) =>
        service.WriteAsync(Developer, SecretKey.Project(Project, id), id, "text/plain", Encoding.UTF8.GetBytes(value), mode, new SecretLimits(1024, keep), Ct);

    private static async Task<string> ReadAsync(SecretService service, string id, int? version = null) =>
        Encoding.UTF8.GetString((await service.ReadAsync(Developer, SecretKey.Project(Project, id), version, Ct)).Value);

    [Fact]
    public async Task Write_VersionsIncrement_AndEachVersionReads()
    {
        var (temp, service, audit, keyring) = await CreateAsync();
        await using (temp)
        await using (audit)
        using (keyring)
        {
            Assert.Equal(1, (await WriteAsync(service, "s", "one", WriteMode.Create)).Version);
            Assert.Equal(2, (await WriteAsync(service, "s", "two", WriteMode.Update)).Version);
            Assert.Equal(3, (await WriteAsync(service, "s", "three")).Version);

            Assert.Equal("three", await ReadAsync(service, "s"));
            Assert.Equal("one", await ReadAsync(service, "s", 1));
            Assert.Equal("two", await ReadAsync(service, "s", 2));
            var versions = await service.ListVersionsAsync(Developer, SecretKey.Project(Project, "s"), Ct);
            Assert.Equal([3, 2, 1], versions.Select(v => v.Version));
        }
    }

    [Fact]
    public async Task Write_CreateTwice_AlreadyExists_UpdateMissing_NotFound()
    {
        var (temp, service, audit, keyring) = await CreateAsync();
        await using (temp)
        await using (audit)
        using (keyring)
        {
            await WriteAsync(service, "s", "one", WriteMode.Create);
            Assert.Equal(KeyroomError.AlreadyExists, (await Assert.ThrowsAsync<KeyroomException>(() => WriteAsync(service, "s", "x", WriteMode.Create))).Error);
            Assert.Equal(KeyroomError.NotFound, (await Assert.ThrowsAsync<KeyroomException>(() => WriteAsync(service, "missing", "x", WriteMode.Update))).Error);
            Assert.Equal(KeyroomError.NotFound, (await Assert.ThrowsAsync<KeyroomException>(() => ReadAsync(service, "missing"))).Error);
        }
    }

    [Fact]
    public async Task Write_KeepN_PrunesOldVersions()
    {
        var (temp, service, audit, keyring) = await CreateAsync();
        await using (temp)
        await using (audit)
        using (keyring)
        {
            for (var i = 1; i <= 6; i++)
            {
                await WriteAsync(service, "s", "v" + i, keep: 3);
            }

            var versions = await service.ListVersionsAsync(Developer, SecretKey.Project(Project, "s"), Ct);
            Assert.Equal([6, 5, 4], versions.Select(v => v.Version));
            Assert.Equal("v4", await ReadAsync(service, "s", 4));
            var ex = await Assert.ThrowsAsync<KeyroomException>(() => ReadAsync(service, "s", 3));
            Assert.Equal(KeyroomError.NotFound, ex.Error);
            Assert.Equal(3L, await temp.ScalarAsync("SELECT COUNT(*) FROM secret_versions"));
        }
    }

    [Fact]
    public async Task Write_TooLarge_IsRefused()
    {
        var (temp, service, audit, keyring) = await CreateAsync();
        await using (temp)
        await using (audit)
        using (keyring)
        {
            var ex = await Assert.ThrowsAsync<KeyroomException>(() => WriteAsync(service, "s", new string('x', 1025)));
            Assert.Equal(KeyroomError.TooLarge, ex.Error);
        }
    }

    [Fact]
    public async Task Read_BlobsOfTwoSecretsSwappedInSqlite_FailsLoudly()
    {
        var (temp, service, audit, keyring) = await CreateAsync();
        await using (temp)
        await using (audit)
        using (keyring)
        {
            await WriteAsync(service, "a", "value-a");
            await WriteAsync(service, "b", "value-b");

            var blobA = (byte[])(await temp.ScalarAsync("SELECT v.blob FROM secret_versions v JOIN secrets s ON s.row_id=v.secret_row WHERE s.id='a'"))!;
            var blobB = (byte[])(await temp.ScalarAsync("SELECT v.blob FROM secret_versions v JOIN secrets s ON s.row_id=v.secret_row WHERE s.id='b'"))!;
            const string swap = "UPDATE secret_versions SET blob=$blob WHERE secret_row=(SELECT row_id FROM secrets WHERE id=$id)";
            await temp.ExecuteAsync(swap, ("$blob", blobB), ("$id", "a"));
            await temp.ExecuteAsync(swap, ("$blob", blobA), ("$id", "b"));

            foreach (var id in new[] { "a", "b" })
            {
                var ex = await Assert.ThrowsAsync<KeyroomException>(() => ReadAsync(service, id));
                Assert.Equal(KeyroomError.IntegrityFailure, ex.Error);
                Assert.DoesNotContain("value-", ex.Message, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task Read_VersionsOfOneSecretSwappedInSqlite_FailsLoudly()
    {
        var (temp, service, audit, keyring) = await CreateAsync();
        await using (temp)
        await using (audit)
        using (keyring)
        {
            await WriteAsync(service, "s", "old");
            await WriteAsync(service, "s", "new");

            // Roll back: put version 1's blob where version 2 is.
            await temp.ExecuteAsync("UPDATE secret_versions SET blob = (SELECT blob FROM secret_versions WHERE version=1) WHERE version=2");
            Assert.Equal(KeyroomError.IntegrityFailure, (await Assert.ThrowsAsync<KeyroomException>(() => ReadAsync(service, "s"))).Error);
        }
    }

    [Fact]
    public async Task Read_OneByteOfTheStoredBlobChanged_FailsLoudly()
    {
        var (temp, service, audit, keyring) = await CreateAsync();
        await using (temp)
        await using (audit)
        using (keyring)
        {
            await WriteAsync(service, "s", "value");
            await temp.ExecuteAsync("UPDATE secret_versions SET blob = CAST(substr(blob, 1, length(blob) - 1) || x'00' AS BLOB)");
            Assert.Equal(KeyroomError.IntegrityFailure, (await Assert.ThrowsAsync<KeyroomException>(() => ReadAsync(service, "s"))).Error);
        }
    }

    [Fact]
    public async Task Operations_AreAudited_WithoutValues()
    {
        var (temp, service, audit, keyring) = await CreateAsync();
        await using (temp)
        await using (audit)
        using (keyring)
        {
            await WriteAsync(service, "s", "CANARY-value");
            await ReadAsync(service, "s");
            await service.DeleteAsync(Developer, SecretKey.Project(Project, "s"), Ct);
            await audit.FlushAsync();
            var actions = new List<string>();
            await foreach (var record in temp.Store.ReadAuditAsync(0, Ct))
            {
                actions.Add(record.Event.Action + " " + record.Event.Target + " " + record.Event.Outcome);
                Assert.DoesNotContain("CANARY", record.Event.ToString(), StringComparison.Ordinal);
            }

            Assert.Equal(["secret.write project/secret/s ok", "secret.read project/secret/s ok", "secret.delete project/secret/s ok"], actions);
        }
    }
}
