using System.Buffers.Text;
using System.Text;
using System.Text.Json.Nodes;
using Keyroom.Core.Auth;

namespace Keyroom.Core.Tests;

public sealed class ParticipantTokenTests
{
    // examples/jwt-participant-token.json (spec §1.2), verbatim.
    private const string ExampleJwt =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoiYWxpY2UiLCJncmFudHMiOlt7Im5hbWUiOiJyb29tIiwic2NvcGUiOiJteS1yb29tIn0seyJuYW1lIjoicm9sZSIsInNjb3BlIjoidXNlciJ9LHsibmFtZSI6ImFwaSIsInNjb3BlIjp7ImxpdmVraXQiOnt9LCJxdWV1ZXMiOnt9LCJtZXNzYWdpbmciOnt9LCJkYXRhc2V0Ijp7fSwibWVtb3J5Ijp7fSwic3luYyI6e30sInN0b3JhZ2UiOnt9LCJjb250YWluZXJzIjp7fSwiZGV2ZWxvcGVyIjp7fSwiYWdlbnRzIjp7fSwibGxtIjp7fSwic2VjcmV0cyI6e30sInNlcnZpY2VzIjp7fX19XSwidmVyc2lvbiI6IjAuMzYuMyIsImtpZCI6IjEyM2U0NTY3LWU4OWItMTJkMy1hNDU2LTQyNjYxNDE3NDAwMCIsInN1YiI6IjBmMWUyZDNjLTRiNWEtNjk3OC05MGFiLWNkZWYxMjM0NTY3OCIsImV4cCI6MTkwMDAwMDAwMH0.s3oQQPZRr6X_kIUooI_8JlZ4EKhj5wYn_0BZlxh6PwI";

    private const string Secret = "s3cr3t-with-dash";
    private static readonly byte[] SecretUtf8 = Encoding.UTF8.GetBytes(Secret);

    // The example's exp is 1900000000 (2030-03-17); verify "now" well before it.
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

    [Fact]
    public void Verify_SpecExample_WithItsSecret_Succeeds()
    {
        var unverified = ParticipantToken.ReadUnverified(ExampleJwt);
        Assert.NotNull(unverified);
        Assert.True(unverified.Verify(SecretUtf8, Now));
    }

