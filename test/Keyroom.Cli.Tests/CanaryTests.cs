using Keyroom.Cli.Tests.Support;

namespace Keyroom.Cli.Tests;

/// <summary>A unique value given to the CLI in every way a secret can arrive must never reach stderr, even on failures.</summary>
public sealed class CanaryTests(LiveServer server) : IClassFixture<LiveServer>
{
    [Fact]
    public async Task Stderr_SecretValuesOnSuccessAndFailure_NeverContainCanary()
    {
        var canary = "canary-" + Guid.NewGuid().ToString("N");
        using var cli = KeyroomCli.For(server);
        var runs = new List<CliResult>();
        async Task<CliResult> Run(string? stdin, params string[] args)
        {
            var result = await cli.RunWithInputAsync(stdin, args);
            runs.Add(result);
            return result;
        }

        var dataFile = Path.Combine(cli.Home, "canary.env");
        await File.WriteAllTextAsync(dataFile, $"TOKEN={canary}\n", TestContext.Current.CancellationToken);

        // Successes: the value goes in through --data, a file, stdin, and --password-stdin.
        var id = (await Run(null, "secret", "key", "create", "--name", "canary", "--data", $"TOKEN={canary}")).Stdout.Trim();
        Assert.Equal(0, runs[^1].ExitCode);
        Assert.Equal(0, (await Run(null, "secret", "key", "update", "--secret-id", id, "--data-file", dataFile)).ExitCode);
        Assert.Equal(0, (await Run($"TOKEN={canary}", "secret", "key", "update", "--secret-id", id, "--data-file", "-")).ExitCode);
        var dockerId = (await Run(canary, "secret", "docker", "create", "--name", "d", "--server", "r.example.com", "--username", "u", "--password-stdin")).Stdout.Trim();
        Assert.Equal(0, runs[^1].ExitCode);
        Assert.Contains(canary, (await Run(null, "secret", "key", "get", id)).Stdout, StringComparison.Ordinal);

        // Failures after the value was read: the server says no.
        Assert.Equal(0, (await Run(null, "secret", "delete", id)).ExitCode);
        Assert.Equal(1, (await Run(null, "secret", "key", "update", "--secret-id", id, "--data", $"TOKEN={canary}")).ExitCode);
        Assert.Equal(1, (await Run($"TOKEN={canary}", "secret", "key", "update", "--secret-id", id, "--data-file", "-")).ExitCode);
        Assert.Equal(1, (await Run(null, "secret", "docker", "update", "--secret-id", id, "--server", "r.example.com", "--username", "u", "--password", canary)).ExitCode);
        Assert.Equal(1, (await Run(null, "secret", "key", "update", "--secret-id", dockerId, "--data", $"TOKEN={canary}")).ExitCode);

        // Too large for the server (64 KiB by default): 413.
        Assert.Equal(1, (await Run(null, "secret", "key", "create", "--name", "big", "--data", $"TOKEN={canary}{new string('x', 70 * 1024)}")).ExitCode);

        // Failures before any request: invalid names, stray tokens, quoting mistakes, bad files.
        Assert.Equal(2, (await Run(null, "secret", "key", "create", "--name", "x", "--data", $"BAD-NAME={canary}")).ExitCode);
        Assert.Equal(2, (await Run(null, "secret", "key", "create", "--name", "x", "--data", canary)).ExitCode);
        Assert.Equal(2, (await Run(null, "secret", "docker", "create", "--name", "x", "--server", "r.example.com", "--username", "u", "--password", "first", canary)).ExitCode);
        Assert.Equal(2, (await Run(null, "secret", "docker", "create", "--name", "x", "--server", "r.example.com", "--password", canary)).ExitCode);
        Assert.Equal(2, (await Run(null, "secret", "docker", "create", "--name", "x", "--server", "r.example.com", "--username", "u", $"--password={canary}", "--password-stdin")).ExitCode);
        Assert.Equal(2, (await Run($"{{\"TOKEN\": {canary}}}", "secret", "key", "create", "--name", "x", "--data-file", "-")).ExitCode);
        Assert.Equal(2, (await Run($"not a pair {canary}\n", "secret", "key", "create", "--name", "x", "--data-file", "-")).ExitCode);
        Assert.Equal(2, (await Run($"{canary} not json", "secret", "gar", "create", "--name", "x", "--server", "eu-docker.pkg.dev", "--json-key-file", "-")).ExitCode);
        Assert.Equal(2, (await Run(null, "secret", "key", "create", "--data", $"TOKEN={canary}")).ExitCode);

        // The server unreachable after the value was read.
        cli.Environment["KEYROOM_URL"] = "http://127.0.0.1:1";
        Assert.Equal(1, (await Run(null, "secret", "key", "create", "--name", "x", "--data", $"TOKEN={canary}")).ExitCode);

        foreach (var run in runs)
        {
            Assert.DoesNotContain(canary, run.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain(server.AdminApiKey, run.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", run.Stderr, StringComparison.Ordinal);
        }

        Assert.All(runs.Where(r => r.ExitCode != 0), r => Assert.Single(r.StderrLines));
    }
}
