using System.Text;
using System.Text.Json.Nodes;

namespace Keyroom.Protocol.Tests;

/// <summary>
/// The streaming decoders (<see cref="InvokeToolRequest.Decode"/>, <see cref="Content.Decode"/>) against the DOM
/// ones they replace on the hot path (<see cref="PackedMessage.Decode"/> then <c>Parse</c>): over seeded random
/// headers (right and wrong kinds, unknown keys, nesting, duplicates of known keys) and byte mutations of them,
/// both accept with the same result or both reject with a <see cref="ProtocolException"/>.
/// </summary>
public sealed class HeaderReaderDifferentialTests
{
    private const int Seed = 0x4B52_4844;

    private static readonly string[] ContentTypes = ["json", "binary", "file", "text", "link", "empty", "error", "control", "nope", ""];

    [Fact]
    public void Decode_RandomInvokeHeaders_SameOutcomeAsDomParser()
    {
        var random = new Random(Seed);
        var accepted = 0;
        for (var i = 0; i < 4000; i++)
        {
            var header = RandomInvokeHeader(random);
            var outcome = CompareInvoke(Mutate(random, header), RandomPayload(random));
            accepted += outcome ? 1 : 0;
        }

        // The generator must exercise both outcomes, or the comparison proves little.
        Assert.InRange(accepted, 200, 3800);
    }

    [Fact]
    public void Decode_RandomContentHeaders_SameOutcomeAsDomParser()
    {
        var random = new Random(Seed + 1);
        var accepted = 0;
        for (var i = 0; i < 4000; i++)
        {
            var header = RandomContentHeader(random, depth: 0);
            var outcome = CompareContent(Mutate(random, header), RandomPayload(random));
            accepted += outcome ? 1 : 0;
        }

        Assert.InRange(accepted, 200, 3800);
    }

    [Theory]
    [InlineData("{\"toolkit\":\"s\",\"tool\":\"t\",\"tool\":\"u\",\"arguments\":{\"type\":\"empty\"}}")]
    [InlineData("{\"toolkit\":\"s\",\"tool\":\"t\",\"arguments\":{\"type\":\"json\",\"json\":{\"a\":1,\"a\":2}}}")]
    [InlineData("{\"toolkit\":\"s\",\"tool\":\"t\",\"arguments\":{\"type\":\"empty\",\"type\":\"empty\"}}")]
    [InlineData("{\"toolkit\":\"s\",\"tool\":\"t\",\"arguments\":{\"type\":\"json\",\"json\":{\"a\":{\"b\":1,\"b\":2}}}}")]
    [InlineData("{\"toolkit\":\"s\",\"tool\":\"t\",\"arguments\":{\"type\":\"json\",\"json\":{\"a\":[{\"b\":1,\"b\":2}]}}}")]
    [InlineData("{\"toolkit\":\"s\",\"tool\":\"t\",\"arguments\":{\"type\":\"json\",\"json\":{\"a\":1,\"\\u0061\":2}}}")]
    [InlineData("{\"toolkit\":\"s\",\"tool\":\"t\",\"arguments\":{\"type\":\"empty\"},\"caller_context\":{\"k\":1,\"k\":1}}")]
    public void Decode_DuplicateKnownOrKeptKeys_Rejected(string header)
    {
        Assert.Throws<ProtocolException>(() => InvokeToolRequest.Decode(Pack(header, [])));
    }

    [Theory]
    [InlineData("{\"type\":\"json\",\"json\":{\"n\":1.50,\"m\":1e400,\"z\":-0,\"big\":123456789012345678901234567890}}")]
    [InlineData("{\"type\":\"json\",\"json\":{\"s\":\"\\u00e9\\n\\ud83d\\ude00/\\/<>&'\",\"a\":[null,true,false,[],{},[[1]],\"x\"],\"o\":{\"\":{}}}}")]
    [InlineData("{\"type\":\"binary\",\"headers\":{\"k\":[1,2.25,\"v\"],\"n\":null}}")]
    public void Decode_KeptObjectsWithEveryValueKind_SameResultAsDomParser(string header)
    {
        // Kept objects are built as they are read: numbers keep their exact text, strings their value.
        Assert.True(CompareContent(header, [1, 2, 3]));
    }

    [Fact]
    public void Decode_InvalidUtf8OrLoneSurrogatesAnywhere_SameOutcomeAsDomParser()
    {
        // The streaming decoders check strings in their one pass (names and values they read, skip or keep);
        // the DOM path checks them in a second walk. Inject bad sequences at random places of valid headers.
        byte[][] bad = [[0xFF], [0x80], [0xC3], [0xED, 0xA0, 0x80], .. new[] { "\\udc00", "\\ud83d", "\\ud83dx" }.Select(Encoding.UTF8.GetBytes)];
        var random = new Random(Seed + 2);
        var rejected = 0;
        for (var i = 0; i < 4000; i++)
        {
            var invoke = i % 2 == 0;
            var header = Encoding.UTF8.GetBytes(invoke ? RandomInvokeHeader(random) : RandomContentHeader(random, depth: 0));
            var at = random.Next(1, header.Length);
            var insert = bad[random.Next(bad.Length)];
            var mutated = header[..at].Concat(insert).Concat(header[at..]).ToArray();
            var accepted = invoke
                ? Compare(mutated, [], packed => InvokeToolRequest.Parse(PackedMessage.Decode(packed)), packed => InvokeToolRequest.Decode(packed), request => request.Encode())
                : Compare(mutated, [], packed => Content.Parse(PackedMessage.Decode(packed)), packed => Content.Decode(packed), content => content.Encode());
            rejected += accepted ? 0 : 1;
        }

        Assert.InRange(rejected, 2000, 4000);
    }

