using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Keyroom.Cli.Tests.Support;

namespace Keyroom.Cli.Tests;

public sealed partial class ServeTests
{
    [Fact]
    public async Task Serve_FreshDataDirectory_PrintsAdminKeyThatTheCliCanUse()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        using var cli = new KeyroomCli();
        var data = Path.Combine(cli.Home, "data");
        var url = $"http://127.0.0.1:{FreePort()}";

        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = cli.Home,
        };
        foreach (var arg in new[] { KeyroomCli.DllPath, "serve", "--data", data, "--urls", url })
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var name in start.Environment.Keys.Where(n => n.StartsWith("KEYROOM_", StringComparison.Ordinal) || n == "ASPNETCORE_URLS").ToList())
        {
            start.Environment.Remove(name);
        }

        using var serve = Process.Start(start)!;
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var adminKey = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        serve.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                adminKey.TrySetException(new InvalidOperationException("keyroom serve ended its output before printing the admin key"));
                return;
            }

            output.Enqueue(e.Data);
            if (AdminKeyLine().Match(e.Data) is { Success: true } match)
            {
                adminKey.TrySetResult(match.Groups[1].Value);
            }
        };
        serve.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                output.Enqueue("stderr: " + e.Data);
            }
        };
        serve.BeginOutputReadLine();
        serve.BeginErrorReadLine();

        try
        {
            var key = await adminKey.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
            await WaitForHealthAsync(new Uri(url), cancellationToken);

            var setup = CliAssert.Json(await cli.RunAsync("setup", "--url", url, "--api-key", key, "--json"));
            Assert.Equal("admin", setup.GetProperty("role").GetString());
            var id = (await cli.RunAsync("secret", "key", "create", "--name", "served", "--data", "A=1")).Stdout.Trim();
            Assert.Equal("A=1\n", (await cli.RunAsync("secret", "key", "get", id)).Stdout);
            CliAssert.Succeeded(await cli.RunAsync("admin", "audit", "verify"));
            Assert.True(File.Exists(Path.Combine(data, "keyroom.db")));

            if (!OperatingSystem.IsWindows())
            {
                // SIGTERM: the host shuts down gracefully and `serve` exits 0.
                using var kill = Process.Start("kill", ["-TERM", serve.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
                await kill.WaitForExitAsync(cancellationToken);
                await serve.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
                Assert.True(serve.ExitCode == 0, "serve exited with " + serve.ExitCode + "\n" + string.Join('\n', output));
            }
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            Assert.Fail(ex.Message + "\n" + string.Join('\n', output));
        }
        finally
        {
            if (!serve.HasExited)
            {
                serve.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public async Task Serve_MasterKeyFileMissing_Exit1WithOneLine()
    {
        using var cli = new KeyroomCli();

        var result = await cli.RunAsync("serve", "--data", Path.Combine(cli.Home, "data"), "--urls", $"http://127.0.0.1:{FreePort()}",
            "--master-key-file", Path.Combine(cli.Home, "missing.key"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("keyroom: ", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    private static async Task WaitForHealthAsync(Uri url, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(new Uri(url, "/healthz"), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException("/healthz did not answer 200 within 30 s");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [GeneratedRegex(@"Admin API key:\s+(ma-\S+)")]
    private static partial Regex AdminKeyLine();
}
