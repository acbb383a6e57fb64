using System.Net;
using System.Net.WebSockets;
using Keyroom.Protocol;
using Keyroom.Server.Tests.Support;

namespace Keyroom.Server.Tests.Rooms;

/// <summary>Connections end when what admitted them ends: the token expires, or the room is deleted.</summary>
public sealed class RoomLifetimeTests(RoomsFixture fixture) : IClassFixture<RoomsFixture>
{
    private KeyroomTestServer Server => fixture.Server;

    [Fact]
    public async Task LiveConnection_TokenExpires_ClosedWith1000TokenExpired()
    {
        var room = RoomTesting.Unique("expiry");
        var jwt = await Server.MintAsync("alice", room, expires: DateTimeOffset.UtcNow.AddSeconds(3));
        await using var client = await RawRoomClient.ConnectAsync(Server.BaseUrl, room, jwt, TestContext.Current.CancellationToken);

        // Served while the token is valid.
        Assert.False(await client.ExistsAsync("none"));

        Assert.Equal(WebSocketCloseStatus.NormalClosure, await client.WaitForCloseAsync(TimeSpan.FromSeconds(15)));
        Assert.Equal("token expired", client.CloseDescription);
    }

    [Fact]
    public async Task LiveConnection_TokenWithoutExpiry_StaysOpen()
    {
        var room = RoomTesting.Unique("no-expiry");
        await using var client = await Server.JoinAsync("alice", room);

        await Task.Delay(TimeSpan.FromSeconds(1.5), TestContext.Current.CancellationToken);

        Assert.False(await client.ExistsAsync("none")); // a JSON reply: the connection still serves calls
        Assert.Null(client.CloseStatus);
    }

    [Fact]
    public async Task DeleteRoom_WithLiveParticipants_ClosesThemWith1000RoomDeleted()
    {
        var room = RoomTesting.Unique("deleted");
        var other = RoomTesting.Unique("kept");
        await using var alice = await Server.JoinAsync("alice", room);
        await using var bob = await Server.JoinAsync("bob", room);
        await using var carol = await Server.JoinAsync("carol", other);
        using var admin = Server.CreateClient(Server.AdminApiKey);

        using var response = await admin.DeleteAsync($"/accounts/projects/{Server.ProjectId}/rooms/{room}", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, await alice.WaitForCloseAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, await bob.WaitForCloseAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("room deleted", alice.CloseDescription);

        // Another room is untouched.
        Assert.False(await carol.ExistsAsync("none")); // a JSON reply: the connection still serves calls
        Assert.Null(carol.CloseStatus);
    }

    [Fact]
    public async Task SetSecret_ConcurrentCallsByNameWithoutId_OneSecretHoldsOneOfTheValues()
    {
        var room = RoomTesting.Unique("upsert");
        var clients = new List<RawRoomClient>();
        try
        {
            for (var i = 0; i < 6; i++)
            {
                clients.Add(await Server.JoinAsync("alice", room));
            }

            var values = Enumerable.Range(0, 24).Select(i => RoomTesting.Utf8("value-" + i)).ToArray();
            var replies = await Task.WhenAll(values.Select((value, i) =>
                clients[i % clients.Count].SetSecretAsync(null, value, type: "text/plain", name: "shared-name")));

            Assert.All(replies, reply => Assert.IsType<EmptyContent>(reply));
            var listed = (await clients[0].ListSecretsAsync()).Select(s => s!.AsObject()).Where(s => (string?)s["name"] == "shared-name").ToList();
            var only = Assert.Single(listed);
            var file = Assert.IsType<FileContent>(await clients[0].GetSecretAsync(null, type: "text/plain", name: "shared-name"));
            Assert.Contains(values, v => v.AsSpan().SequenceEqual(file.Data.Span));
            Assert.Equal((string?)only["id"], (string?)(await clients[1].ListSecretsAsync()).Single(s => (string?)s!["name"] == "shared-name")!["id"]);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }
}
