using System.Text.Json.Nodes;
using Keyroom.Server.OAuth;

namespace Keyroom.Server.Tests.OAuth;

public sealed class OAuthRecordsTests
{
    [Fact]
    public void ToString_RequestAndPkce_NeverPrintSecrets()
    {
        var oauth = new JsonObject { ["client_id"] = "cid", ["client_secret"] = "canary-client-secret-7f3a" };
        var request = new OAuthTokenRequest("p", "room", "alice", string.Empty, oauth, null, "https://app/cb");
        var pkce = new PkcePair("canary-verifier-19bd", "challenge");

        Assert.DoesNotContain("canary-client-secret-7f3a", request.ToString(), StringComparison.Ordinal);
        Assert.Contains("alice", request.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("canary-verifier-19bd", pkce.ToString(), StringComparison.Ordinal);
    }
}
