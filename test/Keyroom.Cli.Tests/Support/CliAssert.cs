using System.Text.Json;

namespace Keyroom.Cli.Tests.Support;

/// <summary>Assertions on CLI runs, with the run's output in every failure message.</summary>
public static class CliAssert
{
    public static void Succeeded(CliResult result)
    {
        Assert.True(result.ExitCode == 0, "expected exit 0, got " + result);
        Assert.True(result.Stderr.Length == 0, "expected no stderr, got " + result);
    }

    /// <summary>Exit code as expected, stdout empty, and exactly one readable stderr line (no stack trace).</summary>
    public static string FailedWithOneLine(CliResult result, int exitCode)
    {
        Assert.True(result.ExitCode == exitCode, $"expected exit {exitCode}, got " + result);
        Assert.True(result.StderrLines.Length == 1, "expected one stderr line, got " + result);
        var line = result.StderrLines[0];
        Assert.StartsWith("keyroom: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.Stderr, StringComparison.Ordinal);
        return line;
    }

    public static JsonElement Json(CliResult result)
    {
        Succeeded(result);
        using var document = JsonDocument.Parse(result.Stdout);
        return document.RootElement.Clone();
    }
}
