using System.Security.Cryptography;
using Keyroom.Core;

namespace Keyroom.Server.Accounts;

/// <summary>Field checks shared by the accounts endpoints. Messages name the field, never a secret value.</summary>
internal static class RequestRules
{
    public const int MaxRoomNameLength = 128;

    /// <summary>Returns the value, or throws InvalidRequest naming the missing field.</summary>
    public static string Required(string? value, string field) =>
        string.IsNullOrEmpty(value) ? throw KeyroomException.Invalid($"'{field}' is required") : value;

    /// <summary>Returns the value, or throws InvalidRequest naming the missing field.</summary>
    public static T Required<T>(T? value, string field)
        where T : class =>
        value ?? throw KeyroomException.Invalid($"'{field}' is required");

    /// <summary>Returns a required text of at most <paramref name="maxLength"/> characters.</summary>
    public static string RequiredText(string? value, string field, int maxLength = 256)
    {
        var text = Required(value, field);
        return text.Length <= maxLength ? text : throw KeyroomException.Invalid($"'{field}' may be at most {maxLength} characters");
    }

    /// <summary>Returns an optional text of at most <paramref name="maxLength"/> characters; empty counts as absent.</summary>
    public static string? OptionalText(string? value, string field, int maxLength = 256) =>
        string.IsNullOrEmpty(value) ? null : RequiredText(value, field, maxLength);

    /// <summary>A new secret id.</summary>
    public static string NewId() => Guid.NewGuid().ToString("D");

    /// <summary>
    /// Checks a caller-chosen secret id: 1 to 256 characters that can be used as one URL path segment
    /// (no '/', '\', '?', '#', '%', whitespace or control characters, and not "." or "..").
    /// </summary>
    public static string SecretId(string id, string field)
    {
        var usable = id.Length is > 0 and <= 256 && id is not "." and not ".."
            && !id.Any(c => c is '/' or '\\' or '?' or '#' or '%' || char.IsWhiteSpace(c) || char.IsControl(c));
        return usable
            ? id
            : throw KeyroomException.Invalid($"'{field}' must be 1 to 256 characters without '/', '\\', '?', '#', '%', whitespace or control characters");
    }

    /// <summary>Checks a room name: [A-Za-z0-9._-]{1,128}, and not "." or ".." (they would not survive a URL path).</summary>
    public static string RoomName(string name, string field = "name")
    {
        var valid = name.Length is > 0 and <= MaxRoomNameLength && name is not "." and not ".."
            && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
        return valid
            ? name
            : throw KeyroomException.Invalid($"'{field}' must be 1 to {MaxRoomNameLength} characters from A-Z a-z 0-9 . _ - (and not '.' or '..')");
    }

    /// <summary>Empty query values count as absent.</summary>
    public static string? Optional(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>Zeroes a value once the response has been sent.</summary>
    public static void ZeroAfterResponse(this HttpResponse response, byte[] value) =>
        response.OnCompleted(static state =>
        {
            CryptographicOperations.ZeroMemory((byte[])state);
            return Task.CompletedTask;
        }, value);

    /// <summary>Zeroes a request value when done with it.</summary>
    public static void Zero(byte[]? value)
    {
        if (value is not null)
        {
            CryptographicOperations.ZeroMemory(value);
        }
    }
}
