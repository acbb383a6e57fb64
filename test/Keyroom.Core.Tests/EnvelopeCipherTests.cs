using System.Security.Cryptography;
using Keyroom.Core.Crypto;
using Keyroom.Core.Secrets;
using Keyroom.Core.Tests.Support;

namespace Keyroom.Core.Tests;

public sealed class EnvelopeCipherTests
{
    private static readonly SecretKey KeyA = SecretKey.Project("p1", "a");
    private static readonly SecretKey KeyB = SecretKey.Project("p1", "b");

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1024 * 1024)]
    public void SealOpen_RoundTrips(int size)
    {
        using var keyring = TestKeys.NewKeyring();
        var cipher = new EnvelopeCipher(keyring);
        var value = RandomNumberGenerator.GetBytes(size);
        var aad = AssociatedData.ForSecret(KeyA, 1);
        var blob = cipher.Seal(value, aad);
        Assert.Equal(keyring.Active.KeyId, EnvelopeCipher.ReadKeyId(blob));
        Assert.Equal(value, cipher.Open(blob, aad));
    }

    [Fact]
    public async Task SealOpen_ManyThreadsSharingTheMasterKey_EveryValueRoundTrips()
    {
        // The KEK's AES-GCM instances are pooled and not thread-safe: one handed to two threads at once would
        // corrupt wraps or fail unwraps here.
        using var keyring = TestKeys.NewKeyring();
        var cipher = new EnvelopeCipher(keyring);

        var workers = Enumerable.Range(0, 8).Select(worker => Task.Run(() =>
        {
            for (var i = 0; i < 500; i++)
            {
                var value = RandomNumberGenerator.GetBytes(1 + ((worker * 31) + i) % 200);
                var aad = AssociatedData.ForSecret(SecretKey.Project("p1", $"w{worker}-{i}"), i);
                Assert.Equal(value, cipher.Open(cipher.Seal(value, aad), aad));
            }
        }));

        await Task.WhenAll(workers);
    }

    [Fact]
    public void Open_MasterKeyDisposed_ThrowsInsteadOfUsingAZeroedKey()
    {
        var keyring = TestKeys.NewKeyring();
        var cipher = new EnvelopeCipher(keyring);
        var aad = AssociatedData.ForSecret(KeyA, 1);
        var blob = cipher.Seal("v"u8, aad);

        keyring.Dispose();

        Assert.Throws<ObjectDisposedException>(() => cipher.Open(blob, aad));
    }

    [Fact]
    public void Seal_SameValueTwice_GivesDifferentBlobs()
    {
        using var keyring = TestKeys.NewKeyring();
        var cipher = new EnvelopeCipher(keyring);
        var aad = AssociatedData.ForSecret(KeyA, 1);
        Assert.NotEqual(cipher.Seal("same"u8, aad), cipher.Seal("same"u8, aad));
    }

    [Fact]
    public void Open_AnyByteTampered_FailsIntegrity()
    {
        using var keyring = TestKeys.NewKeyring();
        var cipher = new EnvelopeCipher(keyring);
        var aad = AssociatedData.ForSecret(KeyA, 1);
        var blob = cipher.Seal("a secret value"u8, aad);
        for (var i = 0; i < blob.Length; i++)
        {
            foreach (var flip in new byte[] { 0x01, 0x80 })
            {
                var tampered = (byte[])blob.Clone();
                tampered[i] ^= flip;
                var ex = Assert.Throws<KeyroomException>(() => cipher.Open(tampered, aad));
                Assert.Equal(KeyroomError.IntegrityFailure, ex.Error);
            }
        }
    }

    [Fact]
    public void Open_TruncatedOrExtended_FailsIntegrity()
    {
        using var keyring = TestKeys.NewKeyring();
        var cipher = new EnvelopeCipher(keyring);
        var aad = AssociatedData.ForSecret(KeyA, 1);
        var blob = cipher.Seal("value"u8, aad);
        for (var length = 0; length < blob.Length; length++)
        {
            Assert.Equal(KeyroomError.IntegrityFailure, Assert.Throws<KeyroomException>(() => cipher.Open(blob.AsSpan(0, length), aad)).Error);
        }

        Assert.Equal(KeyroomError.IntegrityFailure, Assert.Throws<KeyroomException>(() => cipher.Open([.. blob, 0], aad)).Error);
    }

    [Fact]
    public void Open_WithAnotherRowsAssociatedData_FailsIntegrity()
    {
        using var keyring = TestKeys.NewKeyring();
        var cipher = new EnvelopeCipher(keyring);
        var blobA = cipher.Seal("value of a"u8, AssociatedData.ForSecret(KeyA, 1));
        var blobB = cipher.Seal("value of b"u8, AssociatedData.ForSecret(KeyB, 1));

        // Swapped rows: each blob is opened with the other row's associated data.
        Assert.Equal(KeyroomError.IntegrityFailure, Assert.Throws<KeyroomException>(() => cipher.Open(blobA, AssociatedData.ForSecret(KeyB, 1))).Error);
        Assert.Equal(KeyroomError.IntegrityFailure, Assert.Throws<KeyroomException>(() => cipher.Open(blobB, AssociatedData.ForSecret(KeyA, 1))).Error);

        // Another version of the same secret, another project, scope, owner, delegation, or kind of value.
        var other = new[]
        {
            AssociatedData.ForSecret(KeyA, 2),
            AssociatedData.ForSecret(SecretKey.Project("p2", "a"), 1),
            AssociatedData.ForSecret(KeyA with { Scope = SecretKey.RoomScope("r") }, 1),
            AssociatedData.ForSecret(KeyA with { Owner = "bob" }, 1),
            AssociatedData.ForSecret(KeyA with { DelegatedTo = "bob" }, 1),
            AssociatedData.ForApiKey(Guid.NewGuid()),
            AssociatedData.ForInternal("a"),
        };
        foreach (var aad in other)
        {
            Assert.Equal(KeyroomError.IntegrityFailure, Assert.Throws<KeyroomException>(() => cipher.Open(blobA, aad)).Error);
        }
    }

    [Fact]
    public void AssociatedData_FieldBoundariesCannotShift()
    {
        Assert.NotEqual(
            AssociatedData.ForSecret(new SecretKey("p", "room:a", "b", "", "c"), 1),
            AssociatedData.ForSecret(new SecretKey("p", "room:ab", "", "", "c"), 1));
    }

    [Fact]
    public void Open_WithAnotherKeyring_FailsIntegrityNamingTheKeyId()
    {
        using var sealing = TestKeys.NewKeyring();
        using var other = TestKeys.NewKeyring();
        var aad = AssociatedData.ForSecret(KeyA, 1);
        var blob = new EnvelopeCipher(sealing).Seal("value"u8, aad);
        var ex = Assert.Throws<KeyroomException>(() => new EnvelopeCipher(other).Open(blob, aad));
        Assert.Equal(KeyroomError.IntegrityFailure, ex.Error);
        Assert.Contains(sealing.Active.KeyId, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_KeyringWithSameKeyIdButOtherMaterial_FailsIntegrity()
    {
        // A blob whose header names a held key id but whose wrap was made by another key.
        using var sealing = TestKeys.NewKeyring();
        using var other = TestKeys.NewKeyring();
        var aad = AssociatedData.ForSecret(KeyA, 1);
        var blob = new EnvelopeCipher(other).Seal("value"u8, aad);
        var relabelled = new byte[4 + 16 + (blob.Length - 4 - blob[3])];
        blob.AsSpan(0, 4).CopyTo(relabelled);
        System.Text.Encoding.ASCII.GetBytes(sealing.Active.KeyId).CopyTo(relabelled, 4);
        blob.AsSpan(4 + blob[3]).CopyTo(relabelled.AsSpan(20));
        Assert.Equal(KeyroomError.IntegrityFailure, Assert.Throws<KeyroomException>(() => new EnvelopeCipher(sealing).Open(relabelled, aad)).Error);
    }

    [Fact]
    public void Rewrap_KeepsPlaintext_ChangesKeyId_CopiesCiphertext()
    {
        var (oldKey, _) = MasterKey.Generate();
        var (newKey, newText) = MasterKey.Generate();
        using var keyring = new Keyring(oldKey);
        var cipher = new EnvelopeCipher(keyring);
        var aad = AssociatedData.ForSecret(KeyA, 3);
        var value = RandomNumberGenerator.GetBytes(100);
        var blob = cipher.Seal(value, aad);
        var oldKeyId = keyring.Active.KeyId;

        Assert.Null(cipher.Rewrap(blob, aad)); // already under the active key
        keyring.Rotate(newKey);
        var rewrapped = cipher.Rewrap(blob, aad);

        Assert.NotNull(rewrapped);
        Assert.Equal(newKey.KeyId, EnvelopeCipher.ReadKeyId(rewrapped));
        Assert.NotEqual(oldKeyId, newKey.KeyId);
        Assert.Equal(blob.Length, rewrapped.Length);

        // Only the header and the wrapped data key change: data nonce, tag and ciphertext are copied as they are.
        const int wrap = 12 + 32 + 16;
        var dataOffset = 4 + 16 + wrap;
        Assert.Equal(blob.AsSpan(dataOffset).ToArray(), rewrapped.AsSpan(dataOffset).ToArray());

        // A keyring that never held the old key opens it.
        using var onlyNew = new Keyring(MasterKey.Parse(newText));
        Assert.Equal(value, new EnvelopeCipher(onlyNew).Open(rewrapped, aad));
        Assert.Null(cipher.Rewrap(rewrapped, aad));
    }

    [Fact]
    public void Rewrap_WrongAssociatedData_FailsIntegrity()
    {
        using var keyring = TestKeys.NewKeyring();
        var cipher = new EnvelopeCipher(keyring);
        var blob = cipher.Seal("v"u8, AssociatedData.ForSecret(KeyA, 1));
        keyring.Rotate(MasterKey.Generate().Key);
        Assert.Equal(KeyroomError.IntegrityFailure, Assert.Throws<KeyroomException>(() => cipher.Rewrap(blob, AssociatedData.ForSecret(KeyB, 1))).Error);
    }

    [Fact]
    public void Rewrap_UnknownKey_FailsIntegrity()
    {
        using var sealing = TestKeys.NewKeyring();
        using var other = TestKeys.NewKeyring();
        var aad = AssociatedData.ForSecret(KeyA, 1);
        var blob = new EnvelopeCipher(sealing).Seal("v"u8, aad);
        var ex = Assert.Throws<KeyroomException>(() => new EnvelopeCipher(other).Rewrap(blob, aad));
        Assert.Contains(sealing.Active.KeyId, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { (byte)'K', (byte)'R', 2, 1, (byte)'a' })]
    [InlineData(new byte[] { (byte)'K', (byte)'X', 1, 1, (byte)'a' })]
    [InlineData(new byte[] { (byte)'K', (byte)'R', 1, 0 })]
    [InlineData(new byte[] { (byte)'K', (byte)'R', 1, 33 })]
    [InlineData(new byte[] { (byte)'K', (byte)'R', 1, 5, (byte)'a' })]
    public void ReadKeyId_NotABlob_FailsIntegrity(byte[] blob)
    {
        Assert.Equal(KeyroomError.IntegrityFailure, Assert.Throws<KeyroomException>(() => EnvelopeCipher.ReadKeyId(blob)).Error);
    }
}
