using Keyroom.Cli.Input;

namespace Keyroom.Cli.Tests;

public sealed class KeyValueParserTests
{
    [Fact]
    public void ParseTokens_OneTokenWithSeveralPairs_SplitsThem()
    {
        var pairs = KeyValueParser.ParseTokens(["STRIPE_KEY=sk_1 DATABASE_URL=postgres://db/app"]);

        Assert.Equal(["STRIPE_KEY", "DATABASE_URL"], pairs.Keys);
        Assert.Equal("sk_1", pairs["STRIPE_KEY"]);
        Assert.Equal("postgres://db/app", pairs["DATABASE_URL"]);
    }

    [Fact]
    public void ParseTokens_ValueWithSpaces_KeepsWholeValue()
    {
        var pairs = KeyValueParser.ParseTokens(["GREETING=hello big world", "B=2"]);

        Assert.Equal("hello big world", pairs["GREETING"]);
        Assert.Equal("2", pairs["B"]);
    }

    [Fact]
    public void ParseTokens_ValueContainsEquals_KeepsThem()
    {
        var pairs = KeyValueParser.ParseTokens(["URL=postgres://h/db?sslmode=require&a=b", "PAD=abc=="]);

        Assert.Equal("postgres://h/db?sslmode=require&a=b", pairs["URL"]);
        Assert.Equal("abc==", pairs["PAD"]);
    }

    [Fact]
    public void ParseTokens_QuotedValue_KeepsNameLikeText()
    {
        var pairs = KeyValueParser.ParseTokens(["A=\"x B=y\" C='q r'"]);

        Assert.Equal(2, pairs.Count);
        Assert.Equal("x B=y", pairs["A"]);
        Assert.Equal("q r", pairs["C"]);
    }

    [Fact]
    public void ParseTokens_RepeatedDataAndEmptyValue_MergesAll()
    {
        var pairs = KeyValueParser.ParseTokens(["A=1", "B=", "_C9=3"]);

        Assert.Equal(new Dictionary<string, string> { ["A"] = "1", ["B"] = "", ["_C9"] = "3" }, pairs);
    }

    [Theory]
    [InlineData("1ABC=secret-value-1")]
    [InlineData("A-B=secret-value-1")]
    [InlineData("=secret-value-1")]
    public void ParseTokens_InvalidName_ThrowsUsageWithoutValue(string token)
    {
        var error = Assert.Throws<UsageException>(() => KeyValueParser.ParseTokens([token]));

        Assert.DoesNotContain("secret-value-1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseTokens_TokenWithoutEquals_ThrowsUsageWithoutEchoingIt()
    {
        var error = Assert.Throws<UsageException>(() => KeyValueParser.ParseTokens(["A=1", "plain-secret-text"]));

        Assert.DoesNotContain("plain-secret-text", error.Message, StringComparison.Ordinal);
        Assert.Contains("item 2", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GOOD=1 9BAD=value-text")]
    [InlineData("GOOD=1 my-var=value-text")]
    public void ParseTokens_LaterWordWithInvalidName_ThrowsUsageInsteadOfJoiningValue(string token)
    {
        var error = Assert.Throws<UsageException>(() => KeyValueParser.ParseTokens([token]));

        Assert.Contains("is not a valid environment variable name", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("value-text", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseTokens_DuplicateName_ThrowsUsage()
    {
        var error = Assert.Throws<UsageException>(() => KeyValueParser.ParseTokens(["A=1 A=2"]));

        Assert.Contains("A is given more than once", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseTokens_Nothing_ThrowsUsage()
    {
        Assert.Throws<UsageException>(() => KeyValueParser.ParseTokens(["  "]));
    }

    [Fact]
    public void ParseFile_EnvLines_SkipsCommentsAndExportAndQuotes()
    {
        var pairs = KeyValueParser.ParseFile("# comment\n\nexport A=1\r\nB=\"two words\"\nC=x=y\n", "data.env");

        Assert.Equal(new Dictionary<string, string> { ["A"] = "1", ["B"] = "two words", ["C"] = "x=y" }, pairs);
    }

    [Fact]
    public void ParseFile_JsonObject_ReadsStringValues()
    {
        var pairs = KeyValueParser.ParseFile("""{"A":"1","B":"line\nbreak"}""", "data.json");

        Assert.Equal("line\nbreak", pairs["B"]);
    }

    [Theory]
    [InlineData("{\"A\": secret-json-value}")]
    [InlineData("{\"A\": 1}")]
    [InlineData("A=1\nsecret-line-value\n")]
    public void ParseFile_Invalid_ThrowsUsageWithoutContent(string text)
    {
        var error = Assert.Throws<UsageException>(() => KeyValueParser.ParseFile(text, "data"));

        Assert.DoesNotContain("secret-", error.Message, StringComparison.Ordinal);
    }
}
