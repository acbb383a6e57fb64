using Keyroom.Client;

namespace Keyroom.Cli.Tests;

public sealed class ApiKeyIdsTests
{
    [Fact]
    public void TryParse_SpecExample_ReturnsKeyAndProjectIds()
    {
        // spec §1.1: id 123e4567-…, project 0f1e2d3c-…, secret "s3cr3t-with-dash" (the secret may contain '-').
        var ok = ApiKeyIds.TryParse("ma-Ej5FZ.ibEtOkVkJmFBdAAA-Dx4tPEtaaXiQq83vEjRWeA-s3cr3t-with-dash", out var ids);

        Assert.True(ok);
        Assert.Equal("123e4567-e89b-12d3-a456-426614174000", ids.KeyId);
        Assert.Equal("0f1e2d3c-4b5a-6978-90ab-cdef12345678", ids.ProjectId);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("ma-")]
    [InlineData("mb-Ej5FZ.ibEtOkVkJmFBdAAA-Dx4tPEtaaXiQq83vEjRWeA-secret")]
    [InlineData("ma-Ej5FZ.ibEtOkVkJmFBdAAA-Dx4tPEtaaXiQq83vEjRWeA")]
    [InlineData("ma-Ej5FZ.ibEtOkVkJmFBdAAA-Dx4tPEtaaXiQq83vEjRWeA-")]
    [InlineData("ma--Dx4tPEtaaXiQq83vEjRWeA-secret")]
    [InlineData("ma-Ej5FZ.ibEtOkVkJmFBdAA-Dx4tPEtaaXiQq83vEjRWeA-secret")]
    [InlineData("ma-Ej5FZ+ibEtOkVkJmFBdAAA-Dx4tPEtaaXiQq83vEjRWeA-secret")]
    [InlineData("ma-Ej5FZ.ibEtOkVkJmFBdAAA-Dx4tPEtaaXiQq83vEjRW==-secret")]
    [InlineData("eyJhbGciOiJIUzI1NiJ9.e30.sig")]
    public void TryParse_MalformedKey_ReturnsFalse(string? key)
    {
        Assert.False(ApiKeyIds.TryParse(key, out _));
    }

    [Theory]
    [InlineData("_____________________w", "ffffffff-ffff-ffff-ffff-ffffffffffff")]
    [InlineData("...................._w", "fbefbefb-efbe-fbef-befb-efbefbefbeff")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAA", "00000000-0000-0000-0000-000000000000")]
    public void TryDecodeUuid_DotAndUnderscoreAlphabet_DecodesAsBase64(string encoded, string expected)
    {
        Assert.True(ApiKeyIds.TryDecodeUuid(encoded, out var id));
        Assert.Equal(expected, id.ToString("D"));
    }
}
