using System.Text.Json;

namespace Keyroom.Core.Secrets;

/// <summary>
/// Checks values whose type has meaning: <c>keys</c> (a flat JSON object of strings whose names are valid
/// environment variable names) and <c>docker</c> (server, username, password and optional email strings).
/// Messages name the offending key, never a value.
/// </summary>
public static class SecretValueRules
{
    /// <summary>The type of project runtime secrets (K=V maps injected as environment variables).</summary>
    public const string KeysType = "keys";

    /// <summary>The type of image pull credentials.</summary>
    public const string DockerType = "docker";

    private static readonly string[] DockerFields = ["server", "username", "password", "email"];

    /// <summary>Throws InvalidRequest when the value does not fit its type.</summary>
    public static void Validate(string type, ReadOnlySpan<byte> value)
    {
        switch (type)
        {
            case KeysType:
                ValidateKeys(value);
                break;
            case DockerType:
                ValidateDocker(value);
                break;
        }
    }

    /// <summary>Whether a name can be an environment variable: [A-Za-z_][A-Za-z0-9_]*.</summary>
    public static bool IsEnvironmentVariableName(string name)
    {
        if (string.IsNullOrEmpty(name) || char.IsAsciiDigit(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }

    private static void ValidateKeys(ReadOnlySpan<byte> value)
    {
        var reader = Start(value, "keys");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (Next(ref reader, "keys") is { } name)
        {
            if (!IsEnvironmentVariableName(name))
            {
                throw KeyroomException.Invalid($"a keys secret's names must be environment variable names ([A-Za-z_][A-Za-z0-9_]*); '{Truncate(name)}' is not");
            }

            if (!seen.Add(name))
            {
                throw KeyroomException.Invalid($"a keys secret names '{name}' twice");
            }

            ReadString(ref reader, "keys", name);
        }
    }

    private static void ValidateDocker(ReadOnlySpan<byte> value)
    {
        var reader = Start(value, "docker");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (Next(ref reader, "docker") is { } name)
        {
            if (!DockerFields.Contains(name))
            {
                throw KeyroomException.Invalid($"a docker secret has only server, username, password and email; '{Truncate(name)}' is not one of them");
            }

            seen.Add(name);
            ReadString(ref reader, "docker", name);
        }

        foreach (var required in DockerFields.AsSpan(0, 3))
        {
            if (!seen.Contains(required))
            {
                throw KeyroomException.Invalid($"a docker secret needs '{required}'");
            }
        }
    }

    private static Utf8JsonReader Start(ReadOnlySpan<byte> value, string type)
    {
        var reader = new Utf8JsonReader(value, new JsonReaderOptions { MaxDepth = 4 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw KeyroomException.Invalid($"a {type} secret's value must be a JSON object");
            }
        }
        catch (JsonException)
        {
            throw KeyroomException.Invalid($"a {type} secret's value must be a JSON object");
        }

        return reader;
    }

    private static string? Next(ref Utf8JsonReader reader, string type)
    {
        try
        {
            if (!reader.Read())
            {
                throw KeyroomException.Invalid($"a {type} secret's value is not complete JSON");
            }

            if (reader.TokenType == JsonTokenType.EndObject)
            {
                if (reader.Read())
                {
                    throw KeyroomException.Invalid($"a {type} secret's value has data after the object");
                }

                return null;
            }

            return reader.GetString();
        }
        catch (JsonException)
        {
            throw KeyroomException.Invalid($"a {type} secret's value is not valid JSON");
        }
    }

    private static void ReadString(ref Utf8JsonReader reader, string type, string name)
    {
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.String)
            {
                throw KeyroomException.Invalid($"a {type} secret's value for '{name}' must be a string");
            }
        }
        catch (JsonException)
        {
            throw KeyroomException.Invalid($"a {type} secret's value is not valid JSON");
        }
    }

    private static string Truncate(string name) => name.Length <= 64 ? name : name[..64] + "…";
}
