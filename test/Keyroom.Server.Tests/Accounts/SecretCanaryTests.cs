using System.Net;
using System.Text;
using Keyroom.Server.Tests.Support;

namespace Keyroom.Server.Tests.Accounts;

/// <summary>
/// Secret values must never reach logs, the audit log, the database in plaintext, or error responses,
/// whatever happens to the request. Canaries are put only in values (names are echoed by design).
/// </summary>
public sealed class SecretCanaryTests
{
    [Fact]
    public async Task SecretValues_ThroughWritesReadsAndErrors_NeverAppearInLogsAuditOrDatabase()
    {
        await using var server = await KeyroomTestServer.StartAsync();
        using var client = server.CreateClient(server.AdminApiKey);
        var secrets = Api.Project(server.ProjectId) + "/secrets";
        string Canary(string what) => "CANARY" + what + Guid.NewGuid().ToString("N");
        var canaries = new List<string>();
        string Track(string canary)
        {
            canaries.Add(canary);
            return canary;
        }

        var errorBodies = new List<string>();

        // Writes that succeed: keys, docker, free text, an update, a room secret.
        var keysId = await client.CreateSecretAsync(server.ProjectId, "keys", $$"""{"DB_PASSWORD":"{{Track(Canary("Keys"))}}"}""");
        await client.CreateSecretAsync(server.ProjectId, "docker", $$"""{"server":"r.example.com","username":"u","password":"{{Track(Canary("Docker"))}}"}""");
        var textId = await client.CreateSecretAsync(server.ProjectId, "text/plain", Track(Canary("Text")));
        var update = await client.PutApiAsync(secrets + "/" + keysId, new { name = "n", type = "keys", data_base64 = Api.B64($$"""{"DB_PASSWORD":"{{Track(Canary("Update"))}}"}""") });
        update.AssertStatus(HttpStatusCode.OK);
        await client.CreateRoomAsync(server.ProjectId, "canary-room");
        var room = await client.PostApiAsync(Api.Project(server.ProjectId) + "/rooms/canary-room/secrets", new { secret_id = "r1", data_base64 = Api.B64(Track(Canary("Room"))) });
        room.AssertStatus(HttpStatusCode.Created);

        // Reads, including an old version.
        Assert.Contains(canaries[0], await client.ReadSecretTextAsync(server.ProjectId, keysId, version: 1), StringComparison.Ordinal);
        Assert.Contains(canaries[3], await client.ReadSecretTextAsync(server.ProjectId, keysId), StringComparison.Ordinal);
        Assert.Equal(canaries[2], await client.ReadSecretTextAsync(server.ProjectId, textId));
        (await client.GetApiAsync(Api.Project(server.ProjectId) + "/rooms/canary-room/secrets/r1")).AssertStatus(HttpStatusCode.OK);

        // Failures carrying values: invalid keys (a bad name, a non-string), docker without password,
        // bad base64, malformed JSON, too large, a member's refused write, a refused update of a missing secret.
        var failures = new (object Body, HttpStatusCode Status)[]
        {
            (new { name = "bad-keys", type = "keys", data_base64 = Api.B64($$"""{"GOOD":"{{Track(Canary("BadName"))}}","bad name":"x"}""") }, HttpStatusCode.BadRequest),
            (new { name = "bad-keys", type = "keys", data_base64 = Api.B64($$"""{"GOOD":"{{Track(Canary("NonString"))}}","N":1}""") }, HttpStatusCode.BadRequest),
            (new { name = "bad-keys", type = "keys", data_base64 = Api.B64($$"""{"A":"{{Track(Canary("Unterminated"))}}""") }, HttpStatusCode.BadRequest),
            (new { name = "bad-docker", type = "docker", data_base64 = Api.B64($$"""{"server":"s","username":"{{Track(Canary("DockerUser"))}}"}""") }, HttpStatusCode.BadRequest),
            (new { name = "bad-b64", type = "text/plain", data_base64 = Track(Canary("Base64")) + "!" }, HttpStatusCode.BadRequest),
            ($$"""{"name":"broken","type":"text/plain","data_base64":"{{Track(Canary("Malformed"))}}""", HttpStatusCode.BadRequest),
            ($$"""{"name":"wrong-type","type":"text/plain","data_base64":["{{Track(Canary("WrongType"))}}"]}""", HttpStatusCode.BadRequest),
            (new { name = "big", type = "text/plain", data_base64 = Api.B64(Track(Canary("Big")) + new string('x', 64 * 1024)) }, HttpStatusCode.RequestEntityTooLarge),
        };
        foreach (var (body, status) in failures)
        {
            var response = await client.PostApiAsync(secrets, body);
            response.AssertStatus(status);
            errorBodies.Add(response.Text);
        }

        var missing = await client.PutApiAsync(secrets + "/absent", new { name = "n", type = "text/plain", data_base64 = Api.B64(Track(Canary("Missing"))) });
        missing.AssertStatus(HttpStatusCode.NotFound);
        errorBodies.Add(missing.Text);
        using var member = server.CreateClient(await server.CreateApiKeyAsync(server.ProjectId, Core.Auth.ProjectRole.Member, "canary-member"));
        var denied = await member.PostApiAsync(secrets, new { name = "n", type = "text/plain", data_base64 = Api.B64(Track(Canary("Denied"))) });
        denied.AssertStatus(HttpStatusCode.Forbidden);
        errorBodies.Add(denied.Text);

        foreach (var canary in canaries)
        {
            Assert.All(errorBodies, text => Assert.DoesNotContain(canary, text, StringComparison.Ordinal));
            Assert.All(errorBodies, text => Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(canary)), text, StringComparison.Ordinal));
        }

        Assert.NotEmpty(server.Logs.Lines);
        await server.AssertCanariesAbsentAsync([.. canaries]);
    }
}
