using System.Text.Json;
using Keyroom.Client;

namespace Keyroom.Cli.Input;

/// <summary>
/// Reads the NAME=VALUE pairs of a <c>keys</c> secret from <c>--data</c> tokens or a data file. Errors name
/// the offending NAME or position, never a value.
/// </summary>
internal static class KeyValueParser
{
    /// <summary>
    /// Parses the argv tokens given to one or more <c>--data</c> options. Each token holds one or more
    /// pairs separated by whitespace: <c>"A=1 B=2"</c> is two pairs, while <c>"A=hello world"</c> is one (a
    /// space only starts a new pair when the next word contains '='). A value may be quoted inside the token
    /// (<c>'A="x B=y"'</c>) to keep such text together. A value may contain '=' (<c>URL=a?b=c</c>).
    /// </summary>
    public static Dictionary<string, string> ParseTokens(IReadOnlyList<string> tokens)
    {
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var index = 0; index < tokens.Count; index++)
        {
            ParseToken(tokens[index], index + 1, pairs);
        }

        if (pairs.Count == 0)
        {
            throw new UsageException("--data needs at least one NAME=VALUE pair");
        }

        return pairs;
    }

    /// <summary>
    /// Parses a data file: a JSON object of strings, or NAME=VALUE lines (blank lines and '#' comments are
    /// skipped, an <c>export </c> prefix is allowed, and matching quotes around a value are removed).
    /// </summary>
    public static Dictionary<string, string> ParseFile(string text, string source)
    {
        var trimmed = text.AsSpan().TrimStart();
        var pairs = trimmed.StartsWith("{") ? ParseJson(text, source) : ParseLines(text, source);
        if (pairs.Count == 0)
        {
            throw new UsageException($"{source} holds no NAME=VALUE pairs");
        }

        return pairs;
    }

    private static void ParseToken(string token, int tokenNumber, Dictionary<string, string> pairs)
    {
        var position = SkipWhitespace(token, 0);
        if (position == token.Length)
        {
            return;
        }

        while (position < token.Length)
        {
            var equals = token.IndexOf('=', position);
            var whitespace = IndexOfWhitespace(token, position);
            if (equals < 0 || (whitespace >= 0 && whitespace < equals))
            {
                throw new UsageException($"--data item {tokenNumber} is not a list of NAME=VALUE pairs");
            }

            var name = token[position..equals];
            Add(pairs, name, ReadValue(token, equals + 1, out position), $"--data item {tokenNumber}");
            position = SkipWhitespace(token, position);
        }
    }

    /// <summary>Reads a value starting at <paramref name="start"/>; <paramref name="end"/> is where the next pair may begin.</summary>
    private static string ReadValue(string token, int start, out int end)
    {
        if (start < token.Length && token[start] is '"' or '\'')
        {
            var close = token.IndexOf(token[start], start + 1);
            if (close > 0 && (close == token.Length - 1 || char.IsWhiteSpace(token[close + 1])))
            {
                end = close + 1;
                return token[(start + 1)..close];
            }
        }

        // A bare value runs to the first whitespace followed by a word containing '=' (the next pair, whose
        // name is then checked), or to the end of the token.
        var position = start;
        while (position < token.Length)
        {
            if (char.IsWhiteSpace(token[position]))
            {
                var next = SkipWhitespace(token, position);
                if (StartsLikePair(token, next))
                {
                    end = position;
                    return token[start..position];
                }

                position = next;
                continue;
            }

            position++;
        }

        end = token.Length;
        return token[start..];
    }

    /// <summary>Whether the word at <paramref name="position"/> looks like a pair: text, then '=', before any whitespace.</summary>
    private static bool StartsLikePair(string text, int position)
    {
        for (var i = position; i < text.Length && !char.IsWhiteSpace(text[i]); i++)
        {
            if (text[i] == '=')
            {
                return i > position;
            }
        }

        return false;
    }

    private static Dictionary<string, string> ParseLines(string text, string source)
    {
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = text.Split('\n');
        for (var index = 0; index < lines.Length; index++)
        {
            var line = lines[index].TrimEnd('\r');
            var content = line.TrimStart();
            if (content.Length == 0 || content[0] == '#')
            {
                continue;
            }

            if (content.StartsWith("export ", StringComparison.Ordinal))
            {
                content = content["export ".Length..].TrimStart();
            }

            var equals = content.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                throw new UsageException($"line {index + 1} of {source} is not NAME=VALUE");
            }

            var value = content[(equals + 1)..];
            if (value.Length >= 2 && value[0] is '"' or '\'' && value[^1] == value[0])
            {
                value = value[1..^1];
            }

            Add(pairs, content[..equals].TrimEnd(), value, $"line {index + 1} of {source}");
        }

        return pairs;
    }

    private static Dictionary<string, string> ParseJson(string text, string source)
    {
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new UsageException($"{source} is not a JSON object");
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Value.ValueKind != JsonValueKind.String)
                {
                    throw new UsageException($"in {source}, the value of '{Shorten(property.Name)}' is not a string");
                }

                Add(pairs, property.Name, property.Value.GetString()!, source);
            }
        }
        catch (JsonException)
        {
            // The parser's message can quote the text, which holds secret values.
            throw new UsageException($"{source} starts with '{{' but is not valid JSON");
        }

        return pairs;
    }

    private static void Add(Dictionary<string, string> pairs, string name, string value, string where)
    {
        if (name.Length == 0)
        {
            throw new UsageException($"{where}: a pair has an empty NAME");
        }

        if (!SecretValues.IsEnvironmentVariableName(name))
        {
            throw new UsageException($"{where}: '{Shorten(name)}' is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
        }

        if (!pairs.TryAdd(name, value))
        {
            throw new UsageException($"{where}: {name} is given more than once");
        }
    }

    private static string Shorten(string name) => name.Length <= 40 ? name : name[..40] + "…";

    private static int SkipWhitespace(string text, int position)
    {
        while (position < text.Length && char.IsWhiteSpace(text[position]))
        {
            position++;
        }

        return position;
    }

    private static int IndexOfWhitespace(string text, int start)
    {
        for (var i = start; i < text.Length; i++)
        {
            if (char.IsWhiteSpace(text[i]))
            {
                return i;
            }
        }

        return -1;
    }
}
