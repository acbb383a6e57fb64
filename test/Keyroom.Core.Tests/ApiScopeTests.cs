using System.Text.Json.Nodes;
using Keyroom.Core.Auth;

namespace Keyroom.Core.Tests;

public sealed class ApiScopeTests
{
    // examples/jwt-participant-token.json "api_scope_restricted_example".secrets
    private const string AllowListExample = """{"secrets":{"request_oauth_token":[{"endpoint":"https://github.com/login/oauth/*","client_id":"Iv1.abc"}]}}""";

    private static ApiScope Parse(string json) => ApiScope.FromJson(JsonNode.Parse(json)!.AsObject());

    private static string[] Keys(ApiScope scope) => [.. scope.Json.Select(p => p.Key).Order(StringComparer.Ordinal)];

    [Fact]
    public void Presets_MatchTheSpecExamples()
    {
        string[] agent = ["agents", "containers", "dataset", "developer", "livekit", "llm", "memory", "messaging", "queues", "secrets", "services", "storage", "sync"];
        Assert.Equal(agent, Keys(ApiScope.AgentDefault()));
        Assert.Equal(agent.Where(k => k != "llm"), Keys(ApiScope.UserDefault()));
        Assert.Equal(agent.Append("admin").Append("tunnels").Order(StringComparer.Ordinal), Keys(ApiScope.Full()));
        Assert.All(ApiScope.Full().Json, p => Assert.Equal("{}", p.Value!.ToJsonString()));
        Assert.Equal(
            """{"livekit":{},"queues":{},"messaging":{},"dataset":{},"memory":{},"sync":{},"storage":{},"containers":{},"developer":{},"agents":{},"llm":{},"secrets":{},"services":{}}""",
            ApiScope.AgentDefault().Json.ToJsonString());
    }

    [Theory]
    [InlineData("""{"admin":{}}""", true)]
    [InlineData("""{"admin":{"config":false}}""", true)]
    [InlineData("""{"admin":true}""", true)]
    [InlineData("""{"admin":"yes"}""", true)]
    [InlineData("""{"admin":1}""", true)]
    [InlineData("""{"admin":[]}""", true)]
    [InlineData("""{"admin":null}""", false)]
    [InlineData("""{"admin":false}""", false)]
    [InlineData("""{"admin":""}""", false)]
    [InlineData("""{"admin":0}""", false)]
    [InlineData("""{}""", false)]
    public void IsAdmin_FollowsJavaScriptTruthiness(string json, bool expected)
    {
        Assert.Equal(expected, Parse(json).IsAdmin);
    }

    [Theory]
    [InlineData("""{"secrets":{}}""", true)]
    [InlineData("""{"secrets":null}""", false)]
    [InlineData("""{"secrets":false}""", false)]
    [InlineData("""{}""", false)]
    public void Secrets_PresentOnlyWhenTruthyObject(string json, bool expected)
    {
        Assert.Equal(expected, Parse(json).Secrets is not null);
    }

    [Theory]
    [InlineData("""{"services":{}}""", true)]
    [InlineData("""{"services":{"list":true}}""", true)]
    [InlineData("""{"services":{"list":false}}""", false)]
    [InlineData("""{"services":{"list":"false"}}""", true)] // not a boolean: the default applies
    [InlineData("""{"services":null}""", false)]
    [InlineData("""{}""", false)]
    public void CanListServices_MissingFlagMeansDefaultTrue(string json, bool expected)
    {
        Assert.Equal(expected, Parse(json).CanListServices);
    }

    [Fact]
    public void HasMessaging_EmptyObjectGrantsIt()
    {
        Assert.True(Parse("""{"messaging":{}}""").HasMessaging);
        Assert.False(Parse("""{"queues":{}}""").HasMessaging);
    }

    [Fact]
    public void Without_RemovesOneCapability_AndLeavesTheOriginal()
    {
        var full = ApiScope.Full();
        var noSecrets = full.Without("secrets");
        Assert.Null(noSecrets.Secrets);
        Assert.NotNull(full.Secrets);
        Assert.True(noSecrets.IsAdmin);
    }

