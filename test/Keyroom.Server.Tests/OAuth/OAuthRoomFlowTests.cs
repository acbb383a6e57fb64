using System.Net;
using System.Text.Json.Nodes;
using Keyroom.Protocol;
using Keyroom.Server.Tests.Rooms;
using Keyroom.Server.Tests.Support;

namespace Keyroom.Server.Tests.OAuth;

/// <summary>
/// The whole OAuth flow through the room protocol (spec §4.3) against the real oidc-provider: a requester
/// asks a user for authorization, the user's side authorizes with the pushed PKCE challenge and provides the
/// code, Keyroom exchanges it and the requester gets the access token; later calls are answered from the
/// stored credential without prompting.
/// </summary>
public sealed class OAuthRoomFlowTests(OAuthFixture fixture) : IClassFixture<OAuthFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private OidcProvider Provider => fixture.Provider;

    private KeyroomTestServer Server => fixture.Server;

    [Fact]
    public async Task RequestOAuthToken_UserAuthorizesWithPushedChallenge_RequesterGetsTokenAndLaterCallsDoNotPrompt()
    {
        var room = RoomTesting.Unique("oauth-room");
        await using var requester = await Server.JoinAsync("agent", room);
        await using var user = await Server.JoinAsync("user", room);
        var oauth = Provider.OAuthConfig(OidcProvider.PostClient, OidcProvider.PostSecret);
        var before = await Provider.GetStatsAsync();

        var pendingReply = requester.SecretsAsync("request_oauth_token", new JsonObject
        {
            ["connector"] = null,
            ["oauth"] = oauth.DeepClone(),
            ["redirect_uri"] = OidcProvider.RedirectUri,
            ["timeout"] = 60,
            ["participant_id"] = user.ParticipantId,
            ["delegate_to"] = null,
        }, Wait);
        var prompt = (await user.NextPushAsync(MessageTypes.RequestOAuthToken, Wait)).Header();
        var challenge = prompt["challenge"]!.GetValue<string>();
        Assert.Null(prompt["request"]!["oauth"]!["client_secret"]); // never forwarded to the user's side
        var code = (await Provider.AuthorizeAsync(OidcProvider.PostClient, challenge, cancellationToken: TestContext.Current.CancellationToken)).RequireCode();
        var provided = await user.SecretsAsync("provide_oauth_authorization", new JsonObject
        {
            ["request_id"] = prompt["request_id"]!.GetValue<string>(),
            ["code"] = code,
            ["error"] = null,
        });
        var reply = await pendingReply;

        Assert.IsType<EmptyContent>(provided);
        var accessToken = Assert.IsType<JsonContent>(reply).Json["access_token"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, await Provider.UserInfoStatusAsync(accessToken));
        Assert.Equal(before.AuthorizationCodeGrants + 1, (await Provider.GetStatsAsync()).AuthorizationCodeGrants);

        var offline = await requester.SecretsAsync("get_offline_oauth_token", new JsonObject
        {
            ["connector"] = null,
            ["oauth"] = oauth.DeepClone(),
            ["delegated_to"] = null,
            ["delegated_by"] = null,
        });
        var again = await requester.SecretsAsync("request_oauth_token", new JsonObject
        {
            ["connector"] = null,
            ["oauth"] = oauth.DeepClone(),
            ["redirect_uri"] = OidcProvider.RedirectUri,
            ["timeout"] = 60,
            ["participant_id"] = user.ParticipantId,
            ["delegate_to"] = null,
        }, Wait);

        Assert.Equal(accessToken, Assert.IsType<JsonContent>(offline).Json["access_token"]!.GetValue<string>());
        Assert.Equal(accessToken, Assert.IsType<JsonContent>(again).Json["access_token"]!.GetValue<string>());
        Assert.DoesNotContain(user.PendingPushes(), m => m.Type == MessageTypes.RequestOAuthToken);
        var after = await Provider.GetStatsAsync();
        Assert.Equal(before.AuthorizationCodeGrants + 1, after.AuthorizationCodeGrants);
        Assert.Equal(before.RefreshGrants, after.RefreshGrants);
        await Server.AssertCanariesAbsentAsync(accessToken, code, OidcProvider.PostSecret);
    }

    [Fact]
    public async Task RequestOAuthToken_ProvidedCodeIsWrong_RequesterGetsErrorWithoutTheCode()
    {
        var room = RoomTesting.Unique("oauth-room");
        await using var requester = await Server.JoinAsync("agent", room);
        await using var user = await Server.JoinAsync("user", room);
        var oauth = Provider.OAuthConfig(OidcProvider.PostClient, OidcProvider.PostSecret);
        var wrongCode = "wrong-" + Guid.NewGuid().ToString("N");

        var pendingReply = requester.SecretsAsync("request_oauth_token", new JsonObject
        {
            ["connector"] = null,
            ["oauth"] = oauth.DeepClone(),
            ["redirect_uri"] = OidcProvider.RedirectUri,
            ["timeout"] = 60,
            ["participant_id"] = user.ParticipantId,
            ["delegate_to"] = null,
        }, Wait);
        var prompt = (await user.NextPushAsync(MessageTypes.RequestOAuthToken, Wait)).Header();
        await user.SecretsAsync("provide_oauth_authorization", new JsonObject
        {
            ["request_id"] = prompt["request_id"]!.GetValue<string>(),
            ["code"] = wrongCode,
            ["error"] = null,
        });
        var reply = await pendingReply;

        var error = Assert.IsType<ErrorContent>(reply);
        Assert.Contains("invalid_grant", error.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(wrongCode, error.Text, StringComparison.Ordinal);
        var offline = await requester.SecretsAsync("get_offline_oauth_token", new JsonObject
        {
            ["connector"] = null,
            ["oauth"] = oauth.DeepClone(),
            ["delegated_to"] = null,
            ["delegated_by"] = null,
        });
        Assert.Null(Assert.IsType<JsonContent>(offline).Json["access_token"]);
        await Server.AssertCanariesAbsentAsync(wrongCode, OidcProvider.PostSecret);
    }
}
