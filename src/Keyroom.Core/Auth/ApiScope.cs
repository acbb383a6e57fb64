using System.Text.Json.Nodes;

namespace Keyroom.Core.Auth;

/// <summary>
/// The <c>api</c> grant of a participant token (spec §1.4). Serialization omits defaults, so a missing
/// boolean means its default (mostly true) and a missing allow-list means unrestricted. A top-level
/// capability counts only when its value is truthy: <c>{}</c> grants it with defaults, a missing or null key
/// does not. The JSON is kept as given so that unknown fields round-trip.
/// </summary>
public sealed class ApiScope
{
    private static readonly string[] AgentDefaultKeys =
        ["livekit", "queues", "messaging", "dataset", "memory", "sync", "storage", "containers", "developer", "agents", "llm", "secrets", "services"];

    private ApiScope(JsonObject json)
    {
        Json = json;
    }

    /// <summary>The grant as JSON.</summary>
    public JsonObject Json { get; }

    /// <summary>The secrets capability, or null when not granted.</summary>
    public SecretsGrant? Secrets => Capability("secrets") is JsonObject o ? new SecretsGrant(o) : null;

    /// <summary>Whether the admin capability is granted (needed to act for another identity).</summary>
    public bool IsAdmin => Capability("admin") is not null;

    /// <summary>Whether messaging is granted.</summary>
    public bool HasMessaging => Capability("messaging") is not null;

    /// <summary>Whether the room <c>services.list</c> tool is allowed.</summary>
    public bool CanListServices => Capability("services") is JsonObject o && Flag(o, "list", defaultValue: true);

    /// <summary>Wraps grant JSON (not copied).</summary>
    public static ApiScope FromJson(JsonObject json) => new(json ?? throw new ArgumentNullException(nameof(json)));

    /// <summary>The client's <c>agentDefault()</c> preset.</summary>
    public static ApiScope AgentDefault() => new(Preset(AgentDefaultKeys));

    /// <summary>The client's <c>userDefault()</c> preset (agent default without llm).</summary>
    public static ApiScope UserDefault() => new(Preset(AgentDefaultKeys.Where(k => k != "llm")));

    /// <summary>The client's <c>full()</c> preset: everything, admin and tunnels included.</summary>
    public static ApiScope Full() => new(Preset([.. AgentDefaultKeys, "admin", "tunnels"]));

    /// <summary>A copy without one capability.</summary>
    public ApiScope Without(string capability)
    {
        var copy = (JsonObject)Json.DeepClone();
        copy.Remove(capability);
        return new ApiScope(copy);
    }

    private static JsonObject Preset(IEnumerable<string> keys)
    {
        var o = new JsonObject();
        foreach (var key in keys)
        {
            o[key] = new JsonObject();
        }

        return o;
    }

    private JsonNode? Capability(string name)
    {
        var node = Json[name];
        return IsTruthy(node) ? node : null;
    }

    internal static bool IsTruthy(JsonNode? node) => node switch
    {
        null => false,
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        JsonValue v when v.TryGetValue<string>(out var s) => s.Length > 0,
        JsonValue v when v.TryGetValue<double>(out var d) => d != 0 && !double.IsNaN(d),
        _ => true,
    };

    internal static bool Flag(JsonObject o, string snakeName, bool defaultValue)
    {
        var node = o[snakeName] ?? o[ToCamel(snakeName)];
        return node is JsonValue v && v.TryGetValue<bool>(out var b) ? b : defaultValue;
    }

    internal static JsonNode? Field(JsonObject o, string snakeName) => o[snakeName] ?? o[ToCamel(snakeName)];

    private static string ToCamel(string snake)
    {
        var parts = snake.Split('_');
        return parts[0] + string.Concat(parts.Skip(1).Select(p => p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..]));
    }
}

/// <summary>The <c>secrets</c> capability: an optional allow-list of OAuth endpoints (spec §1.5).</summary>
public sealed class SecretsGrant
{
    private readonly JsonObject _json;

    internal SecretsGrant(JsonObject json)
    {
        _json = json;
    }

    /// <summary>
    /// Whether an OAuth token may be requested for this authorization endpoint and client id. With no
    /// allow-list every request is allowed; otherwise both values must be non-empty and one entry must match
    /// (endpoint equal, or a '*' prefix of it, and client id equal).
    /// </summary>
    public bool CanRequestOAuthToken(string? authorizationEndpoint, string? clientId)
    {
        if (ApiScope.Field(_json, "request_oauth_token") is not JsonArray allowList)
        {
            return true;
        }

        var endpoint = authorizationEndpoint?.Trim() ?? string.Empty;
        var client = clientId?.Trim() ?? string.Empty;
        if (endpoint.Length == 0 || client.Length == 0)
        {
            return false;
        }

        foreach (var entry in allowList.OfType<JsonObject>())
        {
            var pattern = entry["endpoint"]?.GetValue<string>();
            var allowedClient = (entry["client_id"] ?? entry["clientId"])?.GetValue<string>();
            if (pattern is not null && GrantPattern.Matches(pattern, endpoint) && string.Equals(allowedClient, client, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>MeshAgent grant patterns: equal, or the pattern ends in '*' and the value starts with the rest.</summary>
public static class GrantPattern
{
    /// <summary>Tests a value against a pattern.</summary>
    public static bool Matches(string pattern, string value)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(value);
        return pattern.EndsWith('*')
            ? value.StartsWith(pattern[..^1], StringComparison.Ordinal)
            : string.Equals(pattern, value, StringComparison.Ordinal);
    }
}
