using Keyroom.Client;

namespace Keyroom.Cli.Tests;

public sealed class ClientSdkTests
{
    [Fact]
    public void AccountsClient_MaKeyWithoutProject_DefaultsToKeysProject()
    {
        using var http = new HttpClient();
        var client = new AccountsClient(http, new KeyroomClientOptions
        {
            BaseUrl = new Uri("http://localhost:5000"),
            ApiKey = "ma-Ej5FZ.ibEtOkVkJmFBdAAA-Dx4tPEtaaXiQq83vEjRWeA-s3cr3t",
        });

        Assert.Equal("0f1e2d3c-4b5a-6978-90ab-cdef12345678", client.ProjectId);
    }

    [Fact]
    public void AccountsClient_ExplicitProject_WinsOverKeysProject()
    {
        using var http = new HttpClient();
        var client = new AccountsClient(http, new KeyroomClientOptions
        {
            BaseUrl = new Uri("http://localhost:5000"),
            ApiKey = "ma-Ej5FZ.ibEtOkVkJmFBdAAA-Dx4tPEtaaXiQq83vEjRWeA-s3cr3t",
            ProjectId = "other",
        });

        Assert.Equal("other", client.ProjectId);
    }

    [Fact]
    public void SecretValues_DockerCredentialsToString_HidesPassword()
    {
        var credentials = new DockerCredentials { Server = "r.example.com", Username = "u", Password = "hunter2-canary" };

        Assert.DoesNotContain("hunter2-canary", credentials.ToString(), StringComparison.Ordinal);
        Assert.Equal("hunter2-canary", SecretValues.DecodeDocker(SecretValues.EncodeDocker(credentials)).Password);
    }
}
