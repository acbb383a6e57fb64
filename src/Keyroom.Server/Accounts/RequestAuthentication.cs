using Keyroom.Core;
using Keyroom.Core.Auth;

namespace Keyroom.Server.Accounts;

/// <summary>
/// Authenticates REST calls from the <c>Authorization: Bearer</c> header (an <c>ma-…</c> API key or a
/// participant JWT) in an endpoint filter, so every endpoint of a group receives a <see cref="Principal"/>.
/// </summary>
internal static class RequestAuthentication
{
    private const string ItemKey = "keyroom.principal";

    /// <summary>Requires a valid bearer credential on every endpoint of the group.</summary>
    public static RouteGroupBuilder RequireKeyroomAuth(this RouteGroupBuilder group)
    {
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var header = http.Request.Headers.Authorization.ToString();
            var bearer = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
            var apiKeys = http.RequestServices.GetRequiredService<ApiKeyService>();
            try
            {
                http.Items[ItemKey] = await apiKeys.AuthenticateAsync(bearer, http.RequestAborted);
            }
            catch (KeyroomException ex) when (ex.Error == KeyroomError.Unauthenticated)
            {
                http.Response.Headers.WWWAuthenticate = "Bearer";
                return Errors.ProblemMapping.Problem(ex);
            }

            return await next(context);
        });
        return group;
    }

    /// <summary>The authenticated caller of this request.</summary>
    public static Principal GetPrincipal(this HttpContext context) =>
        context.Items[ItemKey] as Principal ?? throw new InvalidOperationException("the endpoint is not behind RequireKeyroomAuth");
}
