namespace Keyroom.Server.Accounts;

/// <summary>The accounts REST API (spec §5): placeholder until the endpoints land.</summary>
internal static class AccountsEndpoints
{
    public static IEndpointRouteBuilder MapAccountsEndpoints(this IEndpointRouteBuilder app) => app;
}
