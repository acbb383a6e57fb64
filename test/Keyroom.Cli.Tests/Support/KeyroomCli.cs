using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Keyroom.Cli.Tests.Support;

/// <summary>What one run of the CLI produced.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>What one run of the CLI produced, with stdout as raw bytes.</summary>
public sealed record CliBinaryResult(int ExitCode, byte[] Stdout, string Stderr)
{
    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public override string ToString() => $"exit {ExitCode}, {Stdout.Length} bytes on stdout\n--- stderr\n{Stderr}";
}

/// <summary>
/// Runs the built <c>keyroom.dll</c> as a real child process (<c>dotnet keyroom.dll …</c>) with its own HOME and
/// config file, and a clean environment: no KEYROOM_* or MESHAGENT_* variables leak in from the test host.
/// </summary>
public sealed class KeyroomCli : IDisposable
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);

    public KeyroomCli()
    {
        Directory.CreateDirectory(Home);
    }

    public string Home { get; } = Path.Combine(Path.GetTempPath(), "keyroom-cli-home-" + Guid.NewGuid().ToString("N"));

    public string ConfigPath => Path.Combine(Home, "config", "keyroom.json");

    /// <summary>Extra environment variables for every run (null removes one).</summary>
    public Dictionary<string, string?> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>The CLI's build output: src/Keyroom.Cli/bin/&lt;configuration&gt;/&lt;tfm&gt;/keyroom.dll.</summary>
    public static string DllPath { get; } = FindDll();

    /// <summary>Runs <c>keyroom</c> with the server URL and API key given through the environment.</summary>
    public static KeyroomCli For(LiveServer server, string? apiKey = null)
    {
        var cli = new KeyroomCli();
        cli.Environment["KEYROOM_URL"] = server.BaseUrl.ToString();
        cli.Environment["KEYROOM_API_KEY"] = apiKey ?? server.AdminApiKey;
        return cli;
    }

    public Task<CliResult> RunAsync(params string[] args) => RunWithInputAsync(null, args);

    public async Task<CliResult> RunWithInputAsync(string? stdin, params string[] args)
    {
        var start = CreateStartInfo(args);
        start.StandardOutputEncoding = Encoding.UTF8;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        await WaitAsync(process, args);
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs <c>keyroom</c> with raw bytes on stdin (or none) and captures stdout as raw bytes.</summary>
    public async Task<CliBinaryResult> RunBinaryAsync(byte[]? stdin, params string[] args)
    {
        var start = CreateStartInfo(args);
        using var process = Process.Start(start)!;
        using var stdoutBytes = new MemoryStream();
        var stdout = process.StandardOutput.BaseStream.CopyToAsync(stdoutBytes);
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.BaseStream.WriteAsync(stdin);
            await process.StandardInput.BaseStream.FlushAsync();
        }

        process.StandardInput.Close();
        await WaitAsync(process, args);
        await stdout;
        return new CliBinaryResult(process.ExitCode, stdoutBytes.ToArray(), await stderr);
    }

    private static async Task WaitAsync(Process process, string[] args)
    {
        using var timeout = new CancellationTokenSource(RunTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"keyroom {string.Join(' ', args)} did not finish in {RunTimeout}");
        }
    }

    private ProcessStartInfo CreateStartInfo(string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = Home,
        };
        start.ArgumentList.Add(DllPath);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var name in start.Environment.Keys.ToList())
        {
            if (name.StartsWith("KEYROOM_", StringComparison.Ordinal) || name.StartsWith("MESHAGENT_", StringComparison.Ordinal)
                || name is "XDG_CONFIG_HOME" or "ASPNETCORE_URLS")
            {
                start.Environment.Remove(name);
            }
        }

        start.Environment["HOME"] = Home;
        start.Environment["KEYROOM_CONFIG"] = ConfigPath;
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in Environment)
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        return start;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Home, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string FindDll()
    {
        var here = AppContext.BaseDirectory;
        var configuration = typeof(KeyroomCli).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var tfm = new DirectoryInfo(here.TrimEnd(Path.DirectorySeparatorChar)).Name;
        for (var directory = new DirectoryInfo(here); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Keyroom.slnx")))
            {
                var built = Path.Combine(directory.FullName, "src", "Keyroom.Cli", "bin", configuration, tfm, "keyroom.dll");
                if (File.Exists(built))
                {
                    return built;
                }

                break;
            }
        }

        // The project reference also copies the CLI (with its runtimeconfig) next to the tests.
        var copied = Path.Combine(here, "keyroom.dll");
        return File.Exists(copied) && File.Exists(Path.Combine(here, "keyroom.runtimeconfig.json"))
            ? copied
            : throw new FileNotFoundException("build src/Keyroom.Cli first: keyroom.dll was not found", copied);
    }
}
