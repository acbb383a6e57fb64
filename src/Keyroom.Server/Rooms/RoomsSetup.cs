namespace Keyroom.Server.Rooms;

/// <summary>The room WebSocket protocol: placeholder until the hub lands.</summary>
internal static class RoomsSetup
{
    public static IServiceCollection AddRooms(this IServiceCollection services) => services;

    public static IEndpointRouteBuilder MapRooms(this IEndpointRouteBuilder app) => app;
}
