using Keyroom.Core.Auth;
using Keyroom.Server.Tests.Support;

namespace Keyroom.Server.Tests.Compat;

/// <summary>
/// Drives the official npm client @meshagent/meshagent 0.39.9 (pinned in test/compat/package-lock.json)
/// against a real Keyroom server on a loopback port. Each script's scenarios must all pass.
/// </summary>
public sealed class NpmClientCompatTests
{
    [Fact]
    public async Task OfficialClient_RestScenarios_AllPass()
    {
        await RunScriptAsync("rest.test.mjs");
    }

    [Fact]
    public async Task OfficialClient_RoomScenarios_AllPass()
    {
        // The OAuth scenario runs its own token endpoint on http://127.0.0.1 (test/compat/README.md).
        await RunScriptAsync("room-secrets.test.mjs", new Dictionary<string, string?> { ["Keyroom:OAuth:AllowInsecureHttp"] = "true" });
    }

    internal static async Task RunScriptAsync(string script, IDictionary<string, string?>? settings = null)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await KeyroomTestServer.StartAsync(settings: settings);
        var (otherProject, otherKey) = await server.CreateProjectAsync("compat-other");
        var environment = new Dictionary<string, string>
        {
            ["KEYROOM_URL"] = server.BaseUrl.ToString().TrimEnd('/'),
            ["KEYROOM_PROJECT_ID"] = server.ProjectId,
            ["KEYROOM_API_KEY"] = server.AdminApiKey,
            ["KEYROOM_MEMBER_API_KEY"] = await server.CreateApiKeyAsync(server.ProjectId, ProjectRole.Member, "compat-member"),
            ["KEYROOM_OTHER_PROJECT_ID"] = otherProject,
            ["KEYROOM_OTHER_API_KEY"] = otherKey,
        };

        var result = await NodeRunner.RunAsync(script, environment, TimeSpan.FromMinutes(5), ct);
        TestContext.Current.TestOutputHelper?.WriteLine($"{script}: {result.Passed.Count} passed, {result.Failed.Count} failed");
        foreach (var name in result.Passed)
        {
            TestContext.Current.TestOutputHelper?.WriteLine("  ok  " + name);
        }

        Assert.True(
            result.ExitCode == 0 && result.Failed.Count == 0 && result.Passed.Count > 0,
            $"{script}: exit {result.ExitCode}, {result.Passed.Count} passed, failed: [{string.Join("; ", result.Failed)}]\n{Tail(result.Output, 12000)}");
    }

    private static string Tail(string text, int max) => text.Length <= max ? text : text[^max..];
}
