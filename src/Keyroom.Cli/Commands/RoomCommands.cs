using System.CommandLine;
using System.Globalization;
using Keyroom.Cli.Output;
using Keyroom.Client;

namespace Keyroom.Cli.Commands;

/// <summary><c>keyroom room …</c>: rooms over REST, and the participant token to join one.</summary>
internal static partial class RoomCommands
{
    public static Command Build(Cli cli)
    {
        var room = new Command("room", "Rooms: create, list, delete, and connect (get a participant token)");
        room.Subcommands.Add(BuildCreate(cli));
        room.Subcommands.Add(BuildList(cli));
        room.Subcommands.Add(BuildDelete(cli));
        room.Subcommands.Add(BuildConnect(cli));

        // `keyroom room secret …` (room secrets over the room WebSocket) is added by Commands/RoomSecretCommands.cs,
        // which implements this partial method; until that file exists the call compiles to nothing.
        AddRoomSecretCommands(room, cli);
        return room;
    }

    /// <summary>Adds <c>keyroom room secret …</c>; implemented in <c>RoomSecretCommands.cs</c>.</summary>
    static partial void AddRoomSecretCommands(Command room, Cli cli);

    private static Command BuildCreate(Cli cli)
    {
        var name = new Option<string>("--name") { Description = "The room's name", Required = true };
        var ifNotExists = new Option<bool>("--if-not-exists") { Description = "Succeed (returning the room) when it already exists" };
        var create = new Command("create", "Create a room (admin)") { name, ifNotExists };
        create.SetAction(async (parseResult, cancellationToken) =>
        {
            var room = await cli.Connect(parseResult).CreateRoomAsync(
                new CreateRoomRequest { Name = parseResult.GetRequiredValue(name), IfNotExists = parseResult.GetValue(ifNotExists) },
                cancellationToken);
            WriteRoom(cli, parseResult, room);
            return ExitCodes.Ok;
        });
        return create;
    }

    private static Command BuildList(Cli cli)
    {
        var limit = new Option<int>("--limit") { Description = "The most rooms to list", DefaultValueFactory = _ => 50 };
        var offset = new Option<int>("--offset") { Description = "How many rooms to skip", DefaultValueFactory = _ => 0 };
        var list = new Command("list", "List rooms") { limit, offset };
        list.SetAction(async (parseResult, cancellationToken) =>
        {
            var rooms = await cli.Connect(parseResult).ListRoomsAsync(parseResult.GetValue(limit), parseResult.GetValue(offset), cancellationToken);
            if (cli.Json(parseResult))
            {
                cli.WriteJson(new RoomListOutput(rooms), CliJsonContext.Output.RoomListOutput);
            }
            else
            {
                Table.Write(cli.Out, ["ID", "NAME"], rooms.Select(r => new[] { r.Id, r.Name }), "No rooms");
            }

            return ExitCodes.Ok;
        });
        return list;
    }

    private static Command BuildDelete(Cli cli)
    {
        var room = new Argument<string>("ROOM") { Description = "The room's name or id" };
        var delete = new Command("delete", "Delete a room and its room secrets (admin)") { room };
        delete.SetAction(async (parseResult, cancellationToken) =>
        {
            var target = parseResult.GetRequiredValue(room);
            await cli.Connect(parseResult).DeleteRoomAsync(target, cancellationToken);
            if (cli.Json(parseResult))
            {
                cli.WriteJson(new DeletedOutput(target, Deleted: true), CliJsonContext.Output.DeletedOutput);
            }
            else
            {
                cli.Out.WriteLine($"deleted room {target}");
            }

            return ExitCodes.Ok;
        });
        return delete;
    }

    private static Command BuildConnect(Cli cli)
    {
        var room = new Option<string>("--room") { Description = "The room's name (created if missing)", Required = true };
        var connect = new Command("connect", "Get a participant JWT for a room and its WebSocket URL") { room };
        connect.SetAction(async (parseResult, cancellationToken) =>
        {
            var connection = await cli.Connect(parseResult).ConnectRoomAsync(parseResult.GetRequiredValue(room), cancellationToken);
            if (cli.Json(parseResult))
            {
                cli.WriteJson(connection, CliJsonContext.Output.RoomConnection);
            }
            else
            {
                Table.WriteFields(cli.Out,
                    ("Room", connection.RoomName),
                    ("Project", connection.ProjectId),
                    ("Room URL", connection.RoomUrl?.ToString()),
                    ("JWT", connection.Jwt));
            }

            return ExitCodes.Ok;
        });
        return connect;
    }

    private static void WriteRoom(Cli cli, ParseResult parseResult, Room room)
    {
        if (cli.Json(parseResult))
        {
            cli.WriteJson(room, CliJsonContext.Output.Room);
        }
        else
        {
            Table.WriteFields(cli.Out, ("Id", room.Id), ("Name", room.Name),
                ("Annotations", room.Annotations is { Count: > 0 } a ? string.Join(", ", a.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key}={p.Value}"))) : null));
        }
    }
}
