using System.Net;
using System.Net.WebSockets;
using Keyroom.Core.Auth;
using Keyroom.Core.Storage;
using Keyroom.Protocol;
using Keyroom.Server.Tests.Accounts;
using Keyroom.Server.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Keyroom.Server.Tests.Rooms;

public sealed class RoomHandshakeTests : IClassFixture<RoomsFixture>
{
    private readonly RoomsFixture _fixture;

    public RoomHandshakeTests(RoomsFixture fixture)
    {
        _fixture = fixture;
    }

    private KeyroomTestServer Server => _fixture.Server;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Connect_ValidToken_SendsRoomReadyThenConnectedInit()
    {
        var room = RoomTesting.Unique("hs");
        await using var client = await RawRoomClient.ConnectAsync(Server.BaseUrl, room, await Server.MintAsync("alice", room), Cancel);

        Assert.Equal(MessageTypes.RoomReady, client.RoomReady.Type);
        Assert.True(client.RoomReady.Id >= 1_000_000, "server-initiated ids start at 1,000,000");
        var ready = client.RoomReady.Header();
        Assert.Equal(room, ready["room_name"]!.GetValue<string>());
        Assert.Equal($"ws://{Server.BaseUrl.Authority}/rooms/{room}", ready["room_url"]!.GetValue<string>());
        Assert.True(Guid.TryParse(ready["session_id"]!.GetValue<string>(), out _));
        Assert.Equal(3, ready.Count);

        Assert.Equal(MessageTypes.Connected, client.Connected.Type);
        Assert.True(client.Connected.Id > client.RoomReady.Id);
        var init = client.Connected.Header();
        Assert.Equal("init", init["type"]!.GetValue<string>());
        Assert.True(Guid.TryParse(init["participantId"]!.GetValue<string>(), out _));
        Assert.Equal("""{"name":"alice"}""", init["attributes"]!.ToJsonString());
        Assert.Equal(3, init.Count);
        Assert.Empty(client.PendingPushes());
    }

    [Fact]
    public async Task Connect_SameTokenTwice_GetsANewParticipantIdEachTime()
    {
        var room = RoomTesting.Unique("hs");
        var jwt = await Server.MintAsync("alice", room);
        string firstId;
        await using (var first = await RawRoomClient.ConnectAsync(Server.BaseUrl, room, jwt, Cancel))
        {
            firstId = first.ParticipantId;
            await first.CloseAsync();
            Assert.Equal(WebSocketCloseStatus.NormalClosure, first.CloseStatus);
        }

        await using var second = await RawRoomClient.ConnectAsync(Server.BaseUrl, room, jwt, Cancel);
        await using var concurrent = await RawRoomClient.ConnectAsync(Server.BaseUrl, room, jwt, Cancel);
        Assert.NotEqual(firstId, second.ParticipantId);
        Assert.NotEqual(second.ParticipantId, concurrent.ParticipantId);
        Assert.IsType<JsonContent>(await second.SecretsAsync("list_secrets", []));
    }

    [Fact]
    public async Task Connect_PlainGet_Returns400Problem()
    {
        using var http = Server.CreateClient();
        var response = await http.GetApiAsync("/rooms/anything?token=x");
        response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
    }

    public static TheoryData<string> RefusedTokens => ["wrong-signature", "expired", "wrong-room", "missing", "garbage", "api-key-instead-of-jwt", "deleted-key"];

    [Theory]
    [MemberData(nameof(RefusedTokens))]
    public async Task Connect_RefusedToken_AcceptedThenRoomStatusErrorAndClose1000(string kind)
    {
        var room = RoomTesting.Unique("hs");
        var jwt = await RefusedTokenAsync(kind, room);

        await using var client = await RawRoomClient.OpenAsync(Server.BaseUrl, room, jwt, Cancel);
        var status = await client.NextPushAsync(MessageTypes.RoomStatus);
        var header = status.Header();
        Assert.Equal("error", header["status"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(header["message"]!.GetValue<string>()));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, await client.WaitForCloseAsync());
        Assert.DoesNotContain("1013", client.CloseDescription ?? string.Empty, StringComparison.Ordinal);
        Assert.Empty(client.PendingPushes());

        // The server is unaffected.
        await using var good = await Server.JoinAsync("alice", room);
        Assert.IsType<JsonContent>(await good.SecretsAsync("list_secrets", []));
    }

    [Fact]
    public async Task Connect_TokenForAnotherRoom_IsAuditedAsDenied()
    {
        var room = RoomTesting.Unique("hs");
        var jwt = await Server.MintAsync("wanderer", RoomTesting.Unique("elsewhere"));
        await using var client = await RawRoomClient.OpenAsync(Server.BaseUrl, room, jwt, Cancel);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, await client.WaitForCloseAsync());

