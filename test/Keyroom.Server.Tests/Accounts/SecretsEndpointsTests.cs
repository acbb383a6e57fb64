using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Keyroom.Server.Tests.Accounts;

public sealed class SecretsEndpointsTests : IClassFixture<AccountsServerFixture>
{
    private readonly AccountsServerFixture _fixture;

    public SecretsEndpointsTests(AccountsServerFixture fixture)
    {
        _fixture = fixture;
    }

    private string ProjectId => _fixture.Server.ProjectId;

    private string Secrets => Api.Project(ProjectId) + "/secrets";

    private HttpClient Admin() => _fixture.Server.CreateClient(_fixture.Server.AdminApiKey);

    [Fact]
    public async Task Create_KeysSecret_Returns201AndGetReturnsValue()
    {
        using var client = Admin();
        var name = Api.Unique("keys");
        const string value = """{"DATABASE_URL":"postgres://x","API_TOKEN":"t0k"}""";

        var created = await client.PostApiAsync(Secrets, new { name, type = "keys", data_base64 = Api.B64(value) });

        created.AssertStatus(HttpStatusCode.Created);
        var id = created.Body["id"]!.GetValue<string>();
        Assert.Equal(1, created.Body["version"]!.GetValue<int>());
        Assert.Equal(Secrets + "/" + id, created.Message.Headers.Location!.ToString());
        var got = await client.GetApiAsync(Secrets + "/" + id);
        got.AssertStatus(HttpStatusCode.OK);
        Assert.Equal(id, got.Body["id"]!.GetValue<string>());
        Assert.Equal(name, got.Body["name"]!.GetValue<string>());
        Assert.Equal("keys", got.Body["type"]!.GetValue<string>());
        Assert.True(got.Body.AsObject().ContainsKey("delegated_to"));
        Assert.Null(got.Body["delegated_to"]);
        Assert.Equal(Api.B64(value), got.Body["data_base64"]!.GetValue<string>());
        Assert.Equal(1, got.Body["version"]!.GetValue<int>());
        Assert.True(DateTimeOffset.TryParse(got.Body["created_at"]!.GetValue<string>(), out _));
        Assert.True(DateTimeOffset.TryParse(got.Body["updated_at"]!.GetValue<string>(), out _));
    }

    [Fact]
    public async Task Create_DockerSecret_RoundTrips()
    {
        using var client = Admin();
        const string value = """{"server":"registry.example.com","username":"robot$ci","password":"p@ss:word/with+chars=","email":"ci@example.com"}""";

        var id = await client.CreateSecretAsync(ProjectId, "docker", value);

        Assert.Equal(value, await client.ReadSecretTextAsync(ProjectId, id));
    }

