using System.Text.Json;
using Keyroom.Client.Serialization;

namespace Keyroom.Client;

/// <summary>
/// Encodes and decodes the two secret values the server understands: <c>keys</c> (UTF-8 JSON of a flat
/// object of strings whose names are environment variable names) and <c>docker</c> (UTF-8 JSON of
/// server, username, password and email). Error messages name keys, never values.
/// </summary>
public static class SecretValues
{
    /// <summary>The e-mail the official clients send when a docker secret has none.</summary>
    public const string DefaultDockerEmail = "none@example.com";

    /// <summary>Whether a name can be an environment variable: <c>[A-Za-z_][A-Za-z0-9_]*</c>.</summary>
    /// <param name="name">The candidate name.</param>
    /// <returns>True when the name is valid.</returns>
    public static bool IsEnvironmentVariableName(string? name)
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

    /// <summary>Encodes a <c>keys</c> value.</summary>
    /// <param name="keys">Environment variable names and values.</param>
    /// <returns>The UTF-8 JSON bytes.</returns>
    /// <exception cref="ArgumentException">A name is not a valid environment variable name.</exception>
    public static byte[] EncodeKeys(IReadOnlyDictionary<string, string> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var copy = new Dictionary<string, string>(keys.Count, StringComparer.Ordinal);
        foreach (var (name, value) in keys)
        {
            if (!IsEnvironmentVariableName(name))
            {
                throw new ArgumentException($"'{name}' is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)", nameof(keys));
            }

            copy[name] = value ?? throw new ArgumentException($"the value of '{name}' is null", nameof(keys));
        }

        return JsonSerializer.SerializeToUtf8Bytes(copy, KeyroomJsonContext.Default.DictionaryStringString);
    }

    /// <summary>Decodes a <c>keys</c> value.</summary>
    /// <param name="value">The UTF-8 JSON bytes.</param>
    /// <returns>The names and values, in stored order.</returns>
    /// <exception cref="FormatException">The value is not a flat JSON object of strings.</exception>
    public static IReadOnlyDictionary<string, string> DecodeKeys(ReadOnlySpan<byte> value)
    {
        Dictionary<string, string>? keys;
        try
        {
            keys = JsonSerializer.Deserialize(value, KeyroomJsonContext.Default.DictionaryStringString);
        }
        catch (JsonException)
        {
            // The parser's message can quote part of the value: say only what is wrong.
            throw new FormatException("the secret value is not a flat JSON object of strings");
        }

        if (keys is null || keys.Values.Any(v => v is null))
        {
            throw new FormatException("the secret value is not a flat JSON object of strings");
        }

        return keys;
    }

    /// <summary>Encodes a <c>docker</c> value; a missing e-mail becomes <see cref="DefaultDockerEmail"/>, as in the official clients.</summary>
    /// <param name="credentials">The credentials.</param>
    /// <returns>The UTF-8 JSON bytes.</returns>
    /// <exception cref="ArgumentException">The server, username or password is empty.</exception>
    public static byte[] EncodeDocker(DockerCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        if (string.IsNullOrWhiteSpace(credentials.Server) || string.IsNullOrEmpty(credentials.Username) || string.IsNullOrEmpty(credentials.Password))
        {
            throw new ArgumentException("docker credentials need a server, a username and a password", nameof(credentials));
        }

        var withEmail = string.IsNullOrEmpty(credentials.Email) ? credentials with { Email = DefaultDockerEmail } : credentials;
        return JsonSerializer.SerializeToUtf8Bytes(withEmail, KeyroomJsonContext.Default.DockerCredentials);
    }

    /// <summary>Decodes a <c>docker</c> value.</summary>
    /// <param name="value">The UTF-8 JSON bytes.</param>
    /// <returns>The credentials.</returns>
    /// <exception cref="FormatException">The value is not docker credentials JSON.</exception>
    public static DockerCredentials DecodeDocker(ReadOnlySpan<byte> value)
    {
        try
        {
            return JsonSerializer.Deserialize(value, KeyroomJsonContext.Default.DockerCredentials)
                ?? throw new FormatException("the secret value is not docker credentials JSON");
        }
        catch (JsonException)
        {
            throw new FormatException("the secret value is not docker credentials JSON (server, username, password, email)");
        }
    }
}
