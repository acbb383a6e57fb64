using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Keyroom.Server.Tests.Support;

/// <summary>Runs a node:test script of test/compat with a TAP reporter and collects per-scenario results.</summary>
public static partial class NodeRunner
{
    public static string CompatDirectory { get; } = FindCompatDirectory();

    public sealed record Result(int ExitCode, IReadOnlyList<string> Passed, IReadOnlyList<string> Failed, string Output);

    public static async Task<Result> RunAsync(string script, IDictionary<string, string> environment, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(Path.Combine(CompatDirectory, "node_modules", "@meshagent", "meshagent")))
        {
            throw new InvalidOperationException($"the npm client is not installed: run 'npm ci' in {CompatDirectory} (./test.sh does this)");
        }

        var start = new ProcessStartInfo("node", ["--test", "--test-force-exit", "--test-reporter=tap", script])
        {
            WorkingDirectory = CompatDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start node");
        var output = new StringBuilder();
        var stdout = PumpAsync(process.StandardOutput, output);
        var stderr = PumpAsync(process.StandardError, output);
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(timeoutSource.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{script} did not finish within {timeout}; output so far:\n{output}");
        }

        await Task.WhenAll(stdout, stderr);
        var text = output.ToString();
        var passed = new List<string>();
        var failed = new List<string>();
        foreach (Match match in TapLine().Matches(text))
        {
            // Only top-level results (no indentation) are scenarios.
            if (match.Groups["indent"].Length > 0)
            {
                continue;
            }

            (match.Groups["not"].Success ? failed : passed).Add(match.Groups["name"].Value.Trim());
        }

        return new Result(process.ExitCode, passed, failed, text);
    }

    private static async Task PumpAsync(StreamReader reader, StringBuilder sink)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (sink)
            {
                sink.AppendLine(line);
            }
        }
    }

    private static string FindCompatDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "test", "compat");
            if (File.Exists(Path.Combine(candidate, "package.json")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("test/compat not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^(?<indent>[ \t]*)(?<not>not )?ok \d+ - (?<name>.+?)(?: # .*)?$", RegexOptions.Multiline)]
    private static partial Regex TapLine();
}