    [Fact]
    public async Task Create_FreeTextTypeWithBinaryValue_RoundTripsEveryByte()
    {
        using var client = Admin();
        var bytes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();

        var created = await client.PostApiAsync(Secrets, new { name = Api.Unique("blob"), type = "application/octet-stream", data_base64 = Convert.ToBase64String(bytes) });

        created.AssertStatus(HttpStatusCode.Created);
        var got = await client.GetApiAsync(Secrets + "/" + created.Body["id"]!.GetValue<string>());
        Assert.Equal(bytes, Convert.FromBase64String(got.Body["data_base64"]!.GetValue<string>()));
        Assert.Equal("application/octet-stream", got.Body["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Create_WithChosenId_UsesItAndASecondCreateReturns409()
    {
        using var client = Admin();
        var id = Api.Unique("chosen");
        var body = new { id, name = "n", type = "text/plain", data_base64 = Api.B64("v") };

        var first = await client.PostApiAsync(Secrets, body);
        var second = await client.PostApiAsync(Secrets, body);

        first.AssertStatus(HttpStatusCode.Created);
        Assert.Equal(id, first.Body["id"]!.GetValue<string>());
        second.AssertProblem(HttpStatusCode.Conflict, "already_exists");
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("with space")]
    [InlineData("..")]
    [InlineData("pct%20")]
    public async Task Create_ChosenIdNotUsableInAPath_Returns400(string id)
    {
        using var client = Admin();

        var response = await client.PostApiAsync(Secrets, new { id, name = "n", type = "text/plain", data_base64 = Api.B64("v") });

        var detail = response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Assert.Contains("'id'", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_AfterCreate_ContainsTheSecretWithoutItsValue()
    {
        using var client = Admin();
        var name = Api.Unique("listed");
        var id = await client.CreateSecretAsync(ProjectId, "keys", """{"A":"b"}""", name);

        var list = await client.GetApiAsync(Secrets);

        list.AssertStatus(HttpStatusCode.OK);
        var item = list.Body["secrets"]!.AsArray().Single(s => s!["id"]!.GetValue<string>() == id)!;
        Assert.Equal(name, item["name"]!.GetValue<string>());
        Assert.Equal("keys", item["type"]!.GetValue<string>());
        Assert.Null(item["delegated_to"]);
        Assert.True(item.AsObject().ContainsKey("delegated_to"));
        Assert.Equal(1, item["version"]!.GetValue<int>());
        Assert.False(item.AsObject().ContainsKey("data_base64"));
    }

    [Fact]
    public async Task Update_ExistingSecret_WritesNextVersionAndKeepsThePrevious()
    {
        using var client = Admin();
        var id = await client.CreateSecretAsync(ProjectId, "keys", """{"A":"one"}""");

        var updated = await client.PutApiAsync(Secrets + "/" + id, new { name = "renamed", type = "keys", data_base64 = Api.B64("""{"A":"two"}""") });

        updated.AssertStatus(HttpStatusCode.OK);
        Assert.Equal(id, updated.Body["id"]!.GetValue<string>());
        Assert.Equal(2, updated.Body["version"]!.GetValue<int>());
        Assert.Equal("""{"A":"two"}""", await client.ReadSecretTextAsync(ProjectId, id));
        Assert.Equal("""{"A":"one"}""", await client.ReadSecretTextAsync(ProjectId, id, version: 1));
        var current = await client.GetApiAsync(Secrets + "/" + id);
        Assert.Equal("renamed", current.Body["name"]!.GetValue<string>());
        Assert.Equal(2, current.Body["version"]!.GetValue<int>());
        var versions = await client.GetApiAsync(Secrets + "/" + id + "/versions");
        versions.AssertStatus(HttpStatusCode.OK);
        Assert.Equal([2, 1], versions.Body["versions"]!.AsArray().Select(v => v!["version"]!.GetValue<int>()));
        Assert.All(versions.Body["versions"]!.AsArray(), v => Assert.True(DateTimeOffset.TryParse(v!["created_at"]!.GetValue<string>(), out _)));
    }

    [Fact]
    public async Task Update_TwelveWrites_KeepsOnlyTheLastTenVersions()
    {
        using var client = Admin();
        var id = await client.CreateSecretAsync(ProjectId, "text/plain", "v1");
        for (var i = 2; i <= 12; i++)
        {
            var response = await client.PutApiAsync(Secrets + "/" + id, new { name = "n", type = "text/plain", data_base64 = Api.B64("v" + i) });
            response.AssertStatus(HttpStatusCode.OK);
        }

        var versions = await client.GetApiAsync(Secrets + "/" + id + "/versions");
        var oldest = await client.GetApiAsync(Secrets + "/" + id + "?version=2");

        Assert.Equal(Enumerable.Range(3, 10).Reverse(), versions.Body["versions"]!.AsArray().Select(v => v!["version"]!.GetValue<int>()));
        oldest.AssertProblem(HttpStatusCode.NotFound, "not_found");
        Assert.Equal("v3", await client.ReadSecretTextAsync(ProjectId, id, version: 3));
        Assert.Equal("v12", await client.ReadSecretTextAsync(ProjectId, id));
    }

    [Fact]
    public async Task Update_UnknownSecret_Returns404()
    {
        using var client = Admin();

        var response = await client.PutApiAsync(Secrets + "/" + Api.Unique("missing"), new { name = "n", type = "text/plain", data_base64 = Api.B64("v") });

        response.AssertProblem(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Delete_ExistingSecret_Returns204AndItIsGone()
    {
        using var client = Admin();
        var id = await client.CreateSecretAsync(ProjectId, "text/plain", "bye");

        var deleted = await client.DeleteApiAsync(Secrets + "/" + id);
        var again = await client.DeleteApiAsync(Secrets + "/" + id);
        var got = await client.GetApiAsync(Secrets + "/" + id);
        var versions = await client.GetApiAsync(Secrets + "/" + id + "/versions");

        deleted.AssertStatus(HttpStatusCode.NoContent);
        again.AssertProblem(HttpStatusCode.NotFound, "not_found");
        got.AssertProblem(HttpStatusCode.NotFound, "not_found");
        versions.AssertProblem(HttpStatusCode.NotFound, "not_found");
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("abc")]
    public async Task Get_InvalidVersion_Returns400Problem(string version)
    {
        using var client = Admin();
        var id = await client.CreateSecretAsync(ProjectId, "text/plain", "v");

        var response = await client.GetApiAsync(Secrets + "/" + id + "?version=" + version);

        response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
    }

    [Theory]
    [InlineData("""["A","B"]""", "JSON object")]
    [InlineData("\"A\"", "JSON object")]
    [InlineData("A=b\nC=d", "JSON object")]
    [InlineData("""{"A":1}""", "'A' must be a string")]
    [InlineData("""{"A":null}""", "'A' must be a string")]
    [InlineData("""{"A":{"B":"c"}}""", "'A' must be a string")]
    [InlineData("""{"1BAD":"x"}""", "'1BAD' is not")]
    [InlineData("""{"BAD-NAME":"x"}""", "'BAD-NAME' is not")]
    public async Task Create_InvalidKeysValue_Returns400WithCode(string value, string expectedInDetail)
    {
        using var client = Admin();
        var name = Api.Unique("badkeys");

        var response = await client.PostApiAsync(Secrets, new { name, type = "keys", data_base64 = Api.B64(value) });

        var detail = response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Assert.Contains(expectedInDetail, detail, StringComparison.Ordinal);
        var list = await client.GetApiAsync(Secrets);
        Assert.DoesNotContain(list.Body["secrets"]!.AsArray(), s => s!["name"]!.GetValue<string>() == name);
    }

    [Fact]
    public async Task Create_DockerWithoutPassword_Returns400NamingPassword()
    {
        using var client = Admin();

        var response = await client.PostApiAsync(Secrets, new { name = Api.Unique("docker"), type = "docker", data_base64 = Api.B64("""{"server":"s","username":"u"}""") });

        var detail = response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Assert.Contains("'password'", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("name")]
    [InlineData("type")]
    [InlineData("data_base64")]
    public async Task Create_MissingRequiredField_Returns400NamingIt(string missing)
    {
        using var client = Admin();
        var body = new JsonObject { ["name"] = Api.Unique("partial"), ["type"] = "keys", ["data_base64"] = Api.B64("""{"A":"b"}""") };
        body.Remove(missing);

        var response = await client.PostApiAsync(Secrets, body.ToJsonString());

        var detail = response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Assert.Contains("'" + missing + "'", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"name": "broken", "type": "keys", "data_base64": """)]
    [InlineData("""{"name": "x",}""")]
    [InlineData("not json at all")]
    [InlineData("""{"name":"x"} {"name":"y"}""")]
    public async Task Create_MalformedJson_Returns400Problem(string body)
    {
        using var client = Admin();

        var response = await client.PostApiAsync(Secrets, body);

        var detail = response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Assert.Contains("well-formed JSON", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("null")]
    [InlineData("42")]
    public async Task Create_BodyNotAnObject_Returns400(string body)
    {
        using var client = Admin();

        var response = await client.PostApiAsync(Secrets, body);

        response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task Create_EmptyBody_Returns400()
    {
        using var client = Admin();
        using var content = new ByteArrayContent([]);

        var response = await Api.ReadAsync(await client.PostAsync(new Uri(Secrets, UriKind.Relative), content, TestContext.Current.CancellationToken));

        response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task Create_WrongFieldType_Returns400NamingIt()
    {
        using var client = Admin();

        var response = await client.PostApiAsync(Secrets, """{"name": 5, "type": "keys", "data_base64": "e30="}""");

        var detail = response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Assert.Contains("'name'", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("this is *not* base64!")]
    [InlineData("AQID=")]
    [InlineData("AQ-_")]
    public async Task Create_InvalidBase64_Returns400NamingDataBase64(string data)
    {
        using var client = Admin();
        var name = Api.Unique("badb64");

        var response = await client.PostApiAsync(Secrets, new { name, type = "text/plain", data_base64 = data });

        var detail = response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Assert.Contains("'data_base64'", detail, StringComparison.Ordinal);
        Assert.DoesNotContain(data, response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_ValueAboveMaxSecretBytes_Returns413()
    {
        using var client = Admin();
        var tooLarge = new byte[(64 * 1024) + 1];

        var response = await client.PostApiAsync(Secrets, new { name = Api.Unique("big"), type = "application/octet-stream", data_base64 = Convert.ToBase64String(tooLarge) });

        response.AssertProblem(HttpStatusCode.RequestEntityTooLarge, "too_large");
    }

    [Fact]
    public async Task Create_ValueAtMaxSecretBytes_IsAccepted()
    {
        using var client = Admin();
        var largest = new byte[64 * 1024];
        largest.AsSpan().Fill(0xAB);

        var response = await client.PostApiAsync(Secrets, new { name = Api.Unique("max"), type = "application/octet-stream", data_base64 = Convert.ToBase64String(largest) });

        response.AssertStatus(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Create_BodyAboveCapWithContentLength_Returns413BeforeParsing()
    {
        using var client = Admin();
        // Not even JSON: the cap applies before parsing.
        var body = new string('x', 200 * 1024);

        var response = await client.PostApiAsync(Secrets, body);

        response.AssertProblem(HttpStatusCode.RequestEntityTooLarge, "too_large");
    }

    [Fact]
    public async Task Create_ChunkedBodyAboveCap_Returns413()
    {
        using var client = Admin();
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes("{\"name\":\"" + new string('x', 200 * 1024) + "\"}"));
        using var content = new StreamContent(stream);
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, Secrets) { Content = content };
        request.Headers.TransferEncodingChunked = true;

        var response = await Api.ReadAsync(await client.SendAsync(request, TestContext.Current.CancellationToken));

        response.AssertProblem(HttpStatusCode.RequestEntityTooLarge, "too_large");
    }

    [Fact]
    public async Task Get_UnknownSecret_Returns404StandardProblemDetails()
    {
        using var client = Admin();

        var response = await client.GetApiAsync(Secrets + "/" + Api.Unique("nope"));

        response.AssertProblem(HttpStatusCode.NotFound, "not_found");
        Assert.NotNull(response.Body["title"]);
        Assert.NotNull(response.Body["type"]);
        Assert.Equal("secret was not found", response.Body["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task Create_BrokenChunkedEncoding_Returns400Problem()
    {
        var cancel = TestContext.Current.CancellationToken;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(_fixture.Server.BaseUrl.Host, _fixture.Server.BaseUrl.Port, cancel);
        var stream = tcp.GetStream();
        var request = $"POST {Secrets} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {_fixture.Server.AdminApiKey}\r\n"
            + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n{}\r\n0\r\n\r\n";

        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), cancel);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var statusLine = await reader.ReadLineAsync(cancel);
        var rest = await reader.ReadToEndAsync(cancel);

        Assert.StartsWith("HTTP/1.1 400", statusLine, StringComparison.Ordinal);
        Assert.Contains("application/problem+json", rest, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_NameLongerThan256_Returns400()
    {
        using var client = Admin();

        var response = await client.PostApiAsync(Secrets, new { name = new string('n', 257), type = "text/plain", data_base64 = "AQID" });

        Assert.Contains("'name'", response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request"), StringComparison.Ordinal);
    }
}