    [Fact]
    public void FromJson_UnknownFields_RoundTrip()
    {
        const string json = """{"secrets":{"future_flag":true},"brand_new":{"x":[1,2]}}""";
        Assert.Equal(json, Parse(json).Json.ToJsonString());
    }

    [Theory]
    [InlineData("https://github.com/login/oauth/authorize", "Iv1.abc", true)]
    [InlineData("https://github.com/login/oauth/", "Iv1.abc", true)]
    [InlineData("  https://github.com/login/oauth/authorize\t", " Iv1.abc ", true)] // trimmed
    [InlineData("https://github.com/login/oauth/authorize", "Iv1.ABC", false)] // client id is exact
    [InlineData("https://github.com/login/oauth/authorize", "Iv1.abcd", false)]
    [InlineData("https://github.com/login/oauth", "Iv1.abc", false)] // shorter than the prefix
    [InlineData("https://gitlab.com/oauth/authorize", "Iv1.abc", false)]
    [InlineData("HTTPS://github.com/login/oauth/authorize", "Iv1.abc", false)] // case-sensitive
    [InlineData("", "Iv1.abc", false)]
    [InlineData("   ", "Iv1.abc", false)]
    [InlineData("https://github.com/login/oauth/authorize", "", false)]
    [InlineData("https://github.com/login/oauth/authorize", null, false)]
    [InlineData(null, null, false)]
    public void CanRequestOAuthToken_AllowListExample(string? endpoint, string? clientId, bool expected)
    {
        Assert.Equal(expected, Parse(AllowListExample).Secrets!.CanRequestOAuthToken(endpoint, clientId));
    }

    [Theory]
    [InlineData("https://anything.example/authorize", "any")]
    [InlineData("", "")]
    [InlineData(null, null)]
    public void CanRequestOAuthToken_NoAllowList_AllowsEverything(string? endpoint, string? clientId)
    {
        Assert.True(Parse("""{"secrets":{}}""").Secrets!.CanRequestOAuthToken(endpoint, clientId));
    }

    [Fact]
    public void CanRequestOAuthToken_EmptyAllowList_AllowsNothing()
    {
        Assert.False(Parse("""{"secrets":{"request_oauth_token":[]}}""").Secrets!.CanRequestOAuthToken("https://a/b", "c"));
    }

    [Fact]
    public void CanRequestOAuthToken_ExactEndpointAndCamelCaseFields()
    {
        var grant = Parse("""{"secrets":{"requestOauthToken":[{"endpoint":"https://idp.example/authorize","clientId":"app-1"}]}}""").Secrets!;
        Assert.True(grant.CanRequestOAuthToken("https://idp.example/authorize", "app-1"));
        Assert.False(grant.CanRequestOAuthToken("https://idp.example/authorize/extra", "app-1"));
        Assert.False(grant.CanRequestOAuthToken("https://idp.example/authorize", "app-2"));
    }

    [Fact]
    public void CanRequestOAuthToken_AnyMatchingEntryAllows()
    {
        var grant = Parse("""
            {"secrets":{"request_oauth_token":[
              {"endpoint":"https://a.example/*","client_id":"one"},
              {"endpoint":"https://b.example/auth","client_id":"two"}]}}
            """).Secrets!;
        Assert.True(grant.CanRequestOAuthToken("https://b.example/auth", "two"));
        Assert.True(grant.CanRequestOAuthToken("https://a.example/x", "one"));
        Assert.False(grant.CanRequestOAuthToken("https://a.example/x", "two"));
    }

    [Theory]
    [InlineData("abc", "abc", true)]
    [InlineData("abc", "abcd", false)]
    [InlineData("abc", "ab", false)]
    [InlineData("abc*", "abc", true)]
    [InlineData("abc*", "abcdef", true)]
    [InlineData("abc*", "ab", false)]
    [InlineData("*", "", true)]
    [InlineData("*", "anything", true)]
    [InlineData("a*c", "abc", false)] // only a trailing '*' is a wildcard
    [InlineData("a*c", "a*c", true)]
    [InlineData("ABC*", "abc", false)]
    [InlineData("", "", true)]
    [InlineData("", "x", false)]
    public void GrantPattern_Matches(string pattern, string value, bool expected)
    {
        Assert.Equal(expected, GrantPattern.Matches(pattern, value));
    }
}
