using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Keyroom.Protocol;
using Keyroom.Server.Tests.Support;

namespace Keyroom.Server.Tests.Rooms;

/// <summary>A server allowed to call token endpoints on http://127.0.0.1 (tests only).</summary>
public sealed class InsecureOAuthFixture : RoomsFixture
{
    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?> { ["Keyroom:OAuth:AllowInsecureHttp"] = "true" };
}

/// <summary>The room side of request_oauth_token end to end, against a local token endpoint.</summary>
public sealed class RoomOAuthTests : IClassFixture<InsecureOAuthFixture>
{
    private readonly InsecureOAuthFixture _fixture;

    public RoomOAuthTests(InsecureOAuthFixture fixture)
    {
        _fixture = fixture;
    }

    private KeyroomTestServer Server => _fixture.Server;

    [Fact]
    public async Task RequestOAuthToken_CodeProvided_ExchangedWithTheVerifierAndServedOfflineAfterwards()
    {
        await using var endpoint = await TokenEndpoint.StartAsync("at-" + Guid.NewGuid().ToString("N"));
        var room = RoomTesting.Unique("oauth");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);
        var oauth = new JsonObject
        {
            ["client_id"] = "cid-" + Guid.NewGuid().ToString("N"),
            ["client_secret"] = "the-client-secret",
            ["authorization_endpoint"] = "https://auth.example/" + Guid.NewGuid().ToString("N"),
            ["token_endpoint"] = endpoint.Url,
            ["no_pkce"] = null,
            ["scopes"] = new JsonArray("repo"),
        };
        JsonObject Input() => new()
        {
            ["connector"] = null,
            ["oauth"] = oauth.DeepClone(),
            ["redirect_uri"] = "https://app.example/callback",
            ["timeout"] = 10,
            ["participant_id"] = bob.ParticipantId,
            ["delegate_to"] = null,
        };

        var requested = alice.SecretsAsync("request_oauth_token", Input());
        var prompt = (await bob.NextPushAsync(MessageTypes.RequestOAuthToken)).Header();
        Assert.IsType<EmptyContent>(await bob.SecretsAsync("provide_oauth_authorization", new JsonObject
        {
            ["request_id"] = prompt["request_id"]!.DeepClone(),
            ["code"] = "CODE-123",
            ["error"] = null,
        }));

        var token = Assert.IsType<JsonContent>(await requested);
        Assert.Equal(endpoint.AccessToken, token.Json["access_token"]!.GetValue<string>());
        var exchange = Assert.Single(endpoint.Requests);
        Assert.Equal("authorization_code", exchange["grant_type"]);
        Assert.Equal("CODE-123", exchange["code"]);
        Assert.Equal("https://app.example/callback", exchange["redirect_uri"]);
        var challenge = Base64UrlSha256(exchange["code_verifier"]);
        Assert.Equal(prompt["challenge"]!.GetValue<string>(), challenge);

        // Stored for alice: served offline, and a second request does not prompt.
        var offline = await alice.SecretsAsync("get_offline_oauth_token", new JsonObject { ["oauth"] = oauth.DeepClone(), ["delegated_to"] = null, ["delegated_by"] = null });
        Assert.Equal(endpoint.AccessToken, Assert.IsType<JsonContent>(offline).Json["access_token"]!.GetValue<string>());
        var again = Assert.IsType<JsonContent>(await alice.SecretsAsync("request_oauth_token", Input()));
        Assert.Equal(endpoint.AccessToken, again.Json["access_token"]!.GetValue<string>());
        Assert.DoesNotContain(bob.PendingPushes(), m => m.Type == MessageTypes.RequestOAuthToken);
        Assert.Single(endpoint.Requests);

        // Bob has no credential of his own.
        var bobs = await bob.SecretsAsync("get_offline_oauth_token", new JsonObject { ["oauth"] = oauth.DeepClone() });
        Assert.Null(Assert.IsType<JsonContent>(bobs).Json["access_token"]);
        await Server.AssertCanariesAbsentAsync("the-client-secret", endpoint.AccessToken, "CODE-123");
    }

    private static string Base64UrlSha256(string text) =>
        Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(text))).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>A token endpoint on http://127.0.0.1 that records form posts and answers with a fixed token.</summary>
    private sealed class TokenEndpoint : IAsyncDisposable
    {
        private readonly HttpListener _listener = new();
        private Task _loop = Task.CompletedTask;

        private TokenEndpoint(string accessToken)
        {
            AccessToken = accessToken;
        }

        public string AccessToken { get; }

        public string Url { get; private set; } = string.Empty;

        public ConcurrentQueue<Dictionary<string, string>> Requests { get; } = new();

        public static Task<TokenEndpoint> StartAsync(string accessToken)
        {
            var endpoint = new TokenEndpoint(accessToken);
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                var port = ((IPEndPoint)probe.LocalEndpoint).Port;
                probe.Stop();
                endpoint.Url = $"http://127.0.0.1:{port}/token";
                endpoint._listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            }

            endpoint._listener.Start();
            endpoint._loop = Task.Run(endpoint.ServeAsync);
            return Task.FromResult(endpoint);
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _listener.Close();
        }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                var context = await _listener.GetContextAsync();
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var body = await reader.ReadToEndAsync();
                Requests.Enqueue(body.Split('&', StringSplitOptions.RemoveEmptyEntries)
                    .Select(pair => pair.Split('=', 2))
                    .ToDictionary(p => WebUtility.UrlDecode(p[0]), p => WebUtility.UrlDecode(p.Length > 1 ? p[1] : string.Empty)));
                var json = Encoding.UTF8.GetBytes($$"""{"access_token":"{{AccessToken}}","token_type":"Bearer","expires_in":3600,"refresh_token":"r-{{AccessToken}}"}""");
                context.Response.ContentType = "application/json";
                context.Response.ContentLength64 = json.Length;
                await context.Response.OutputStream.WriteAsync(json);
                context.Response.Close();
            }
        }
    }
}
