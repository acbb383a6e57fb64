using System.Net;
using Keyroom.Server.Tests.Support;

namespace Keyroom.Server.Tests.Accounts;

public sealed class AccountsRestartTests
{
    [Fact]
    public async Task Restart_SameDataDirectory_EverythingWrittenIsStillReadable()
    {
        var first = await KeyroomTestServer.StartAsync();
        string keysId, apiKey, roomId;
        using (var client = first.CreateClient(first.AdminApiKey))
        {
            keysId = await client.CreateSecretAsync(first.ProjectId, "keys", """{"A":"v1"}""");
            (await client.PutApiAsync(Api.Project(first.ProjectId) + "/secrets/" + keysId, new { name = "n", type = "keys", data_base64 = Api.B64("""{"A":"v2"}""") }))
                .AssertStatus(HttpStatusCode.OK);
            roomId = (await client.CreateRoomAsync(first.ProjectId, "persisted"))["id"]!.GetValue<string>();
            (await client.PostApiAsync(Api.Project(first.ProjectId) + "/rooms/persisted/secrets", new { secret_id = "r1", data_base64 = Api.B64("room value") }))
                .AssertStatus(HttpStatusCode.Created);
            apiKey = (await client.PostApiAsync(Api.Project(first.ProjectId) + "/api-keys", new { name = "survivor", description = "" })).Body["value"]!.GetValue<string>();
        }

        await first.StopAsync();
        await using var second = await KeyroomTestServer.StartAsync(first.DataDirectory);
        using var again = second.CreateClient(second.AdminApiKey);

        Assert.Equal(first.ProjectId, second.ProjectId);
        Assert.Equal("""{"A":"v2"}""", await again.ReadSecretTextAsync(second.ProjectId, keysId));
        Assert.Equal("""{"A":"v1"}""", await again.ReadSecretTextAsync(second.ProjectId, keysId, version: 1));
        Assert.Equal(roomId, (await again.GetApiAsync(Api.Project(second.ProjectId) + "/rooms/persisted")).Body["id"]!.GetValue<string>());
        var room = await again.GetApiAsync(Api.Project(second.ProjectId) + "/rooms/persisted/secrets/r1");
        Assert.Equal(Api.B64("room value"), room.Body["data_base64"]!.GetValue<string>());
        using var survivor = second.CreateClient(apiKey);
        Assert.Equal("developer", (await survivor.GetApiAsync(Api.Project(second.ProjectId) + "/role")).Body["role"]!.GetValue<string>());
    }
}
