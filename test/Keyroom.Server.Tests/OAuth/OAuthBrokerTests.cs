using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Keyroom.Core;
using Keyroom.Core.Auth;
using Keyroom.Core.Secrets;
using Keyroom.Protocol;
using Keyroom.Server.OAuth;
using Keyroom.Server.Rooms;
using Keyroom.Server.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Keyroom.Server.Tests.OAuth;

/// <summary>
/// The OAuth broker against a real oidc-provider: code exchange, encrypted storage, expiry, single-flight
/// refresh with rotating refresh tokens, revocation, client authentication methods and the outbound guard.
/// Keyroom's clock is a <see cref="ManualTimeProvider"/>; the provider's access tokens live 300 s.
/// </summary>
public sealed class OAuthBrokerTests(OAuthFixture fixture) : IClassFixture<OAuthFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private OidcProvider Provider => fixture.Provider;

    private KeyroomTestServer Server => fixture.Server;

    [Fact]
    public void CreatePkce_Called_ReturnsRandomVerifierWithS256Challenge()
    {
        var (broker, _) = NewBroker();

        var first = broker.CreatePkce();
        var second = broker.CreatePkce();

        Assert.Equal(43, first.Verifier.Length); // 32 bytes, base64url without padding
        Assert.All(first.Verifier, c => Assert.True(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'));
        Assert.Equal(Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(first.Verifier))), first.Challenge);
        Assert.NotEqual(first.Verifier, second.Verifier);
    }

    [Fact]
    public async Task ExchangeCode_ValidCode_StoresEncryptedCredentialAndReturnsWorkingToken()
    {
        var (broker, clock) = NewBroker();
        var room = OAuthCallers.UniqueRoom();
        var alice = Caller("alice", room);
        var request = Request(room, "alice", Provider.OAuthConfig(OidcProvider.PostClient, OidcProvider.PostSecret), delegatedTo: "agent-1");
        var before = await Provider.GetStatsAsync();

        var (accessToken, code, verifier) = await AuthorizeAndExchangeAsync(broker, alice, request, OidcProvider.PostClient);

        Assert.Equal(HttpStatusCode.OK, await Provider.UserInfoStatusAsync(accessToken));
        Assert.Equal(before.AuthorizationCodeGrants + 1, (await Provider.GetStatsAsync()).AuthorizationCodeGrants);
        var (info, credential) = await ReadStoredAsync(alice, request);
        Assert.Equal("application/vnd.keyroom.oauth-credential+json", info.Type);
        Assert.Equal("alice", info.Key.Owner);
        Assert.Equal("agent-1", info.Key.DelegatedTo);
        Assert.Equal(SecretKey.RoomScope(room), info.Key.Scope);
        Assert.Matches("^oauth:[0-9a-f]{64}$", info.Key.Id);
        Assert.Equal(accessToken, credential.AccessToken);
        Assert.NotNull(credential.RefreshToken);
        Assert.Equal(OidcProvider.PostSecret, credential.ClientSecret);
        Assert.Equal(ClientAuthMethod.ClientSecretPost, credential.ClientAuth);
        Assert.Equal(clock.GetUtcNow().ToUnixTimeSeconds() + 300, credential.ExpiresAt);
        Assert.Contains("offline_access", credential.Scope, StringComparison.Ordinal);
        await Server.AssertCanariesAbsentAsync(accessToken, credential.RefreshToken, code, verifier, OidcProvider.PostSecret);
    }

    [Fact]
    public async Task GetStoredAccessToken_FreshCredential_ReturnsItWithoutCallingProvider()
    {
        var (broker, clock) = NewBroker();
        var room = OAuthCallers.UniqueRoom();
        var alice = Caller("alice", room);
        var request = Request(room, "alice", Provider.OAuthConfig(OidcProvider.PostClient, OidcProvider.PostSecret));
        var (accessToken, _, _) = await AuthorizeAndExchangeAsync(broker, alice, request, OidcProvider.PostClient);
        var before = await Provider.GetStatsAsync();

        clock.Advance(TimeSpan.FromSeconds(200));
        var stored = await broker.GetStoredAccessTokenAsync(alice, request, Ct);

        Assert.Equal(accessToken, stored);
        Assert.Equal(before, await Provider.GetStatsAsync(), ProviderStatsComparer.Instance);
    }

    [Fact]
    public async Task GetStoredAccessToken_NothingStoredForThatOwnerOrDelegation_ReturnsNull()
    {
        var (broker, _) = NewBroker();
        var room = OAuthCallers.UniqueRoom();
        var alice = Caller("alice", room);
        var oauth = Provider.OAuthConfig(OidcProvider.PostClient, OidcProvider.PostSecret);
        await AuthorizeAndExchangeAsync(broker, alice, Request(room, "alice", oauth, delegatedTo: "agent-1"), OidcProvider.PostClient);

        Assert.Null(await broker.GetStoredAccessTokenAsync(alice, Request(room, "alice", oauth), Ct));
        Assert.Null(await broker.GetStoredAccessTokenAsync(alice, Request(room, "alice", oauth, delegatedTo: "agent-2"), Ct));
        Assert.Null(await broker.GetStoredAccessTokenAsync(Caller("bob", room), Request(room, "bob", oauth, delegatedTo: "agent-1"), Ct));
        Assert.Null(await broker.GetStoredAccessTokenAsync(alice, Request(room, "alice", Provider.OAuthConfig(OidcProvider.BasicClient, OidcProvider.BasicSecret), delegatedTo: "agent-1"), Ct));
        Assert.NotNull(await broker.GetStoredAccessTokenAsync(alice, Request(room, "alice", oauth, delegatedTo: "agent-1"), Ct));
    }

    [Fact]
    public async Task GetStoredAccessToken_WithinSixtySecondsOfExpiry_RefreshesOnceAndKeepsRotatedRefreshToken()
    {
        var (broker, clock) = NewBroker();
        var room = OAuthCallers.UniqueRoom();
        var alice = Caller("alice", room);
        var request = Request(room, "alice", Provider.OAuthConfig(OidcProvider.PostClient, OidcProvider.PostSecret));
        var (firstToken, _, _) = await AuthorizeAndExchangeAsync(broker, alice, request, OidcProvider.PostClient);
        var (_, firstCredential) = await ReadStoredAsync(alice, request);
        var before = await Provider.GetStatsAsync();

        clock.Advance(TimeSpan.FromSeconds(239)); // 61 s left: still handed out as is
        Assert.Equal(firstToken, await broker.GetStoredAccessTokenAsync(alice, request, Ct));
        Assert.Equal(before.RefreshGrants, (await Provider.GetStatsAsync()).RefreshGrants);

        clock.Advance(TimeSpan.FromSeconds(2)); // 59 s left: refreshed
        var refreshed = await broker.GetStoredAccessTokenAsync(alice, request, Ct);
        var again = await broker.GetStoredAccessTokenAsync(alice, request, Ct);

        var after = await Provider.GetStatsAsync();
        Assert.NotNull(refreshed);
        Assert.NotEqual(firstToken, refreshed);
        Assert.Equal(refreshed, again);
        Assert.Equal(before.RefreshGrants + 1, after.RefreshGrants);
        Assert.Equal(before.Revoked, after.Revoked);
        Assert.Equal(HttpStatusCode.OK, await Provider.UserInfoStatusAsync(refreshed));
        var (_, stored) = await ReadStoredAsync(alice, request);
        Assert.Equal(refreshed, stored.AccessToken);
        Assert.NotEqual(firstCredential.RefreshToken, stored.RefreshToken); // the provider rotates; the new one is kept
        Assert.Equal(clock.GetUtcNow().ToUnixTimeSeconds() + 300, stored.ExpiresAt);
        await Server.AssertCanariesAbsentAsync(firstToken, refreshed, firstCredential.RefreshToken!, stored.RefreshToken!);
    }

    [Fact]
    public async Task GetStoredAccessToken_TenConcurrentCallersAfterExpiry_RefreshExactlyOnce()
    {
        var (broker, clock) = NewBroker();
        var room = OAuthCallers.UniqueRoom();
        var alice = Caller("alice", room);
        var request = Request(room, "alice", Provider.OAuthConfig(OidcProvider.PostClient, OidcProvider.PostSecret));
        var (firstToken, _, _) = await AuthorizeAndExchangeAsync(broker, alice, request, OidcProvider.PostClient);
        var before = await Provider.GetStatsAsync();
        clock.Advance(TimeSpan.FromSeconds(301));

        using var go = new ManualResetEventSlim();
        var callers = Enumerable.Range(0, 10)
            .Select(_ => Task.Run(async () =>
            {
                go.Wait(Ct);
                return await broker.GetStoredAccessTokenAsync(alice, request, Ct);
            }, Ct))
            .ToArray();
        go.Set();
        var tokens = await Task.WhenAll(callers);

        var after = await Provider.GetStatsAsync();
        TestContext.Current.TestOutputHelper?.WriteLine($"refresh grants seen by the provider: {after.RefreshGrants - before.RefreshGrants}, grants revoked: {after.Revoked - before.Revoked}");
        Assert.Equal(1, after.RefreshGrants - before.RefreshGrants);
        Assert.Equal(before.Revoked, after.Revoked);
        Assert.Equal(before.Errors.Values.Sum(), after.Errors.Values.Sum());
        Assert.Single(tokens.Distinct());
        Assert.NotEqual(firstToken, tokens[0]);
        Assert.Equal(HttpStatusCode.OK, await Provider.UserInfoStatusAsync(tokens[0]!)); // the grant survived
        Assert.Equal(0, broker.ActiveLocks);
        await Server.AssertCanariesAbsentAsync(firstToken, tokens[0]!);
    }

    [Fact]
    public async Task GetStoredAccessToken_RefreshTokenAlreadySpent_DeletesCredentialAndReturnsNull()
    {
        var (broker, clock) = NewBroker();
        var room = OAuthCallers.UniqueRoom();
        var alice = Caller("alice", room);
        var request = Request(room, "alice", Provider.OAuthConfig(OidcProvider.PostClient, OidcProvider.PostSecret));
        await AuthorizeAndExchangeAsync(broker, alice, request, OidcProvider.PostClient);
        var (_, credential) = await ReadStoredAsync(alice, request);
        // Someone else spends the refresh token first: the provider rotates it, so Keyroom's copy is stale.
        var elsewhere = await Provider.PostTokenAsync(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = credential.RefreshToken!,
            ["client_id"] = OidcProvider.PostClient,
            ["client_secret"] = OidcProvider.PostSecret,
        });
        Assert.NotNull(elsewhere["access_token"]);
        var before = await Provider.GetStatsAsync();
        clock.Advance(TimeSpan.FromSeconds(301));

        var token = await broker.GetStoredAccessTokenAsync(alice, request, Ct);

        var after = await Provider.GetStatsAsync();
        Assert.Null(token);
        Assert.Equal(before.ErrorCount("refresh_token:invalid_grant") + 1, after.ErrorCount("refresh_token:invalid_grant"));
        Assert.Equal(before.Revoked + 1, after.Revoked); // reuse of a rotated refresh token revokes the grant
        var key = OAuthClientConfig.Parse(request.Oauth).CredentialKey(request);
        var missing = await Assert.ThrowsAsync<KeyroomException>(() => Secrets.ReadAsync(alice, key, null, Ct));
        Assert.Equal(KeyroomError.NotFound, missing.Error);
        Assert.Contains(Server.Logs.Lines, l => l.Contains("[4104]", StringComparison.Ordinal) && l.Contains("invalid_grant", StringComparison.Ordinal));
        Assert.Null(await broker.GetStoredAccessTokenAsync(alice, request, Ct));
        await Server.AssertCanariesAbsentAsync(credential.RefreshToken!, credential.AccessToken, elsewhere["refresh_token"]!.GetValue<string>());
    }

    [Fact]
    public async Task ExchangeCode_WrongCode_ThrowsInvalidRequestNamingOnlyTheOAuthError()
    {
        var (broker, _) = NewBroker();
        var room = OAuthCallers.UniqueRoom();
        var alice = Caller("alice", room);
        var request = Request(room, "alice", Provider.OAuthConfig(OidcProvider.PostClient, OidcProvider.PostSecret));
        var wrongCode = "wrong-code-" + Guid.NewGuid().ToString("N");
        var verifier = broker.CreatePkce().Verifier;

        var error = await Assert.ThrowsAsync<KeyroomException>(() => broker.ExchangeCodeAsync(alice, request, wrongCode, verifier, Ct));

        Assert.Equal(KeyroomError.InvalidRequest, error.Error);
        Assert.Contains("invalid_grant", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrongCode, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(verifier, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(OidcProvider.PostSecret, error.ToString(), StringComparison.Ordinal);
        Assert.Null(await broker.GetStoredAccessTokenAsync(alice, request, Ct));
        Assert.Contains(Server.Logs.Lines, l => l.Contains("[4102]", StringComparison.Ordinal) && l.Contains("127.0.0.1", StringComparison.Ordinal));
        await Server.AssertCanariesAbsentAsync(wrongCode, verifier, OidcProvider.PostSecret);
    }

    [Fact]
    public async Task ExchangeCode_VerifierDoesNotMatchChallenge_ThrowsInvalidGrant()
    {
        var (broker, _) = NewBroker();
        var room = OAuthCallers.UniqueRoom();
        var alice = Caller("alice", room);
        var request = Request(room, "alice", Provider.OAuthConfig(OidcProvider.PostClient, OidcProvider.PostSecret));
        var code = (await Provider.AuthorizeAsync(OidcProvider.PostClient, broker.CreatePkce().Challenge, cancellationToken: Ct)).RequireCode();

        var error = await Assert.ThrowsAsync<KeyroomException>(() => broker.ExchangeCodeAsync(alice, request, code, broker.CreatePkce().Verifier, Ct));

        Assert.Equal(KeyroomError.InvalidRequest, error.Error);
        Assert.Contains("invalid_grant", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(code, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExchangeCode_EndpointAcceptsOnlyBasicAuth_FallsBackToBasicOnceAndRefreshesWithIt()
    {
        var (broker, clock) = NewBroker();
        var room = OAuthCallers.UniqueRoom();
        var alice = Caller("alice", room);
        var oauth = Provider.OAuthConfig(OidcProvider.BasicClient, OidcProvider.BasicSecret);
        oauth["token_endpoint"] = Provider.BasicOnlyTokenEndpoint;
        var request = Request(room, "alice", oauth);
        var before = await Provider.GetStatsAsync();

        var (accessToken, _, _) = await AuthorizeAndExchangeAsync(broker, alice, request, OidcProvider.BasicClient);
        var afterExchange = await Provider.GetStatsAsync();
        clock.Advance(TimeSpan.FromSeconds(301));
        var refreshed = await broker.GetStoredAccessTokenAsync(alice, request, Ct);
        var afterRefresh = await Provider.GetStatsAsync();

        Assert.Equal(HttpStatusCode.OK, await Provider.UserInfoStatusAsync(accessToken));
        Assert.Equal(before.BasicOnlyRejections + 1, afterExchange.BasicOnlyRejections); // client_secret_post first, then basic
        Assert.Equal(before.AuthorizationCodeGrants + 1, afterExchange.AuthorizationCodeGrants);
        var (_, credential) = await ReadStoredAsync(alice, request);
        Assert.Equal(ClientAuthMethod.ClientSecretBasic, credential.ClientAuth);
        Assert.NotNull(refreshed);
        Assert.Equal(afterExchange.RefreshGrants + 1, afterRefresh.RefreshGrants);
        Assert.Equal(afterExchange.BasicOnlyRejections, afterRefresh.BasicOnlyRejections); // remembered: basic straight away
        Assert.Equal(HttpStatusCode.OK, await Provider.UserInfoStatusAsync(refreshed));
        await Server.AssertCanariesAbsentAsync(accessToken, refreshed, OidcProvider.BasicSecret);
    }

    [Fact]
    public async Task ExchangeCode_PublicClient_ExchangesAndRefreshesWithoutSecret()
    {
        var (broker, clock) = NewBroker();
        var room = OAuthCallers.UniqueRoom();
        var alice = Caller("alice", room);
        var request = Request(room, "alice", Provider.OAuthConfig(OidcProvider.PublicClient, clientSecret: null));

        var (accessToken, _, _) = await AuthorizeAndExchangeAsync(broker, alice, request, OidcProvider.PublicClient);
        clock.Advance(TimeSpan.FromSeconds(301));
        var refreshed = await broker.GetStoredAccessTokenAsync(alice, request, Ct);

        var (_, credential) = await ReadStoredAsync(alice, request);
        Assert.Equal(ClientAuthMethod.None, credential.ClientAuth);
        Assert.Null(credential.ClientSecret);
        Assert.NotNull(refreshed);
        Assert.NotEqual(accessToken, refreshed);
        Assert.Equal(HttpStatusCode.OK, await Provider.UserInfoStatusAsync(refreshed));
    }

    [Fact]
    public async Task ExchangeCode_OwnerIsSomeoneElseAndCallerIsNotAdmin_DeniedBeforeTheCodeIsSpent()
    {
        var (broker, _) = NewBroker();
        var room = OAuthCallers.UniqueRoom();
        var oauth = Provider.OAuthConfig(OidcProvider.PostClient, OidcProvider.PostSecret);
        var pkce = broker.CreatePkce();
        var code = (await Provider.AuthorizeAsync(OidcProvider.PostClient, pkce.Challenge, cancellationToken: Ct)).RequireCode();
        var before = await Provider.GetStatsAsync();

        var denied = await Assert.ThrowsAsync<KeyroomException>(() => broker.ExchangeCodeAsync(Caller("mallory", room), Request(room, "bob", oauth), code, pkce.Verifier, Ct));

        Assert.Equal(KeyroomError.PermissionDenied, denied.Error);
        Assert.Equal(before.AuthorizationCodeGrants, (await Provider.GetStatsAsync()).AuthorizationCodeGrants);
        // An admin may act for bob, and the code is still unspent.
        var token = await broker.ExchangeCodeAsync(Caller("admin", room, admin: true), Request(room, "bob", oauth), code, pkce.Verifier, Ct);
        Assert.Equal(token, await broker.GetStoredAccessTokenAsync(Caller("bob", room), Request(room, "bob", oauth), Ct));
        var readDenied = await Assert.ThrowsAsync<KeyroomException>(() => broker.GetStoredAccessTokenAsync(Caller("mallory", room), Request(room, "bob", oauth), Ct));
        Assert.Equal(KeyroomError.PermissionDenied, readDenied.Error);
    }

    [Fact]
    public async Task ExchangeCode_HttpEndpointWithoutInsecureFlag_RefusedWithoutContactingProvider()
    {
        var options = Options.Create(new OAuthOptions { AllowInsecureHttp = false });
        var guard = new OutboundGuard(options);
        var endpoint = ActivatorUtilities.CreateInstance<TokenEndpoint>(Server.Services, guard, options);
        var broker = ActivatorUtilities.CreateInstance<OAuthBroker>(Server.Services, endpoint, new ManualTimeProvider());
        var room = OAuthCallers.UniqueRoom();
        var request = Request(room, "alice", Provider.OAuthConfig(OidcProvider.PostClient, OidcProvider.PostSecret));
        var before = await Provider.GetStatsAsync();

        var error = await Assert.ThrowsAsync<KeyroomException>(() => broker.ExchangeCodeAsync(Caller("alice", room), request, "some-code", null, Ct));

        Assert.Equal(KeyroomError.InvalidRequest, error.Error);
        Assert.Contains("https", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, await Provider.GetStatsAsync(), ProviderStatsComparer.Instance);
        Assert.Contains(Server.Logs.Lines, l => l.Contains("[4107]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ExchangeCode_NothingListensAtTokenEndpoint_ThrowsUnavailable()
    {
        var (broker, _) = NewBroker();
        var room = OAuthCallers.UniqueRoom();
        var oauth = Provider.OAuthConfig(OidcProvider.PostClient, OidcProvider.PostSecret);
        oauth["token_endpoint"] = "http://127.0.0.1:1/token";

        var error = await Assert.ThrowsAsync<KeyroomException>(() => broker.ExchangeCodeAsync(Caller("alice", room), Request(room, "alice", oauth), "some-code", null, Ct));

        // The provider being down is not the caller's mistake: OPERATION_FAILED (1008) in the room, 502 on REST.
        Assert.Equal(KeyroomError.Unavailable, error.Error);
        Assert.Equal(ErrorCodes.OperationFailed, RoomErrors.CodeFor(error.Error));
        Assert.Contains("failed", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("some-code", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExchangeCode_TokenEndpointNeverAnswers_ThrowsTimeoutAfterConfiguredSeconds()
    {
        await using var server = await KeyroomTestServer.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Keyroom:OAuth:AllowInsecureHttp"] = "true",
            ["Keyroom:OAuth:TimeoutSeconds"] = "1",
        });
        using var silent = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        silent.Start(); // accepts connections (backlog) and never answers
        var room = OAuthCallers.UniqueRoom();
        var oauth = Provider.OAuthConfig(OidcProvider.PostClient, OidcProvider.PostSecret);
        oauth["token_endpoint"] = $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/token";
        var broker = server.Services.GetRequiredService<IOAuthBroker>();
        var request = new OAuthTokenRequest(server.ProjectId, room, "alice", string.Empty, oauth, null, OidcProvider.RedirectUri);
        var started = TimeProvider.System.GetTimestamp();

        var error = await Assert.ThrowsAsync<KeyroomException>(() => broker.ExchangeCodeAsync(OAuthCallers.Participant(server.ProjectId, "alice", room), request, "some-code", null, Ct));

        Assert.Equal(KeyroomError.Timeout, error.Error);
        Assert.Contains("1 s", error.Message, StringComparison.Ordinal);
        Assert.InRange(TimeProvider.System.GetElapsedTime(started), TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task GetStoredAccessToken_TokenEndpointChanged_NeverSendsStoredRefreshTokenThere()
    {
        var (broker, clock) = NewBroker();
        var room = OAuthCallers.UniqueRoom();
        var alice = Caller("alice", room);
        var request = Request(room, "alice", Provider.OAuthConfig(OidcProvider.PostClient, OidcProvider.PostSecret));
        await AuthorizeAndExchangeAsync(broker, alice, request, OidcProvider.PostClient);
        var moved = request.Oauth.Clone();
        moved["token_endpoint"] = Provider.Issuer + "/elsewhere/token";
        clock.Advance(TimeSpan.FromSeconds(301));
        var before = await Provider.GetStatsAsync();

        var token = await broker.GetStoredAccessTokenAsync(alice, request with { Oauth = moved }, Ct);

        Assert.Null(token);
        Assert.Equal(before, await Provider.GetStatsAsync(), ProviderStatsComparer.Instance);
        Assert.NotNull(await broker.GetStoredAccessTokenAsync(alice, request, Ct)); // the original still refreshes
    }

    [Theory]
    [InlineData("{\"client_id\":\"c\",\"authorization_endpoint\":\"https://a/\"}", "oauth.token_endpoint")]
    [InlineData("{\"client_id\":\"\",\"authorization_endpoint\":\"https://a/\",\"token_endpoint\":\"https://a/t\"}", "oauth.client_id")]
    [InlineData("{\"client_id\":\"c\",\"authorization_endpoint\":\"not a url\",\"token_endpoint\":\"https://a/t\"}", "oauth.authorization_endpoint")]
    [InlineData("{\"client_id\":\"c\",\"authorization_endpoint\":\"https://a/\",\"token_endpoint\":\"https://a/t\",\"scopes\":[1]}", "oauth.scopes")]
    [InlineData("{\"client_id\":\"c\",\"authorization_endpoint\":\"https://a/\",\"token_endpoint\":\"https://a/t\",\"no_pkce\":\"yes\"}", "oauth.no_pkce")]
    [InlineData("{\"client_id\":7,\"authorization_endpoint\":\"https://a/\",\"token_endpoint\":\"https://a/t\"}", "oauth.client_id")]
    public async Task GetStoredAccessToken_MalformedOAuthConfig_ThrowsInvalidRequestNamingTheField(string oauth, string field)
    {
        var (broker, _) = NewBroker();
        var room = OAuthCallers.UniqueRoom();

        var error = await Assert.ThrowsAsync<KeyroomException>(() => broker.GetStoredAccessTokenAsync(Caller("alice", room), Request(room, "alice", JsonNode.Parse(oauth)!.AsObject()), Ct));

        Assert.Equal(KeyroomError.InvalidRequest, error.Error);
        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetStoredAccessToken_ProviderTokenReallyExpired_RefreshesWithTheSystemClock()
    {
        await using var shortLived = await OidcProvider.StartAsync(accessTokenTtlSeconds: 2);
        var broker = (OAuthBroker)Server.Services.GetRequiredService<IOAuthBroker>();
        var room = OAuthCallers.UniqueRoom();
        var alice = Caller("alice", room);
        var request = Request(room, "alice", shortLived.OAuthConfig(OidcProvider.PostClient, OidcProvider.PostSecret));
        var pkce = broker.CreatePkce();
        var code = (await shortLived.AuthorizeAsync(OidcProvider.PostClient, pkce.Challenge, cancellationToken: Ct)).RequireCode();
        var first = await broker.ExchangeCodeAsync(alice, request, code, pkce.Verifier, Ct);

        await Task.Delay(TimeSpan.FromSeconds(2.5), Ct);
        var refreshed = await broker.GetStoredAccessTokenAsync(alice, request, Ct);

        Assert.NotNull(refreshed);
        Assert.NotEqual(first, refreshed);
        Assert.Equal(HttpStatusCode.Unauthorized, await shortLived.UserInfoStatusAsync(first));
        Assert.Equal(HttpStatusCode.OK, await shortLived.UserInfoStatusAsync(refreshed));
        Assert.Equal(1, (await shortLived.GetStatsAsync()).RefreshGrants);
    }

    [Fact]
    public void Server_Started_UsesTheBrokerFromAddOAuth()
    {
        Assert.IsType<OAuthBroker>(Server.Services.GetRequiredService<IOAuthBroker>());
    }

    private SecretService Secrets => Server.Services.GetRequiredService<SecretService>();

    private (OAuthBroker Broker, ManualTimeProvider Clock) NewBroker()
    {
        var clock = new ManualTimeProvider();
        return (ActivatorUtilities.CreateInstance<OAuthBroker>(Server.Services, (TimeProvider)clock), clock);
    }

    private Principal Caller(string identity, string room, bool admin = false) => OAuthCallers.Participant(Server.ProjectId, identity, room, admin);

    private OAuthTokenRequest Request(string room, string owner, JsonObject oauth, string delegatedTo = "") =>
        new(Server.ProjectId, room, owner, delegatedTo, oauth, Connector: null, OidcProvider.RedirectUri);

    private async Task<(string AccessToken, string Code, string Verifier)> AuthorizeAndExchangeAsync(OAuthBroker broker, Principal caller, OAuthTokenRequest request, string clientId)
    {
        var pkce = broker.CreatePkce();
        var code = (await Provider.AuthorizeAsync(clientId, pkce.Challenge, cancellationToken: Ct)).RequireCode();
        var token = await broker.ExchangeCodeAsync(caller, request, code, pkce.Verifier, Ct);
        return (token, code, pkce.Verifier);
    }

    private async Task<(SecretInfo Info, OAuthCredential Credential)> ReadStoredAsync(Principal caller, OAuthTokenRequest request)
    {
        var key = OAuthClientConfig.Parse(request.Oauth).CredentialKey(request);
        var stored = await Secrets.ReadAsync(caller, key, null, Ct);
        return (stored.Info, OAuthCredential.FromUtf8Bytes(stored.Value)!);
    }

    private sealed class ProviderStatsComparer : IEqualityComparer<ProviderStats>
    {
        public static ProviderStatsComparer Instance { get; } = new();

        public bool Equals(ProviderStats? x, ProviderStats? y) =>
            x is not null && y is not null
            && x.AuthorizationCodeGrants == y.AuthorizationCodeGrants
            && x.RefreshGrants == y.RefreshGrants
            && x.Revoked == y.Revoked
            && x.BasicOnlyRejections == y.BasicOnlyRejections
            && x.Errors.Values.Sum() == y.Errors.Values.Sum();

        public int GetHashCode(ProviderStats obj) => obj.RefreshGrants;
    }
}
