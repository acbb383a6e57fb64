namespace Keyroom.Server.Admin;

/// <summary>Administrative endpoints: placeholder until they land.</summary>
internal static class AdminEndpoints
{
    public static IEndpointRouteBuilder MapAdminEndpoints(this IEndpointRouteBuilder app) => app;
}
