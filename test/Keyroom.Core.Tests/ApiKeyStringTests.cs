using Keyroom.Core.Auth;

namespace Keyroom.Core.Tests;

public sealed class ApiKeyStringTests
{
    private const string Example = "ma-Ej5FZ.ibEtOkVkJmFBdAAA-Dx4tPEtaaXiQq83vEjRWeA-s3cr3t-with-dash";
    private static readonly Guid ExampleId = Guid.Parse("123e4567-e89b-12d3-a456-426614174000");
    private static readonly Guid ExampleProject = Guid.Parse("0f1e2d3c-4b5a-6978-90ab-cdef12345678");

    [Fact]
    public void TryParse_SpecExample_YieldsIdProjectAndDashedSecret()
    {
        Assert.True(ApiKeyString.TryParse(Example, out var key));
        Assert.Equal(ExampleId, key.KeyId);
        Assert.Equal(ExampleProject, key.ProjectId);
        Assert.Equal("s3cr3t-with-dash", key.Secret);
    }

    [Fact]
    public void ToString_FromParts_FormatsSpecExample()
    {
        Assert.Equal(Example, ApiKeyString.FromParts(ExampleId, ExampleProject, "s3cr3t-with-dash").ToString());
    }

    [Fact]
    public void EncodeUuid_SpecExample_Uses22CharactersWithDotAndUnderscore()
    {
        Assert.Equal("Ej5FZ.ibEtOkVkJmFBdAAA", ApiKeyString.EncodeUuid(ExampleId));
        Assert.Equal("Dx4tPEtaaXiQq83vEjRWeA", ApiKeyString.EncodeUuid(ExampleProject));
    }

    [Fact]
    public void Generate_RoundTripsThroughText()
    {
        var key = ApiKeyString.Generate(ExampleProject);
        Assert.True(ApiKeyString.TryParse(key.ToString(), out var parsed));
        Assert.Equal(key.KeyId, parsed.KeyId);
        Assert.Equal(ExampleProject, parsed.ProjectId);
        Assert.Equal(key.Secret, parsed.Secret);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("ma-")]
    [InlineData("Ej5FZ.ibEtOkVkJmFBdAAA-Dx4tPEtaaXiQq83vEjRWeA-s3cr3t")] // no prefix
    [InlineData("mb-Ej5FZ.ibEtOkVkJmFBdAAA-Dx4tPEtaaXiQq83vEjRWeA-s3cr3t")] // wrong prefix
    [InlineData("MA-Ej5FZ.ibEtOkVkJmFBdAAA-Dx4tPEtaaXiQq83vEjRWeA-s3cr3t")] // prefix is case-sensitive
    [InlineData("ma--Dx4tPEtaaXiQq83vEjRWeA-s3cr3t")] // empty id part
    [InlineData("ma-Ej5FZ.ibEtOkVkJmFBdAAA--s3cr3t")] // empty project part
    [InlineData("ma-Ej5FZ.ibEtOkVkJmFBdAAA-Dx4tPEtaaXiQq83vEjRWeA-")] // empty secret
    [InlineData("ma-Ej5FZ.ibEtOkVkJmFBdAAA-Dx4tPEtaaXiQq83vEjRWeA")] // no secret at all
    [InlineData("ma-Ej5FZ.ibEtOkVkJmFBdAA-Dx4tPEtaaXiQq83vEjRWeA-s3cr3t")] // id part 21 characters
    [InlineData("ma-Ej5FZ.ibEtOkVkJmFBdAAAA-Dx4tPEtaaXiQq83vEjRWeA-s3cr3t")] // id part 23 characters
    [InlineData("ma-Ej5FZ+ibEtOkVkJmFBdAAA-Dx4tPEtaaXiQq83vEjRWeA-s3cr3t")] // '+' is not in the alphabet
    [InlineData("ma-Ej5FZ/ibEtOkVkJmFBdAAA-Dx4tPEtaaXiQq83vEjRWeA-s3cr3t")] // '/' is not in the alphabet
    [InlineData("ma-Ej5FZ.ibEtOkVkJmFBdAA=-Dx4tPEtaaXiQq83vEjRWeA-s3cr3t")] // padding is not allowed
    [InlineData("ma-Ej5FZ.ibEtOkVkJmFBdAA!-Dx4tPEtaaXiQq83vEjRWeA-s3cr3t")] // not base64
    [InlineData("ma-Ej5FZ.ibEtOkVkJmFBdAAA-Dx4tPEtaaXiQq83vEjRWe!-s3cr3t")] // project not base64
    public void TryParse_Malformed_ReturnsFalse(string? text)
    {
        Assert.False(ApiKeyString.TryParse(text, out var key));
        Assert.Null(key);
    }

    [Fact]
    public void TryParse_SecretWithManyDashes_KeepsEverythingAfterSecondDash()
    {
        Assert.True(ApiKeyString.TryParse("ma-Ej5FZ.ibEtOkVkJmFBdAAA-Dx4tPEtaaXiQq83vEjRWeA--a-b--", out var key));
        Assert.Equal("-a-b--", key.Secret);
    }
}