        var audit = await Server.ReadAuditTextAsync();
        Assert.Contains($"token:wanderer@", audit, StringComparison.Ordinal);
        Assert.Contains($"room.join room/{room} denied", audit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_UnknownRoomWithDeveloperKey_CreatesTheRoom()
    {
        var room = RoomTesting.Unique("auto");
        var developerKey = await Server.CreateApiKeyAsync(Server.ProjectId, ProjectRole.Developer, "dev");
        var jwt = await Server.MintAsync("dev-agent", room, apiKey: developerKey);

        await using var client = await RawRoomClient.ConnectAsync(Server.BaseUrl, room, jwt, Cancel);

        var stored = await Server.Services.GetRequiredService<IAccountStore>().GetRoomByNameAsync(Server.ProjectId, room, Cancel);
        Assert.NotNull(stored);
        Assert.Contains($"room.create room/{room} ok", await Server.ReadAuditTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_UnknownRoomWithMemberKey_ClosedWith1000AndNotCreated()
    {
        var room = RoomTesting.Unique("auto");
        var memberKey = await Server.CreateApiKeyAsync(Server.ProjectId, ProjectRole.Member, "member");
        var jwt = await Server.MintAsync("member-agent", room, apiKey: memberKey);

        await using var client = await RawRoomClient.OpenAsync(Server.BaseUrl, room, jwt, Cancel);
        var header = (await client.NextPushAsync(MessageTypes.RoomStatus)).Header();
        Assert.Equal("room not found", header["message"]!.GetValue<string>());
        Assert.Equal(WebSocketCloseStatus.NormalClosure, await client.WaitForCloseAsync());
        Assert.Null(await Server.Services.GetRequiredService<IAccountStore>().GetRoomByNameAsync(Server.ProjectId, room, Cancel));
    }

    [Fact]
    public async Task Connect_ExistingRoomWithMemberKey_Joins()
    {
        var room = RoomTesting.Unique("member");
        await using (var creator = await Server.JoinAsync("admin", room))
        {
        }

        var memberKey = await Server.CreateApiKeyAsync(Server.ProjectId, ProjectRole.Member, "member");
        await using var client = await RawRoomClient.ConnectAsync(Server.BaseUrl, room, await Server.MintAsync("member-agent", room, apiKey: memberKey), Cancel);
        Assert.NotEmpty(client.ParticipantId);
    }

    [Fact]
    public async Task Connect_RoomOfAnotherProject_IsSeparate()
    {
        var room = RoomTesting.Unique("xproj");
        var (_, otherKey) = await Server.CreateProjectAsync("rooms-other");
        await using var mine = await Server.JoinAsync("alice", room);
        await using var theirs = await RawRoomClient.ConnectAsync(Server.BaseUrl, room, await Server.MintAsync("alice", room, apiKey: otherKey), Cancel);

        await mine.SetSecretAsync("s1", RoomTesting.Utf8("mine"));
        Assert.IsType<EmptyContent>(await theirs.GetSecretAsync("s1"));
    }

    private async Task<string?> RefusedTokenAsync(string kind, string room)
    {
        switch (kind)
        {
            case "wrong-signature":
                {
                    Assert.True(ApiKeyString.TryParse(Server.AdminApiKey, out var key));
                    var token = new ParticipantToken("mallory") { KeyId = key.KeyId.ToString("D"), ProjectId = key.ProjectId.ToString("D") };
                    token.AddRoomGrant(room).AddApiGrant(ApiScope.Full());
                    return token.Sign(key.Secret + "-wrong");
                }

            case "expired":
                return await Server.MintAsync("late", room, expires: DateTimeOffset.UtcNow.AddHours(-1));
            case "wrong-room":
                return await Server.MintAsync("wanderer", RoomTesting.Unique("other"));
            case "missing":
                return null;
            case "garbage":
                return "not.a.jwt";
            case "api-key-instead-of-jwt":
                return Server.AdminApiKey;
            case "deleted-key":
                {
                    var key = await Server.CreateApiKeyAsync(Server.ProjectId, ProjectRole.Admin, "soon-deleted");
                    var jwt = await Server.MintAsync("ghost", room, apiKey: key);
                    Assert.True(ApiKeyString.TryParse(key, out var parsed));
                    await Server.Services.GetRequiredService<ApiKeyService>().DeleteAsync(Server.ProjectId, parsed.KeyId, Cancel);
                    return jwt;
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }
}
