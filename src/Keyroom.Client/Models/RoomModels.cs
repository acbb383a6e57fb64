using System.Text;
using System.Text.Json;

namespace Keyroom.Client;

/// <summary>A room.</summary>
public sealed record Room
{
    /// <summary>The room's id.</summary>
    public string Id { get; init; } = string.Empty;

    /// <summary>The room's name (unique in the project; the WebSocket path segment).</summary>
    public string Name { get; init; } = string.Empty;

    /// <summary>Free JSON metadata, if any.</summary>
    public JsonElement? Metadata { get; init; }

    /// <summary>String annotations, if any.</summary>
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }
}

/// <summary>A request to create a room.</summary>
public sealed record CreateRoomRequest
{
    /// <summary>The room's name.</summary>
    public required string Name { get; init; }

    /// <summary>Return the existing room instead of failing with 409 when it exists.</summary>
    public bool IfNotExists { get; init; }

    /// <summary>Free JSON metadata.</summary>
    public JsonElement? Metadata { get; init; }

    /// <summary>String annotations.</summary>
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }

    /// <summary>Per-user ApiScope JSON objects, keyed by user.</summary>
    public IReadOnlyDictionary<string, JsonElement>? Permissions { get; init; }
}

/// <summary>A request to rename a room or replace its metadata.</summary>
public sealed record UpdateRoomRequest
{
    /// <summary>The room's (new) name.</summary>
    public required string Name { get; init; }

    /// <summary>Free JSON metadata.</summary>
    public JsonElement? Metadata { get; init; }

    /// <summary>String annotations.</summary>
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }
}

/// <summary>What <c>connect</c> returns: a participant token and where to use it.</summary>
public sealed record RoomConnection
{
    /// <summary>The participant JWT. <see cref="object.ToString"/> never shows it.</summary>
    public string Jwt { get; init; } = string.Empty;

    /// <summary>The room's name.</summary>
    public string RoomName { get; init; } = string.Empty;

    /// <summary>The project the room belongs to.</summary>
    public string ProjectId { get; init; } = string.Empty;

    /// <summary>The room's WebSocket URL (<c>ws(s)://host/rooms/&lt;room&gt;</c>).</summary>
    public Uri? RoomUrl { get; init; }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("RoomName = ").Append(RoomName).Append(", ProjectId = ").Append(ProjectId)
            .Append(", RoomUrl = ").Append(RoomUrl).Append(", Jwt = ***");
        return true;
    }
}
