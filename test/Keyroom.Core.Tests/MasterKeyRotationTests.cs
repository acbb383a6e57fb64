using System.Collections.Concurrent;
using System.Text;
using Keyroom.Core.Accounts;
using Keyroom.Core.Audit;
using Keyroom.Core.Auth;
using Keyroom.Core.Crypto;
using Keyroom.Core.Secrets;
using Keyroom.Core.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Keyroom.Core.Tests;

public sealed class MasterKeyRotationTests
{
    private const string Project = "22222222-2222-2222-2222-222222222222";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly Principal Developer = TestKeys.ApiKey(Project, ProjectRole.Developer);

    /// <summary>Everything a rotation touches, over a real SQLite file.</summary>
    private sealed class Fixture : IAsyncDisposable
    {
        private Fixture(TempStore temp, Keyring keyring, string oldKeyText)
        {
            Temp = temp;
            Keyring = keyring;
            OldKeyText = oldKeyText;
            Cipher = new EnvelopeCipher(keyring);
            Audit = temp.CreateAuditLog();
            Secrets = new SecretService(temp.Store, Cipher, Audit);
            ApiKeys = new ApiKeyService(temp.Store, Cipher, Audit, TimeProvider.System);
            Rotation = new MasterKeyRotation(temp.Store, temp.Store, Cipher, TimeProvider.System, NullLogger<MasterKeyRotation>.Instance)
            {
                SettleDelay = TimeSpan.FromMilliseconds(20),
            };
        }

        public TempStore Temp { get; }

        public Keyring Keyring { get; }

        public string OldKeyText { get; }

        public EnvelopeCipher Cipher { get; }

        public AuditLog Audit { get; }

        public SecretService Secrets { get; }

        public ApiKeyService ApiKeys { get; }

        public MasterKeyRotation Rotation { get; }

        public static async Task<Fixture> CreateAsync()
        {
            var temp = await TempStore.CreateAsync();
            var (key, text) = MasterKey.Generate();
            var fixture = new Fixture(temp, new Keyring(key), text);
            await fixture.Audit.StartAsync(new AuditChain(new byte[32]), Ct);
            await temp.Store.CreateProjectAsync(new Project(Project, "p", DateTimeOffset.UtcNow), Ct);
            return fixture;
        }

        public Task<SecretInfo> WriteAsync(string id, string value) =>
            Secrets.WriteAsync(Developer, SecretKey.Project(Project, id), id, "text/plain", Encoding.UTF8.GetBytes(value), WriteMode.Upsert, SecretLimits.ProjectDefault, Ct);

        public async ValueTask DisposeAsync()
        {
            await Audit.DisposeAsync();
            Keyring.Dispose();
            await Temp.DisposeAsync();
        }
    }

    /// <summary>Opens everything in the store with a keyring that holds only <paramref name="keyText"/>.</summary>
    private static async Task AssertReadableWithOnlyAsync(Fixture f, string keyText, IReadOnlyDictionary<string, string> expected, IEnumerable<ApiKeyString> apiKeys)
    {
        using var onlyNew = new Keyring(MasterKey.Parse(keyText));
        var cipher = new EnvelopeCipher(onlyNew);
        await using var audit = f.Temp.CreateAuditLog();
        var secrets = new SecretService(f.Temp.Store, cipher, audit);
        foreach (var (id, value) in expected)
        {
            var read = await secrets.ReadAsync(Developer, SecretKey.Project(Project, id), null, Ct);
            Assert.Equal(value, Encoding.UTF8.GetString(read.Value));
        }

        var keys = new ApiKeyService(f.Temp.Store, cipher, audit, TimeProvider.System);
        foreach (var key in apiKeys)
        {
            var principal = await keys.AuthenticateAsync(key.ToString(), Ct);
            Assert.Equal(key.KeyId, principal.KeyId);
        }
    }

    [Fact]
    public async Task Rotate_RewrapsEverything_OldKeyNoLongerNeeded()
    {
        await using var f = await Fixture.CreateAsync();
        var expected = new Dictionary<string, string>();
        for (var i = 0; i < 30; i++)
        {
            expected["s" + i] = "value-" + i;
            await f.WriteAsync("s" + i, "older-" + i);
            await f.WriteAsync("s" + i, "value-" + i);
        }

        var (_, apiKey) = await f.ApiKeys.CreateAsync(Project, "k", "d", ProjectRole.Admin, Ct);
        await f.Temp.Store.SetMetaAsync("sealed:test", f.Cipher.Seal("internal"u8, AssociatedData.ForInternal("sealed:test")), Ct);
        var oldId = f.Keyring.Active.KeyId;
        Assert.Equal([oldId], (await f.Rotation.GetStatusAsync(Ct)).KeyIdsInUse);

        var (newKey, newText) = MasterKey.Generate();
        var outcome = await f.Rotation.RotateAsync(newKey, Ct);

        Assert.True(outcome.IsComplete);
        Assert.Equal(newKey.KeyId, outcome.ActiveKeyId);
        Assert.Equal(60 + 1 + 1, outcome.Rewrapped);
        Assert.Equal([newKey.KeyId], outcome.KeyIdsInUse);
        Assert.Equal([newKey.KeyId], await f.Temp.Store.GetKeyIdsInUseAsync(Ct));
        Assert.Equal([oldId], f.Rotation.RetireUnused(outcome.KeyIdsInUse));
        Assert.False(f.Keyring.TryGet(oldId, out _));

        await AssertReadableWithOnlyAsync(f, newText, expected, [apiKey]);
        using var onlyNew = new Keyring(MasterKey.Parse(newText));
        Assert.Equal("internal"u8.ToArray(), new EnvelopeCipher(onlyNew).Open((await f.Temp.Store.GetMetaAsync("sealed:test", Ct))!, AssociatedData.ForInternal("sealed:test")));

        // Old versions were re-wrapped too.
        var v1 = await f.Secrets.ReadAsync(Developer, SecretKey.Project(Project, "s0"), 1, Ct);
        Assert.Equal("older-0", Encoding.UTF8.GetString(v1.Value));
    }

