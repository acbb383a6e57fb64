using Keyroom.Server.OAuth;
using Keyroom.Server.Rooms.Toolkits;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Keyroom.Server.Rooms;

/// <summary>The MeshAgent room protocol: the WebSocket endpoint, the hub and the built-in toolkits.</summary>
internal static class RoomsSetup
{
    public static IServiceCollection AddRooms(this IServiceCollection services)
    {
        services.AddOptions<RoomOptions>().BindConfiguration(RoomOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RoomOptions>, RoomOptionsValidator>();
        services.AddMetrics();
        services.AddSingleton<RoomHub>();
        services.AddSingleton<RoomMetrics>();
        services.AddSingleton<RoomGate>();
        services.AddSingleton<RoomToolkits>();
        services.AddSingleton<IRoomToolkit, SecretsToolkit>();
        services.AddSingleton<IRoomToolkit, MessagingToolkit>();

        // The OAuth broker lives in OAuth/; until it is registered, OAuth exchanges fail with error 1007.
        services.TryAddSingleton<IOAuthBroker, UnconfiguredOAuthBroker>();
        return services;
    }

    public static IEndpointRouteBuilder MapRooms(this IEndpointRouteBuilder app)
    {
        app.MapGet("/rooms/{room}", RoomEndpoint.ConnectAsync)
            .WithName("roomWebSocket")
            .WithTags("Rooms (WebSocket)")
            .WithSummary("The MeshAgent room WebSocket: upgrade with ?token=<participant JWT>. A plain GET gets 400.")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        return app;
    }
}
