namespace Keyroom.Cli.Tests;

public sealed class ParseErrorsTests
{
    [Fact]
    public void SecretTokens_SecretOptions_CollectsTheirValuesOnly()
    {
        string[] args = ["secret", "docker", "create", "--name", "n", "--password", "p1", "stray", "--server", "s", "--data=D=1", "--password:p2", "--api-key", "k"];

        Assert.Equal(["p1", "stray", "D=1", "p2", "k"], ParseErrors.SecretTokens(args));
    }
}