    [Theory]
    [InlineData("{\"toolkit\":\"s\",\"tool\":\"t\",\"arguments\":{\"type\":\"empty\"},\"extra\":[\"\u0001\"]}")]
    [InlineData("{\"toolkit\":\"s\",\"tool\":\"t\",\"arguments\":{\"type\":\"empty\"},\"\u0001\":1}")]
    [InlineData("{\"toolkit\":\"s\",\"tool\":\"t\",\"arguments\":{\"type\":\"empty\",\"name\":[\"\u0001\"]}}")]
    [InlineData("{\"toolkit\":\"s\",\"tool\":\"t\",\"arguments\":{\"type\":\"empty\",\"code\":{\"k\":\"\u0001\"}}}")]
    [InlineData("{\"toolkit\":\"s\",\"tool\":\"t\",\"arguments\":{\"type\":\"json\",\"json\":{\"a\":{\"\u0001\":\"b\"}}}}")]
    [InlineData("{\"toolkit\":\"s\",\"tool\":\"t\",\"arguments\":{\"type\":\"json\",\"json\":{\"a\":[\"\u0001\"]}}}")]
    [InlineData("{\"toolkit\":\"s\",\"tool\":\"t\",\"arguments\":{\"type\":\"empty\",\"json\":\"\u0001\"}}")]
    [InlineData("{\"toolkit\":\"s\",\"tool\":\"t\",\"arguments\":{\"type\":\"empty\"},\"caller_context\":{\"k\":\"\u0001\"}}")]
    public void Decode_InvalidUtf8InEverySkippedOrKeptPlace_Rejected(string template)
    {
        // \u0001 in the template stands for one invalid UTF-8 byte (0xFF) in the packed header.
        var header = Encoding.UTF8.GetBytes(template).Select(b => b == 1 ? (byte)0xFF : b).ToArray();
        var packed = Pack(header, []);
        Assert.Throws<ProtocolException>(() => PackedMessage.Decode(packed));
        Assert.Throws<ProtocolException>(() => InvokeToolRequest.Decode(packed));
    }

    private static bool CompareInvoke(string header, byte[] payload) =>
        Compare(header, payload, packed => InvokeToolRequest.Parse(PackedMessage.Decode(packed)), packed => InvokeToolRequest.Decode(packed), request => request.Encode());

    private static bool CompareContent(string header, byte[] payload) =>
        Compare(header, payload, packed => Content.Parse(PackedMessage.Decode(packed)), packed => Content.Decode(packed), content => content.Encode());

    /// <summary>Both decoders accept with the same re-encoded result, or both reject; returns whether they accepted.</summary>
    private static bool Compare<T>(string header, byte[] payload, Func<byte[], T> dom, Func<byte[], T> streaming, Func<T, byte[]> encode)
        where T : class =>
        Compare(Encoding.UTF8.GetBytes(header), payload, dom, streaming, encode);

    private static bool Compare<T>(byte[] header, byte[] payload, Func<byte[], T> dom, Func<byte[], T> streaming, Func<T, byte[]> encode)
        where T : class
    {
        var packed = Pack(header, payload);
        var (domResult, domError) = Try(dom, packed);
        var (fastResult, fastError) = Try(streaming, packed);

        Assert.True((domResult is null) == (fastResult is null), $"header {Convert.ToHexString(header)}: DOM {Describe(domError)}, streaming {Describe(fastError)}");
        if (domResult is not null)
        {
            Assert.Equal(encode(domResult), encode(fastResult!));
        }

        return domResult is not null;

        static (T? Result, ProtocolException? Error) Try(Func<byte[], T> decode, byte[] packed)
        {
            try
            {
                return (decode(packed), null);
            }
            catch (ProtocolException ex)
            {
                return (null, ex);
            }
        }
    }

    private static string Describe(ProtocolException? error) => error is null ? "accepted" : "rejected: " + error.Message;

    private static byte[] Pack(string header, byte[] payload) => Pack(Encoding.UTF8.GetBytes(header), payload);

