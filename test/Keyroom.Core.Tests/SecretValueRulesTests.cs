using System.Text;
using Keyroom.Core.Secrets;

namespace Keyroom.Core.Tests;

public sealed class SecretValueRulesTests
{
    private const string Canary = "CANARY-s3cr3t-value";

    private static void Validate(string type, string json) => SecretValueRules.Validate(type, Encoding.UTF8.GetBytes(json));

    private static KeyroomException Invalid(string type, string json)
    {
        var ex = Assert.Throws<KeyroomException>(() => Validate(type, json));
        Assert.Equal(KeyroomError.InvalidRequest, ex.Error);
        Assert.DoesNotContain(Canary, ex.Message, StringComparison.Ordinal);
        return ex;
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"A":"1"}""")]
    [InlineData("""{"_":"","a_B9":"x","DATABASE_URL":"postgres://u:p@h/db"}""")]
    [InlineData(""" { "A" : "multi\nline" } """)]
    [InlineData("""{"A":"Ünicode values are fine"}""")]
    public void Keys_Valid(string json)
    {
        Validate(SecretValueRules.KeysType, json);
    }

    [Theory]
    [InlineData("", "JSON object")]
    [InlineData("not json", "JSON object")]
    [InlineData("[]", "JSON object")]
    [InlineData("\"" + Canary + "\"", "JSON object")]
    [InlineData("{\"A\":\"" + Canary + "\"", "not valid JSON")]
    [InlineData("{\"1A\":\"" + Canary + "\"}", "'1A' is not")]
    [InlineData("{\"A-B\":\"" + Canary + "\"}", "'A-B' is not")]
    [InlineData("{\"\":\"" + Canary + "\"}", "'' is not")]
    [InlineData("{\"A B\":\"" + Canary + "\"}", "'A B' is not")]
    [InlineData("{\"Ünicode\":\"" + Canary + "\"}", "'Ünicode' is not")]
    [InlineData("{\"A\":\"" + Canary + "\",\"A\":\"x\"}", "names 'A' twice")]
    [InlineData("{\"A\":1}", "for 'A' must be a string")]
    [InlineData("{\"A\":null}", "for 'A' must be a string")]
    [InlineData("{\"A\":true}", "for 'A' must be a string")]
    [InlineData("{\"A\":{\"B\":\"" + Canary + "\"}}", "for 'A' must be a string")]
    [InlineData("{\"A\":[\"" + Canary + "\"]}", "for 'A' must be a string")]
    [InlineData("{\"A\":\"" + Canary + "\"} {}", "")]
    public void Keys_Invalid(string json, string messagePart)
    {
        var ex = Invalid(SecretValueRules.KeysType, json);
        Assert.Contains(messagePart, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"server":"ghcr.io","username":"u","password":"p"}""")]
    [InlineData("""{"server":"ghcr.io","username":"u","password":"p","email":"e@x"}""")]
    [InlineData("""{"password":"p","email":"","username":"","server":""}""")]
    public void Docker_Valid(string json)
    {
        Validate(SecretValueRules.DockerType, json);
    }

    [Theory]
    [InlineData("[]", "JSON object")]
    [InlineData("{\"server\":\"s\",\"username\":\"u\"}", "needs 'password'")]
    [InlineData("{\"server\":\"s\",\"password\":\"" + Canary + "\"}", "needs 'username'")]
    [InlineData("{\"username\":\"u\",\"password\":\"" + Canary + "\"}", "needs 'server'")]
    [InlineData("{}", "needs 'server'")]
    [InlineData("{\"server\":\"s\",\"username\":\"u\",\"password\":\"" + Canary + "\",\"token\":\"t\"}", "'token' is not one of them")]
    [InlineData("{\"server\":\"s\",\"username\":\"u\",\"password\":1}", "for 'password' must be a string")]
    [InlineData("{\"server\":\"s\",\"username\":\"u\",\"password\":\"" + Canary + "\",\"email\":null}", "for 'email' must be a string")]
    [InlineData("{\"server\":\"s\",\"username\":\"u\",\"password\":\"" + Canary, "")]
    public void Docker_Invalid(string json, string messagePart)
    {
        var ex = Invalid(SecretValueRules.DockerType, json);
        Assert.Contains(messagePart, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("text/plain", "not json at all")]
    [InlineData("application/octet-stream", "")]
    [InlineData("", "[1,2,3]")]
    public void OtherTypes_AreNotChecked(string type, string value)
    {
        Validate(type, value);
    }

    [Theory]
    [InlineData("A", true)]
    [InlineData("_", true)]
    [InlineData("a1_", true)]
    [InlineData("1a", false)]
    [InlineData("", false)]
    [InlineData("a-b", false)]
    [InlineData("a.b", false)]
    [InlineData("é", false)]
    public void IsEnvironmentVariableName(string name, bool expected)
    {
        Assert.Equal(expected, SecretValueRules.IsEnvironmentVariableName(name));
    }
}
