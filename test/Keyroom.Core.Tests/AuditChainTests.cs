using System.Security.Cryptography;
using Keyroom.Core.Audit;
using Keyroom.Core.Tests.Support;

namespace Keyroom.Core.Tests;

public sealed class AuditChainTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly byte[] MacKey = RandomNumberGenerator.GetBytes(32);

    /// <summary>A store with <paramref name="count"/> entries written through a real AuditLog.</summary>
    private static async Task<(TempStore Temp, AuditChain Chain)> CreateAsync(int count = 10)
    {
        var temp = await TempStore.CreateAsync();
        var chain = new AuditChain(MacKey);
        await using var log = temp.CreateAuditLog();
        await log.StartAsync(chain, Ct);
        for (var i = 1; i <= count; i++)
        {
            // Mix durable and queued writes so several batches are involved.
            var auditEvent = new AuditEvent("p", "key:k", "secret.read", "project/secret/s" + i, "ok");
            if (i % 3 == 0)
            {
                await log.RecordDurablyAsync(auditEvent);
            }
            else
            {
                log.Record(auditEvent);
            }
        }

        await log.FlushAsync();
        return (temp, chain);
    }

    private static Task<AuditVerification> VerifyAsync(TempStore temp, AuditChain chain) => AuditVerifier.VerifyAsync(temp.Store, chain, Ct);

    [Fact]
    public async Task Verify_Intact()
    {
        var (temp, chain) = await CreateAsync();
        await using (temp)
        {
            var result = await VerifyAsync(temp, chain);
            Assert.True(result.IsIntact, result.Problem);
            Assert.Equal(10, result.Checked);
            Assert.Null(result.FirstBadSequence);
        }
    }

    [Fact]
    public async Task Verify_EmptyStore_Intact()
    {
        var (temp, chain) = await CreateAsync(0);
        await using (temp)
        {
            Assert.True((await VerifyAsync(temp, chain)).IsIntact);
        }
    }

    [Fact]
    public async Task FlushAsync_WritesNoEntry()
    {
        var (temp, chain) = await CreateAsync(2);
        await using (temp)
        {
            Assert.Equal(2L, await temp.ScalarAsync("SELECT COUNT(*) FROM audit"));
            Assert.Equal(2, (await VerifyAsync(temp, chain)).Checked);
        }
    }

    [Theory]
    [InlineData("target = 'project/secret/other'")]
    [InlineData("outcome = 'denied'")]
    [InlineData("actor = 'key:someone-else'")]
    [InlineData("project_id = 'p2'")]
    [InlineData("at = at + 1")]
    public async Task Verify_EditedEntry_ReportsItsSequence(string change)
    {
        var (temp, chain) = await CreateAsync();
        await using (temp)
        {
            await temp.ExecuteAsync("UPDATE audit SET " + change + " WHERE seq = 4");
            var result = await VerifyAsync(temp, chain);
            Assert.False(result.IsIntact);
            Assert.Equal(4, result.FirstBadSequence);
            Assert.Equal(3, result.Checked);
            Assert.Contains("entry 4 was modified", result.Problem, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Verify_EditedMac_ReportsItsSequence()
    {
        var (temp, chain) = await CreateAsync();
        await using (temp)
        {
            await temp.ExecuteAsync("UPDATE audit SET mac = zeroblob(32) WHERE seq = 6");
            var result = await VerifyAsync(temp, chain);
            Assert.Equal(6, result.FirstBadSequence);
        }
    }

    [Fact]
    public async Task Verify_DeletedMiddleEntry_ReportsTheGap()
    {
        var (temp, chain) = await CreateAsync();
        await using (temp)
        {
            await temp.ExecuteAsync("DELETE FROM audit WHERE seq = 5");
            var result = await VerifyAsync(temp, chain);
            Assert.Equal(5, result.FirstBadSequence);
            Assert.Contains("entry 5 is missing", result.Problem, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Verify_DeletedMiddleEntryAndRenumbered_ReportsBrokenLink()
    {
        var (temp, chain) = await CreateAsync();
        await using (temp)
        {
            await temp.ExecuteAsync("DELETE FROM audit WHERE seq = 5");
            await temp.ExecuteAsync("UPDATE audit SET seq = -seq WHERE seq > 5");
            await temp.ExecuteAsync("UPDATE audit SET seq = -seq - 1 WHERE seq < 0");
            var result = await VerifyAsync(temp, chain);
            Assert.Equal(5, result.FirstBadSequence);
            Assert.False(result.IsIntact);
        }
    }

    [Fact]
    public async Task Verify_DeletedTail_ReportsEntriesAfterNDeleted()
    {
        var (temp, chain) = await CreateAsync();
        await using (temp)
        {
            await temp.ExecuteAsync("DELETE FROM audit WHERE seq > 7");
            var result = await VerifyAsync(temp, chain);
            Assert.False(result.IsIntact);
            Assert.Equal(7, result.Checked);
            Assert.Equal(8, result.FirstBadSequence);
            Assert.Contains("entries after 7 were deleted", result.Problem, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Verify_EverythingDeleted_ReportsEntriesAfter0Deleted()
    {
        var (temp, chain) = await CreateAsync();
        await using (temp)
        {
            await temp.ExecuteAsync("DELETE FROM audit");
            var result = await VerifyAsync(temp, chain);
            Assert.Equal(1, result.FirstBadSequence);
            Assert.Contains("entries after 0 were deleted", result.Problem, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Verify_HeadRewrittenToTruncatedTail_Detected()
    {
        var (temp, chain) = await CreateAsync();
        await using (temp)
        {
            // Someone with database access (but not the MAC key) cuts the tail and points the head at the new end.
            await temp.ExecuteAsync("DELETE FROM audit WHERE seq > 7");
            var mac = (byte[])(await temp.ScalarAsync("SELECT mac FROM audit WHERE seq = 7"))!;
            var forged = new AuditChain(RandomNumberGenerator.GetBytes(32)).SealHead(7, mac);
            await temp.ExecuteAsync("UPDATE meta SET value = $v WHERE name = 'audit-head'", ("$v", forged));
            var result = await VerifyAsync(temp, chain);
            Assert.False(result.IsIntact);
            Assert.Contains("audit head was modified", result.Problem, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Verify_HeadDeleted_NotIntact()
    {
        var (temp, chain) = await CreateAsync();
        await using (temp)
        {
            await temp.ExecuteAsync("DELETE FROM meta WHERE name = 'audit-head'");
            var result = await VerifyAsync(temp, chain);
            Assert.False(result.IsIntact);
            Assert.Contains("head is missing", result.Problem, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Verify_ReorderedEntries_ReportsFirstSwappedSequence()
    {
        var (temp, chain) = await CreateAsync();
        await using (temp)
        {
            await temp.ExecuteAsync("UPDATE audit SET seq = -1 WHERE seq = 3");
            await temp.ExecuteAsync("UPDATE audit SET seq = 3 WHERE seq = 4");
            await temp.ExecuteAsync("UPDATE audit SET seq = 4 WHERE seq = -1");
            var result = await VerifyAsync(temp, chain);
            Assert.Equal(3, result.FirstBadSequence);
            Assert.Equal(2, result.Checked);
        }
    }

    [Fact]
    public async Task Verify_WrongMacKey_FirstEntryBad()
    {
        var (temp, _) = await CreateAsync();
        await using (temp)
        {
            var result = await VerifyAsync(temp, new AuditChain(RandomNumberGenerator.GetBytes(32)));
            Assert.False(result.IsIntact);
        }
    }

    [Fact]
    public async Task Restart_AfterTailDeleted_KeepsTheGapVisible_AndRecordsIt()
    {
        var (temp, chain) = await CreateAsync();
        await using (temp)
        {
            await temp.ExecuteAsync("DELETE FROM audit WHERE seq > 7");
            await using (var log = temp.CreateAuditLog())
            {
                await log.StartAsync(chain, Ct);
                await log.RecordDurablyAsync(new AuditEvent("p", "key:k", "secret.read", "t", "ok"));
            }

            // The chain continues after the head (10), so entries 8-10 stay visibly missing.
            var result = await VerifyAsync(temp, chain);
            Assert.Equal(8, result.FirstBadSequence);
            Assert.Contains("entry 8 is missing (found 11 next)", result.Problem, StringComparison.Ordinal);
            Assert.Equal("audit.tail_missing", await temp.ScalarAsync("SELECT action FROM audit WHERE seq = 11"));
        }
    }

    [Fact]
    public async Task Restart_ContinuesTheChain()
    {
        var (temp, chain) = await CreateAsync(3);
        await using (temp)
        {
            await using (var log = temp.CreateAuditLog())
            {
                await log.StartAsync(chain, Ct);
                await log.RecordDurablyAsync(new AuditEvent("p", "key:k", "secret.read", "t", "ok"));
            }

            var result = await VerifyAsync(temp, chain);
            Assert.True(result.IsIntact, result.Problem);
            Assert.Equal(4, result.Checked);
        }
    }

    [Fact]
    public void Head_SealOpen_RoundTrips_AndRejectsTampering()
    {
        var chain = new AuditChain(MacKey);
        var mac = RandomNumberGenerator.GetBytes(32);
        var head = chain.SealHead(42, mac);
        Assert.True(chain.TryOpenHead(head, out var opened));
        Assert.Equal(42, opened.Sequence);
        Assert.Equal(mac, opened.Mac);
        for (var i = 0; i < head.Length; i++)
        {
            var tampered = (byte[])head.Clone();
            tampered[i] ^= 1;
            Assert.False(chain.TryOpenHead(tampered, out _));
        }

        Assert.False(new AuditChain(RandomNumberGenerator.GetBytes(32)).TryOpenHead(head, out _));
        Assert.False(chain.TryOpenHead(head.AsSpan(1), out _));
    }
}