    private static byte[] Pack(byte[] json, byte[] payload)
    {
        var packed = new byte[8 + json.Length + payload.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(packed.AsSpan(4), (uint)json.Length);
        json.CopyTo(packed, 8);
        payload.CopyTo(packed, 8 + json.Length);
        return packed;
    }

    private static byte[] RandomPayload(Random random)
    {
        var payload = new byte[random.Next(0, 3) == 0 ? 0 : random.Next(1, 64)];
        random.NextBytes(payload);
        return payload;
    }

    /// <summary>Half unchanged; otherwise truncated, or one character replaced with something structural.</summary>
    private static string Mutate(Random random, string header)
    {
        switch (random.Next(8))
        {
            case 0 when header.Length > 1:
                return header[..random.Next(1, header.Length)];
            case 1 when header.Length > 1:
                var at = random.Next(header.Length);
                const string Replacements = "{}[],:\"0an \\";
                return string.Concat(header.AsSpan(0, at), Replacements[random.Next(Replacements.Length)].ToString(), header.AsSpan(at + 1));
            case 2:
                return header + (random.Next(2) == 0 ? " " : " {}");
            default:
                return header;
        }
    }

    private static string RandomInvokeHeader(Random random)
    {
        var header = new List<(string Key, string Value)>();
        if (random.Next(12) != 0)
        {
            header.Add(("toolkit", RandomString(random)));
        }

        if (random.Next(12) != 0)
        {
            header.Add(("tool", RandomString(random)));
        }

        if (random.Next(12) != 0)
        {
            header.Add(("arguments", random.Next(15) == 0 ? RandomScalar(random) : RandomContentHeader(random, depth: 1)));
        }

        foreach (var key in new[] { "participant_id", "on_behalf_of_id", "tool_call_id" })
        {
            if (random.Next(4) == 0)
            {
                header.Add((key, random.Next(3) == 0 ? RandomScalar(random) : RandomString(random)));
            }
        }

        if (random.Next(4) == 0)
        {
            header.Add(("caller_context", random.Next(3) == 0 ? RandomScalar(random) : RandomObject(random, 0)));
        }

        AddUnknownAndDuplicates(random, header);
        return Render(random, header);
    }

    private static string RandomContentHeader(Random random, int depth)
    {
        var header = new List<(string Key, string Value)>();
        if (random.Next(15) != 0)
        {
            var type = ContentTypes[random.Next(ContentTypes.Length)];
            header.Add(("type", random.Next(20) == 0 ? RandomScalar(random) : Quote(type)));
        }

        foreach (var key in new[] { "name", "mime_type", "text", "url", "method", "message" })
        {
            if (random.Next(3) == 0)
            {
                header.Add((key, random.Next(4) == 0 ? RandomScalar(random) : key == "method" && random.Next(2) == 0 ? Quote(random.Next(2) == 0 ? "open" : "close") : RandomString(random)));
            }
        }

        foreach (var key in new[] { "code", "status_code" })
        {
            if (random.Next(3) == 0)
            {
                string[] values = ["1", "-7", "2.0", "2.5", "1e2", "99999999999", "\"42\"", "\" 5 \"", "\"x\"", "null", "true", "[]", "{}"];
                header.Add((key, values[random.Next(values.Length)]));
            }
        }

        foreach (var key in new[] { "json", "headers" })
        {
            if (random.Next(2) == 0)
            {
                header.Add((key, random.Next(4) == 0 ? RandomScalar(random) : RandomObject(random, depth)));
            }
        }

        AddUnknownAndDuplicates(random, header);
        return Render(random, header);
    }

    private static void AddUnknownAndDuplicates(Random random, List<(string Key, string Value)> header)
    {
        if (random.Next(3) == 0)
        {
            header.Add(("extra_" + random.Next(1000), random.Next(2) == 0 ? RandomObject(random, 2) : RandomScalar(random)));
        }

        if (header.Count > 0 && random.Next(10) == 0)
        {
            var duplicate = header[random.Next(header.Count)];
            if (!duplicate.Key.StartsWith("extra_", StringComparison.Ordinal))
            {
                header.Add(duplicate);
            }
        }
    }

    private static string Render(Random random, List<(string Key, string Value)> header)
    {
        // Shuffle: order must not matter.
        var shuffled = header.OrderBy(_ => random.Next()).ToList();
        return "{" + string.Join(",", shuffled.Select(p => Quote(p.Key) + ":" + p.Value)) + "}";
    }

    private static string RandomObject(Random random, int depth)
    {
        var obj = new JsonObject();
        var count = random.Next(0, 4);
        for (var i = 0; i < count; i++)
        {
            obj["k" + i] = depth < 3 && random.Next(4) == 0 ? JsonNode.Parse(RandomObject(random, depth + 1)) : random.Next(2) == 0 ? (JsonNode)random.Next(100) : RandomText(random);
        }

        return obj.ToJsonString();
    }

    private static string RandomScalar(Random random) => random.Next(5) switch
    {
        0 => "null",
        1 => "true",
        2 => random.Next(-5, 5).ToString(System.Globalization.CultureInfo.InvariantCulture),
        3 => "[1,\"a\"]",
        _ => "{}",
    };

    private static string RandomString(Random random) => Quote(random.Next(10) == 0 ? string.Empty : RandomText(random));

    private static string RandomText(Random random)
    {
        string[] parts = ["a", "secrets", "get_secret", "é", "\\u00e9", "\\n", "😀", "\\ud83d\\ude00", "x y"];
        return string.Concat(Enumerable.Range(0, random.Next(1, 4)).Select(_ => parts[random.Next(parts.Length)]));
    }

    private static string Quote(string text) => "\"" + text + "\"";
}
