using System.Text.Json.Nodes;
using Keyroom.Client.Rooms;

namespace Keyroom.Server.Tests.ClientSdk;

public sealed class ParticipantTokensTests
{
    private static readonly JsonObject Example = SdkTestData.Load("jwt-participant-token.json");

    private static string ExampleKey => Example["api_key"]!["encoded"]!.GetValue<string>();

    private static string ExampleJwt => Example["jwt"]!.GetValue<string>();

    [Fact]
    public void VerifySignature_SpecExampleWithItsKey_ReturnsTrue()
    {
        Assert.True(ParticipantTokens.VerifySignature(ExampleJwt, ExampleKey));
    }

    [Fact]
    public void VerifySignature_OtherSecretOrTamperedPayload_ReturnsFalse()
    {
        var wrongKey = ExampleKey + "x";
        Assert.False(ParticipantTokens.VerifySignature(ExampleJwt, wrongKey));

        var parts = ExampleJwt.Split('.');
        var claims = ParticipantTokens.ReadClaims(ExampleJwt);
        claims["name"] = "mallory";
        var forgedPayload = System.Buffers.Text.Base64Url.EncodeToString(SdkTestData.Compact(claims));
        Assert.False(ParticipantTokens.VerifySignature(parts[0] + "." + forgedPayload + "." + parts[2], ExampleKey));
        Assert.False(ParticipantTokens.VerifySignature("not-a-jwt", ExampleKey));
    }

    [Fact]
    public void Create_SpecExampleClaims_ReproducesTheExampleTokenExactly()
    {
        var jwt = ParticipantTokens.Create(
            ExampleKey,
            "alice",
            "my-room",
            ApiScopes.AgentDefault(),
            role: "user",
            expiresAt: DateTimeOffset.FromUnixTimeSeconds(1_900_000_000));

        Assert.Equal(ExampleJwt, jwt);
    }

    [Fact]
    public void Create_WithoutExpiry_HasNoExpClaimAndKidSubFromTheKey()
    {
        var jwt = ParticipantTokens.Create(ExampleKey, "bob", "r1", ApiScopes.Full(), role: "agent");
        var claims = ParticipantTokens.ReadClaims(jwt);

        Assert.Equal(["name", "grants", "version", "kid", "sub"], claims.Select(c => c.Key).ToArray());
        Assert.Equal("123e4567-e89b-12d3-a456-426614174000", claims["kid"]!.GetValue<string>());
        Assert.Equal("0f1e2d3c-4b5a-6978-90ab-cdef12345678", claims["sub"]!.GetValue<string>());
        Assert.Equal("0.36.3", claims["version"]!.GetValue<string>());
        var grants = claims["grants"]!.AsArray();
        Assert.Equal("agent", grants[1]!["scope"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(ApiScopes.Full(), grants[2]!["scope"]));
        Assert.True(ParticipantTokens.VerifySignature(jwt, ExampleKey));
        Assert.Equal("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", jwt.Split('.')[0]);
    }

    [Fact]
    public void Create_NullApi_WritesNoApiGrant()
    {
        var claims = ParticipantTokens.ReadClaims(ParticipantTokens.Create(ExampleKey, "bob", "r1", api: null));
        Assert.DoesNotContain(claims["grants"]!.AsArray(), g => g!["name"]!.GetValue<string>() == "api");
    }

    [Fact]
    public void Create_MalformedApiKey_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => ParticipantTokens.Create("not-a-key", "bob", "r1", ApiScopes.AgentDefault()));
    }

    [Theory]
    [InlineData("agentDefault")]
    [InlineData("userDefault")]
    [InlineData("full")]
    public void ApiScopes_Presets_SerializeExactlyAsTheOfficialClient(string preset)
    {
        var expected = Example["api_scope_presets"]![preset]!;
        var actual = preset switch
        {
            "agentDefault" => ApiScopes.AgentDefault(),
            "userDefault" => ApiScopes.UserDefault(),
            _ => ApiScopes.Full(),
        };

        Assert.Equal(SdkTestData.CompactText(expected), SdkTestData.CompactText(actual));
    }
}
