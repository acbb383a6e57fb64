using System.Text;
using System.Text.Json.Nodes;
using Keyroom.Protocol;
using Keyroom.Server.Tests.Support;

namespace Keyroom.Server.Tests.Rooms;

public sealed class RoomCanaryTests : IClassFixture<RoomsFixture>
{
    private readonly RoomsFixture _fixture;

    public RoomCanaryTests(RoomsFixture fixture)
    {
        _fixture = fixture;
    }

    private KeyroomTestServer Server => _fixture.Server;

    [Fact]
    public async Task Values_SentThroughTheRoom_NeverAppearInLogsAuditOrTheDatabase()
    {
        string Canary(string what) => "CANARY-" + what + "-" + Guid.NewGuid().ToString("N");
        var canaries = new Dictionary<string, string>
        {
            ["secret"] = Canary("secret"),
            ["provided"] = Canary("provided"),
            ["rejection"] = Canary("rejection"),
            ["message"] = Canary("message"),
            ["attachment"] = Canary("attachment"),
            ["attribute"] = Canary("attribute"),
            ["tool"] = Canary("tool"),
            ["header"] = Canary("header"),
            ["client-secret"] = Canary("client-secret"),
            ["code"] = Canary("code"),
        };
        var room = RoomTesting.Unique("canary");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);

        // A stored secret, read back.
        await alice.SetSecretAsync("planted", Encoding.UTF8.GetBytes("prefix " + canaries["secret"] + " suffix"));
        Assert.IsType<FileContent>(await alice.GetSecretAsync("planted"));

        // A provided secret (cached by the server) and a rejection text.
        var requested = alice.SecretsAsync("request_secret", new JsonObject { ["url"] = "https://example.com/k", ["type"] = "text/plain", ["participant_id"] = bob.ParticipantId });
        var prompt = (await bob.NextPushAsync(MessageTypes.RequestSecret)).Header();
        await bob.InvokeAsync("secrets", "provide_secret", new BinaryContent(Encoding.UTF8.GetBytes(canaries["provided"]), new JsonObject { ["request_id"] = prompt["request_id"]!.DeepClone(), ["error"] = null }));
        Assert.IsType<FileContent>(await requested);
        var rejected = alice.SecretsAsync("request_secret", new JsonObject { ["url"] = "https://example.com/other", ["type"] = "text/plain", ["participant_id"] = bob.ParticipantId });
        prompt = (await bob.NextPushAsync(MessageTypes.RequestSecret)).Header();
        await bob.InvokeAsync("secrets", "provide_secret", new BinaryContent(Array.Empty<byte>(), new JsonObject { ["request_id"] = prompt["request_id"]!.DeepClone(), ["error"] = canaries["rejection"] }));
        Assert.IsType<ErrorContent>(await rejected);

        // An OAuth request with a client secret, answered with a code.
        var oauth = alice.SecretsAsync("request_oauth_token", new JsonObject
        {
            ["oauth"] = new JsonObject
            {
                ["client_id"] = "cid",
                ["client_secret"] = canaries["client-secret"],
                ["authorization_endpoint"] = "https://auth.example/authorize",
                ["token_endpoint"] = "https://127.0.0.1:9/token",
            },
            ["redirect_uri"] = "https://app.example/cb",
            ["participant_id"] = bob.ParticipantId,
            ["timeout"] = 10,
        });
        prompt = (await bob.NextPushAsync(MessageTypes.RequestOAuthToken)).Header();
        Assert.DoesNotContain(canaries["client-secret"], prompt.ToJsonString(), StringComparison.Ordinal);
        await bob.SecretsAsync("provide_oauth_authorization", new JsonObject { ["request_id"] = prompt["request_id"]!.DeepClone(), ["code"] = canaries["code"], ["error"] = null });
        await oauth;

        // Messaging and attributes.
        await bob.InvokeAsync("messaging", "enable", new JsonContent([]), toolCallId: "t");
        await alice.InvokeJsonAsync("messaging", "send", new JsonObject
        {
            ["to_participant_id"] = bob.ParticipantId,
            ["type"] = "chat",
            ["message_json"] = new JsonObject { ["text"] = canaries["message"] }.ToJsonString(),
            ["attachment_base64"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(canaries["attachment"])),
        });
        await alice.SendAsync(alice.NextId(), MessageTypes.SetAttributes, new PackedMessage(new JsonObject { ["status"] = canaries["attribute"] }).Encode());

        // Malformed calls quoting values.
        (await alice.SecretsAsync(canaries["tool"], [])).AssertError(ErrorCodes.InvalidRequest);
        var badHeader = new PackedMessage(new JsonObject { ["toolkit"] = "secrets", ["tool"] = "get_secret", ["arguments"] = new JsonObject { ["type"] = canaries["header"] } }).Encode();
        Assert.IsType<ErrorContent>(Content.Decode((await alice.RequestAsync(MessageTypes.InvokeTool, badHeader)).Data));

        await Server.AssertCanariesAbsentAsync([.. canaries.Values]);
    }
}
