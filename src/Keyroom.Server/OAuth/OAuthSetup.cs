using Microsoft.Extensions.Options;

namespace Keyroom.Server.OAuth;

/// <summary>The OAuth broker's services: options (validated at start), the guarded token endpoint client, the broker.</summary>
internal static class OAuthSetup
{
    public static IServiceCollection AddOAuth(this IServiceCollection services)
    {
        services.AddOptions<OAuthOptions>().BindConfiguration(OAuthOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<OAuthOptions>, OAuthOptionsValidator>();
        services.AddSingleton<OutboundGuard>();
        services.AddHttpClient(TokenEndpoint.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(sp => sp.GetRequiredService<OutboundGuard>().CreateHandler())
            .ConfigureHttpClient((sp, client) =>
            {
                client.Timeout = sp.GetRequiredService<IOptions<OAuthOptions>>().Value.Timeout;
                client.MaxResponseContentBufferSize = TokenEndpoint.MaxResponseBytes;
            })
            // The default handlers log request URIs and headers; the broker logs hosts and outcomes itself.
            .RemoveAllLoggers();
        services.AddSingleton<TokenEndpoint>();
        services.AddSingleton<IOAuthBroker, OAuthBroker>();
        return services;
    }
}
