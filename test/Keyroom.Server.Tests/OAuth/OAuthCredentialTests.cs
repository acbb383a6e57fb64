using System.Text.Json.Nodes;
using Keyroom.Server.OAuth;

namespace Keyroom.Server.Tests.OAuth;

/// <summary>The stored credential and the parsed oauth object: expiry margin, round trip, no values in ToString.</summary>
public sealed class OAuthCredentialTests
{
    private static readonly DateTimeOffset Obtained = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

    [Theory]
    [InlineData(3600, 3539, true)] // 61 s left
    [InlineData(3600, 3540, false)] // 60 s left: refresh now
    [InlineData(10, 4, true)] // short-lived tokens keep half their lifetime
    [InlineData(10, 5, false)]
    [InlineData(0, 0, false)]
    public void IsFresh_SecondsAfterIssue_RefreshesWithinSixtySecondsOrHalfTheLifetime(long lifetime, long elapsed, bool fresh)
    {
        var credential = Credential() with { ObtainedAt = Obtained.ToUnixTimeSeconds(), ExpiresAt = Obtained.ToUnixTimeSeconds() + lifetime };

        Assert.Equal(fresh, credential.IsFresh(Obtained.AddSeconds(elapsed)));
    }

    [Fact]
    public void IsFresh_NoExpiryGiven_AlwaysFresh()
    {
        Assert.True((Credential() with { ExpiresAt = null }).IsFresh(Obtained.AddYears(5)));
    }

    [Fact]
    public void ToUtf8Bytes_RoundTrip_KeepsEveryField()
    {
        var credential = Credential();

        var back = OAuthCredential.FromUtf8Bytes(credential.ToUtf8Bytes());

        Assert.Equal(credential, back);
        Assert.Contains("\"client_auth\":\"client_secret_basic\"", System.Text.Encoding.UTF8.GetString(credential.ToUtf8Bytes()), StringComparison.Ordinal);
        Assert.Null(OAuthCredential.FromUtf8Bytes("not json"u8));
    }

    [Fact]
    public void ToString_CredentialAndConfig_NeverPrintTokensOrSecret()
    {
        var credential = Credential();
        var config = OAuthClientConfig.Parse(new JsonObject
        {
            ["client_id"] = "c",
            ["client_secret"] = "secret-canary",
            ["authorization_endpoint"] = " https://idp.example.com/authorize ",
            ["token_endpoint"] = "https://idp.example.com/token",
            ["no_pkce"] = null,
            ["scopes"] = null,
        });
        var response = new TokenResponse("access-canary", "Bearer", "refresh-canary", 60, null);

        var text = credential + " " + config + " " + response;

        Assert.DoesNotContain("canary", text, StringComparison.Ordinal);
        Assert.Equal("https://idp.example.com/authorize", config.AuthorizationEndpoint); // trimmed, as the grant check compares it
    }

    private static OAuthCredential Credential() => new()
    {
        AccessToken = "access-canary",
        RefreshToken = "refresh-canary",
        TokenType = "Bearer",
        ObtainedAt = Obtained.ToUnixTimeSeconds(),
        ExpiresAt = Obtained.ToUnixTimeSeconds() + 3600,
        Scope = "openid offline_access",
        AuthorizationEndpoint = "https://idp.example.com/authorize",
        TokenEndpoint = "https://idp.example.com/token",
        ClientId = "c",
        ClientSecret = "secret-canary",
        ClientAuth = ClientAuthMethod.ClientSecretBasic,
    };
}