    [Fact]
    public void ReadUnverified_SpecExample_ReadsNamedClaims()
    {
        var token = ParticipantToken.ReadUnverified(ExampleJwt)!.Token;
        Assert.Equal("alice", token.Name);
        Assert.Equal("123e4567-e89b-12d3-a456-426614174000", token.KeyId);
        Assert.Equal("0f1e2d3c-4b5a-6978-90ab-cdef12345678", token.ProjectId);
        Assert.Equal("0.36.3", token.Version);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_900_000_000), token.ExpiresAt);
        Assert.Empty(token.ExtraClaims);
    }

    [Fact]
    public void ReadUnverified_SpecExample_ParsesGrants()
    {
        var token = ParticipantToken.ReadUnverified(ExampleJwt)!.Token;
        Assert.Equal(3, token.Grants.Count);
        Assert.Equal("my-room", token.Room);
        Assert.Equal("user", token.Role);
        var api = token.Api;
        Assert.NotNull(api);
        Assert.NotNull(api.Secrets);
        Assert.False(api.IsAdmin);
        Assert.True(api.HasMessaging);
        Assert.True(api.CanListServices);
        Assert.Equal(
            ApiScope.AgentDefault().Json.Select(p => p.Key).Order(StringComparer.Ordinal),
            api.Json.Select(p => p.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Verify_WrongSecret_ReturnsFalse()
    {
        Assert.False(ParticipantToken.ReadUnverified(ExampleJwt)!.Verify("s3cr3t"u8, Now));
    }

    [Fact]
    public void Verify_TamperedPayload_ReturnsFalse()
    {
        var parts = ExampleJwt.Split('.');
        var payload = JsonNode.Parse(Base64Url.DecodeFromChars(parts[1]))!.AsObject();
        payload["name"] = "mallory";
        var forged = parts[0] + "." + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload.ToJsonString())) + "." + parts[2];
        var unverified = ParticipantToken.ReadUnverified(forged);
        Assert.NotNull(unverified);
        Assert.False(unverified.Verify(SecretUtf8, Now));
    }

    [Fact]
    public void Verify_TamperedSignature_ReturnsFalse()
    {
        var signature = Base64Url.DecodeFromChars(ExampleJwt.Split('.')[2]);
        signature[0] ^= 1;
        var forged = ExampleJwt[..(ExampleJwt.LastIndexOf('.') + 1)] + Base64Url.EncodeToString(signature);
        Assert.False(ParticipantToken.ReadUnverified(forged)!.Verify(SecretUtf8, Now));
    }

    [Fact]
    public void Verify_TruncatedSignature_ReturnsFalse()
    {
        var forged = ExampleJwt[..^4];
        var unverified = ParticipantToken.ReadUnverified(forged);
        Assert.False(unverified?.Verify(SecretUtf8, Now) ?? false);
    }

    [Fact]
    public void Verify_AfterExpiry_ReturnsFalse()
    {
        var unverified = ParticipantToken.ReadUnverified(ExampleJwt)!;
        Assert.False(unverified.Verify(SecretUtf8, DateTimeOffset.FromUnixTimeSeconds(1_900_000_000)));
        Assert.False(unverified.Verify(SecretUtf8, DateTimeOffset.FromUnixTimeSeconds(1_900_000_001)));
        Assert.True(unverified.Verify(SecretUtf8, DateTimeOffset.FromUnixTimeSeconds(1_899_999_999)));
    }

    [Fact]
    public void Verify_NoExp_NeverExpires()
    {
        var jwt = new ParticipantToken("bob").AddRoomGrant("r").Sign(Secret);
        Assert.True(ParticipantToken.ReadUnverified(jwt)!.Verify(SecretUtf8, DateTimeOffset.MaxValue));
    }

    [Theory]
    [InlineData("{\"alg\":\"none\",\"typ\":\"JWT\"}")]
    [InlineData("{\"alg\":\"RS256\",\"typ\":\"JWT\"}")]
    [InlineData("{\"alg\":\"HS512\",\"typ\":\"JWT\"}")]
    [InlineData("{\"alg\":\"hs256\",\"typ\":\"JWT\"}")]
    [InlineData("{\"typ\":\"JWT\"}")]
    [InlineData("[\"HS256\"]")]
    public void ReadUnverified_OtherAlgorithms_ReturnsNull(string header)
    {
        var parts = ExampleJwt.Split('.');
        var forged = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header)) + "." + parts[1] + "." + parts[2];
        Assert.Null(ParticipantToken.ReadUnverified(forged));
        Assert.Null(ParticipantToken.ReadUnverified(Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header)) + "." + parts[1] + "."));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a.b")]
    [InlineData("a.b.c.d")]
    [InlineData("!!!.###.$$$")]
    public void ReadUnverified_Malformed_ReturnsNull(string jwt)
    {
        Assert.Null(ParticipantToken.ReadUnverified(jwt));
    }

    [Fact]
    public void ReadUnverified_WithoutName_ReturnsNull()
    {
        var header = ExampleJwt.Split('.')[0];
        var payload = Base64Url.EncodeToString("{\"grants\":[],\"kid\":\"x\"}"u8);
        Assert.Null(ParticipantToken.ReadUnverified(header + "." + payload + ".AAAA"));
    }

    [Fact]
    public void Role_FirstRoleThatIsNotUser_Wins()
    {
        var token = new ParticipantToken("a").AddRoleGrant("user").AddRoleGrant("agent").AddRoleGrant("tool");
        Assert.Equal("agent", token.Role);
        Assert.Equal("user", new ParticipantToken("b").Role);
        Assert.Equal("user", new ParticipantToken("c").AddRoleGrant("user").Role);
    }

    [Fact]
    public void Room_FirstRoomGrant_NullWithout()
    {
        Assert.Equal("one", new ParticipantToken("a").AddRoomGrant("one").AddRoomGrant("two").Room);
        Assert.Null(new ParticipantToken("a").Room);
    }

    [Fact]
    public void Api_NoApiGrant_IsNull_AndSecondApiGrantIsRefused()
    {
        var token = new ParticipantToken("a").AddRoomGrant("r");
        Assert.Null(token.Api);
        token.AddApiGrant(ApiScope.UserDefault());
        var ex = Assert.Throws<KeyroomException>(() => token.AddApiGrant(ApiScope.Full()));
        Assert.Equal(KeyroomError.InvalidRequest, ex.Error);
    }

    [Fact]
    public void SignThenRead_RoundTripsEverything()
    {
        var token = new ParticipantToken("alice")
        {
            KeyId = "123e4567-e89b-12d3-a456-426614174000",
            ProjectId = "0f1e2d3c-4b5a-6978-90ab-cdef12345678",
            ExpiresAt = DateTimeOffset.FromUnixTimeSeconds(1_900_000_000),
        };
        token.AddRoomGrant("my-room").AddRoleGrant("user").AddApiGrant(ApiScope.AgentDefault());

        // With the example's claims and secret, signing reproduces the example byte for byte.
        var jwt = token.Sign(Secret);
        Assert.Equal(ExampleJwt, jwt);

        var read = ParticipantToken.ReadUnverified(jwt)!;
        Assert.True(read.Verify(SecretUtf8, Now));
        Assert.Equal(token.Name, read.Token.Name);
        Assert.Equal(token.KeyId, read.Token.KeyId);
        Assert.Equal(token.ProjectId, read.Token.ProjectId);
        Assert.Equal(token.ExpiresAt, read.Token.ExpiresAt);
        Assert.Equal(token.Grants.Select(g => g.ToJsonString()), read.Token.Grants.Select(g => g.ToJsonString()));
    }

    [Fact]
    public void ExtraClaims_RoundTripAtTopLevel()
    {
        var token = new ParticipantToken("alice");
        token.ExtraClaims["tenant"] = "acme";
        token.ExtraClaims["meta"] = new JsonObject { ["n"] = 1, ["tags"] = new JsonArray("a", "b") };
        token.AddGrant("tunnel_ports", JsonValue.Create("9000,9001"));
        token.AddGrant("custom", new JsonObject { ["x"] = true });
        var jwt = token.Sign(Secret);

        var payload = JsonNode.Parse(Base64Url.DecodeFromChars(jwt.Split('.')[1]))!.AsObject();
        Assert.Equal("acme", payload["tenant"]!.GetValue<string>());
        Assert.False(payload.ContainsKey("iat"));
        Assert.False(payload.ContainsKey("exp"));
        Assert.False(payload.ContainsKey("kid"));

        var read = ParticipantToken.ReadUnverified(jwt)!.Token;
        Assert.Equal("acme", read.ExtraClaims["tenant"]!.GetValue<string>());
        Assert.Equal("{\"n\":1,\"tags\":[\"a\",\"b\"]}", read.ExtraClaims["meta"]!.ToJsonString());
        Assert.Equal(2, read.ExtraClaims.Count);
        Assert.Equal(new[] { "tunnel_ports", "custom" }, read.Grants.Select(g => g["name"]!.GetValue<string>()));

        // And out again: the extra claims are re-emitted unchanged.
        var again = JsonNode.Parse(Base64Url.DecodeFromChars(read.Sign(Secret).Split('.')[1]))!.AsObject();
        Assert.Equal(payload.ToJsonString(), again.ToJsonString());
    }

    [Fact]
    public void ExtraClaims_CannotOverrideNamedClaims()
    {
        var token = new ParticipantToken("alice") { KeyId = "k" };
        token.ExtraClaims["custom"] = 1;
        var payload = JsonNode.Parse(Base64Url.DecodeFromChars(token.Sign(Secret).Split('.')[1]))!.AsObject();
        Assert.Equal("alice", payload["name"]!.GetValue<string>());
        Assert.Equal("k", payload["kid"]!.GetValue<string>());
    }

    [Fact]
    public void ReadUnverified_NonStringSubKidVersion_AreIgnored()
    {
        var header = ExampleJwt.Split('.')[0];
        var payload = Base64Url.EncodeToString("{\"name\":\"a\",\"sub\":1,\"kid\":true,\"version\":2}"u8);
        var token = ParticipantToken.ReadUnverified(header + "." + payload + ".AAAA")!.Token;
        Assert.Null(token.ProjectId);
        Assert.Null(token.KeyId);
        Assert.Equal(ParticipantToken.ClientVersion, token.Version);
    }
}