    [Fact]
    public async Task Rotate_RecordsProgressInMeta()
    {
        await using var f = await Fixture.CreateAsync();
        await f.WriteAsync("s", "v");
        await f.Rotation.RotateAsync(MasterKey.Generate().Key, Ct);
        var state = Encoding.UTF8.GetString((await f.Temp.Store.GetMetaAsync(MasterKeyRotation.StateMetaName, Ct))!);
        Assert.Contains("\"state\":\"complete\"", state, StringComparison.Ordinal);
        Assert.Contains(f.Keyring.Active.KeyId, state, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rotate_WhileWritersRun_NothingIsLeftUnderTheOldKey()
    {
        await using var f = await Fixture.CreateAsync();
        for (var i = 0; i < 200; i++)
        {
            await f.WriteAsync("seed" + i, "seed-" + i);
        }

        var latest = new ConcurrentDictionary<string, string>();
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var id = "w" + w + "-" + (n % 25);
                var value = "value-" + w + "-" + n;
                await f.WriteAsync(id, value);
                latest[id] = value;
            }
        }, Ct)).ToArray();
        var apiKeys = new ConcurrentBag<ApiKeyString>();
        var keyMaker = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                apiKeys.Add((await f.ApiKeys.CreateAsync(Project, "k", "d", ProjectRole.Developer, Ct)).Key);
            }
        }, Ct);

        await Task.Delay(50, Ct);
        var oldId = f.Keyring.Active.KeyId;
        var (newKey, newText) = MasterKey.Generate();
        var outcome = await f.Rotation.RotateAsync(newKey, Ct);
        await stop.CancelAsync();
        await Task.WhenAll([.. writers, keyMaker]);

        Assert.True(outcome.IsComplete);
        Assert.Equal([newKey.KeyId], await f.Temp.Store.GetKeyIdsInUseAsync(Ct));
        Assert.Equal([oldId], f.Rotation.RetireUnused(outcome.KeyIdsInUse));

        var expected = new Dictionary<string, string>(latest);
        for (var i = 0; i < 200; i++)
        {
            expected["seed" + i] = "seed-" + i;
        }

        await AssertReadableWithOnlyAsync(f, newText, expected, apiKeys);
    }

    [Fact]
    public async Task RewrapToActive_ConfigurationStyle_MovesEverythingToTheConfiguredKey()
    {
        await using var f = await Fixture.CreateAsync();
        await f.WriteAsync("s", "v");

        // The operator restarts with a new active key and the old one as previous.
        var (newKey, newText) = MasterKey.Generate();
        using var restarted = new Keyring(newKey, [MasterKey.Parse(f.OldKeyText)]);
        var rotation = new MasterKeyRotation(f.Temp.Store, f.Temp.Store, new EnvelopeCipher(restarted), TimeProvider.System, NullLogger<MasterKeyRotation>.Instance)
        {
            SettleDelay = TimeSpan.Zero,
        };
        var status = await rotation.GetStatusAsync(Ct);
        Assert.Equal([f.Keyring.Active.KeyId], status.KeyIdsInUse);

        var outcome = await rotation.RewrapToActiveAsync(Ct);
        Assert.True(outcome.IsComplete);
        Assert.Equal(1, outcome.Rewrapped);
        await AssertReadableWithOnlyAsync(f, newText, new Dictionary<string, string> { ["s"] = "v" }, []);

        // Nothing left to do the second time.
        Assert.Equal(0, (await rotation.RewrapToActiveAsync(Ct)).Rewrapped);
    }

    [Fact]
    public async Task Rotate_TamperedValue_FailsAndKeepsTheOldKeyInUse()
    {
        await using var f = await Fixture.CreateAsync();
        await f.WriteAsync("good", "v");
        await f.WriteAsync("bad", "v");
        await f.Temp.ExecuteAsync("UPDATE secret_versions SET blob = CAST(substr(blob, 1, 30) || x'00' || substr(blob, 32) AS BLOB) WHERE secret_row = (SELECT row_id FROM secrets WHERE id='bad')");
        var oldId = f.Keyring.Active.KeyId;

        var ex = await Assert.ThrowsAsync<KeyroomException>(() => f.Rotation.RotateAsync(MasterKey.Generate().Key, Ct));

        Assert.Equal(KeyroomError.IntegrityFailure, ex.Error);
        Assert.Contains("1 stored value(s) could not be re-wrapped", ex.Message, StringComparison.Ordinal);
        Assert.Contains(oldId, await f.Temp.Store.GetKeyIdsInUseAsync(Ct));
        Assert.True(f.Keyring.TryGet(oldId, out _)); // still readable: nothing was retired
        Assert.Equal("v", Encoding.UTF8.GetString((await f.Secrets.ReadAsync(Developer, SecretKey.Project(Project, "good"), null, Ct)).Value));
    }

    [Fact]
    public async Task RetireUnused_KeepsKeysStillInUse()
    {
        await using var f = await Fixture.CreateAsync();
        var oldId = f.Keyring.Active.KeyId;
        f.Keyring.Rotate(MasterKey.Generate().Key);
        Assert.Empty(f.Rotation.RetireUnused([oldId]));
        Assert.True(f.Keyring.TryGet(oldId, out _));
    }
}
