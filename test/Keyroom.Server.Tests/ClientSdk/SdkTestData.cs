using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Keyroom.Server.Tests.ClientSdk;

/// <summary>The spec's example files (verbatim copies of /work/shared/spec/examples in ClientSdk/TestData).</summary>
public static class SdkTestData
{
    private static readonly string Directory = FindDirectory();

    public static JsonObject Load(string name) => JsonNode.Parse(File.ReadAllText(Path.Combine(Directory, name)))!.AsObject();

    /// <summary>Compact JSON as JSON.stringify writes it (no escaping of non-ASCII or HTML characters).</summary>
    public static byte[] Compact(JsonNode node)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            node.WriteTo(writer);
        }

        return stream.ToArray();
    }

    public static string CompactText(JsonNode node) => Encoding.UTF8.GetString(Compact(node));

    private static string FindDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "test", "Keyroom.Server.Tests", "ClientSdk", "TestData");
            if (File.Exists(Path.Combine(candidate, "secrets-toolkit.json")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("ClientSdk/TestData not found above " + AppContext.BaseDirectory);
    }
}
