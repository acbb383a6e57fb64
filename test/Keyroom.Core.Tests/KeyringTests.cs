using Keyroom.Core.Crypto;
using Keyroom.Core.Secrets;
using Keyroom.Core.Tests.Support;

namespace Keyroom.Core.Tests;

public sealed class KeyringTests
{
    [Fact]
    public void Constructor_FirstKeyActive_PreviousReadable()
    {
        var (a, _) = MasterKey.Generate();
        var (b, _) = MasterKey.Generate();
        using var keyring = new Keyring(a, [b]);
        Assert.Same(a, keyring.Active);
        Assert.True(keyring.TryGet(b.KeyId, out var found));
        Assert.Same(b, found);
        Assert.Equal([b.KeyId], keyring.PreviousKeyIds);
        Assert.Equal(2, keyring.KeyIds.Count);
    }

    [Fact]
    public void MasterKey_SameMaterial_SameKeyId()
    {
        var (a, text) = MasterKey.Generate();
        using (a)
        using (var again = MasterKey.Parse(text))
        {
            Assert.Equal(a.KeyId, again.KeyId);
            Assert.Equal(16, a.KeyId.Length);
        }
    }

    [Fact]
    public void Rotate_NewKeySeals_OldKeyStillOpens()
    {
        var (a, _) = MasterKey.Generate();
        var (b, _) = MasterKey.Generate();
        using var keyring = new Keyring(a);
        var cipher = new EnvelopeCipher(keyring);
        var aad = AssociatedData.ForInternal("x");
        var before = cipher.Seal("1"u8, aad);

        var previous = keyring.Rotate(b);

        Assert.Same(a, previous);
        Assert.Same(b, keyring.Active);
        Assert.Equal(b.KeyId, EnvelopeCipher.ReadKeyId(cipher.Seal("2"u8, aad)));
        Assert.Equal("1"u8.ToArray(), cipher.Open(before, aad));
        Assert.Equal([a.KeyId], keyring.PreviousKeyIds);
    }

    [Fact]
    public void Rotate_ToAKeyAlreadyHeld_MakesItActive()
    {
        var (a, textA) = MasterKey.Generate();
        var (b, _) = MasterKey.Generate();
        using var keyring = new Keyring(b, [a]);
        keyring.Rotate(MasterKey.Parse(textA));
        Assert.Same(a, keyring.Active);
        Assert.Equal(2, keyring.KeyIds.Count);
    }

    [Fact]
    public void Retire_RemovesPreviousKey_RefusesActive()
    {
        var (a, _) = MasterKey.Generate();
        var (b, _) = MasterKey.Generate();
        using var keyring = new Keyring(a);
        var cipher = new EnvelopeCipher(keyring);
        var aad = AssociatedData.ForInternal("x");
        var blob = cipher.Seal("1"u8, aad);
        keyring.Rotate(b);

        Assert.Throws<InvalidOperationException>(() => keyring.Retire(b.KeyId));
        Assert.True(keyring.Retire(a.KeyId));
        Assert.False(keyring.Retire(a.KeyId));
        Assert.False(keyring.TryGet(a.KeyId, out _));
        Assert.Empty(keyring.PreviousKeyIds);
        var ex = Assert.Throws<KeyroomException>(() => cipher.Open(blob, aad));
        Assert.Contains(a.KeyId, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rotate_WhileOthersSealAndOpen_EveryBlobOpens()
    {
        using var keyring = TestKeys.NewKeyring();
        var cipher = new EnvelopeCipher(keyring);
        var aad = AssociatedData.ForSecret(SecretKey.Project("p", "s"), 1);
        using var stop = new CancellationTokenSource();
        var blobs = new System.Collections.Concurrent.ConcurrentBag<byte[]>();
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var blob = cipher.Seal("v"u8, aad);
                Assert.Equal("v"u8.ToArray(), cipher.Open(blob, aad));
                blobs.Add(blob);
            }
        }, TestContext.Current.CancellationToken)).ToArray();

        // Rotate only while the workers are demonstrably sealing: each rotation waits for new blobs (bounded), so
        // seals really interleave with rotations even when the thread pool is slow to start the workers.
        for (var i = 0; i < 50; i++)
        {
            var before = blobs.Count;
            Assert.True(SpinWait.SpinUntil(() => blobs.Count > before, TimeSpan.FromSeconds(10)), "the workers sealed nothing for 10 s");
            keyring.Rotate(MasterKey.Generate().Key);
        }

        await stop.CancelAsync();
        await Task.WhenAll(workers);
        Assert.NotEmpty(blobs);
        Assert.All(blobs, blob => Assert.Equal("v"u8.ToArray(), cipher.Open(blob, aad)));
        Assert.Equal(51, keyring.KeyIds.Count);
    }

    [Fact]
    public void MasterKeyLoader_KeyFile_RoundTrips()
    {
        var (a, textA) = MasterKey.Generate();
        var (b, textB) = MasterKey.Generate();
        var text = MasterKeyLoader.FormatKeyFile([textA, textB]);
        Assert.Equal([textA, textB], MasterKeyLoader.ParseKeyLines(text));
        using var keyring = MasterKeyLoader.ParseKeyFile(text);
        Assert.Equal(a.KeyId, keyring.Active.KeyId);
        Assert.Equal([b.KeyId], keyring.PreviousKeyIds);
        a.Dispose();
        b.Dispose();
        Assert.Equal(KeyroomError.InvalidRequest, Assert.Throws<KeyroomException>(() => MasterKeyLoader.ParseKeyLines("# only a comment\n\n")).Error);
    }
}
