using System.Net;
using Keyroom.Server.OAuth;
using Keyroom.Server.Tests.Support;
using Microsoft.Extensions.Options;

namespace Keyroom.Server.Tests.OAuth;

/// <summary>Where the server's own OAuth calls may go, and the OAuth settings checked at start.</summary>
public sealed class OutboundGuardTests
{
    [Theory]
    [InlineData("169.254.169.254", false)] // cloud metadata (link-local)
    [InlineData("0.0.0.0", false)]
    [InlineData("224.0.0.1", false)]
    [InlineData("255.255.255.255", false)]
    [InlineData("fe80::1", false)]
    [InlineData("fd00:ec2::254", false)]
    [InlineData("::ffff:169.254.169.254", false)]
    [InlineData("127.0.0.1", false)]
    [InlineData("::1", false)]
    [InlineData("10.1.2.3", true)] // self-hosted providers on private networks
    [InlineData("192.168.1.10", true)]
    [InlineData("93.184.216.34", true)]
    [InlineData("2606:2800:220:1:248:1893:25c8:1946", true)]
    public void IsAllowedAddress_WithoutInsecureFlag_AllowsOnlyRoutableAddresses(string address, bool allowed)
    {
        Assert.Equal(allowed, OutboundGuard.IsAllowedAddress(IPAddress.Parse(address), allowLoopback: false));
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("::1", true)]
    [InlineData("169.254.169.254", false)]
    public void IsAllowedAddress_WithInsecureFlag_AllowsLoopbackButNeverMetadata(string address, bool allowed)
    {
        Assert.Equal(allowed, OutboundGuard.IsAllowedAddress(IPAddress.Parse(address), allowLoopback: true));
    }

    [Theory]
    [InlineData("https://idp.example.com/token", false, null)]
    [InlineData("http://idp.example.com/token", false, "https")]
    [InlineData("http://idp.example.com/token", true, null)]
    [InlineData("https://user:pass@idp.example.com/token", false, "user information")]
    [InlineData("ftp://idp.example.com/token", true, "http(s)")]
    [InlineData("https://169.254.169.254/latest", false, "not reachable")]
    [InlineData("https://127.0.0.1:8443/token", false, "not reachable")]
    [InlineData("http://127.0.0.1:8080/token", true, null)]
    public void CheckUrl_Endpoint_RefusesWhatTheServerMayNotCall(string url, bool allowInsecure, string? reason)
    {
        var guard = new OutboundGuard(Options.Create(new OAuthOptions { AllowInsecureHttp = allowInsecure }));

        var problem = guard.CheckUrl(new Uri(url));

        if (reason is null)
        {
            Assert.Null(problem);
        }
        else
        {
            Assert.NotNull(problem);
            Assert.Contains(reason, problem, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("invalid_grant", "invalid_grant")]
    [InlineData("urn:ietf:params:oauth:error", "unrecognized_error")]
    [InlineData("has space", "unrecognized_error")]
    [InlineData("", "unrecognized_error")]
    [InlineData(null, "unrecognized_error")]
    public void SanitizeErrorCode_ProviderText_KeepsOnlyPlainCodes(string? error, string expected)
    {
        Assert.Equal(expected, TokenEndpoint.SanitizeErrorCode(error));
    }

    [Fact]
    public async Task Server_OAuthTimeoutOutOfRange_FailsAtStartWithTheSetting()
    {
        var directory = Path.Combine(Path.GetTempPath(), "keyroom-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() =>
                KeyroomTestServer.StartAsync(directory, new Dictionary<string, string?> { ["Keyroom:OAuth:TimeoutSeconds"] = "0" }));

            Assert.Contains("Keyroom:OAuth:TimeoutSeconds", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }
}
