using Microsoft.OpenApi;

namespace Keyroom.Server.Hosting;

/// <summary>
/// The OpenAPI document (<c>/openapi/v1.json</c>, shown at <c>/docs</c>): it declares the one way every
/// described endpoint authenticates, a bearer token, so generated clients and the docs page send it.
/// </summary>
internal static class OpenApiSetup
{
    public const string BearerSchemeName = "bearer";

    public static IServiceCollection AddKeyroomOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(options => options.AddDocumentTransformer(static (document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[BearerSchemeName] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "An API key (ma-…, from the first start or POST …/api-keys) or a participant JWT (from POST …/rooms/{room}/connect).",
            };
            document.Security ??= [];
            document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerSchemeName, document)] = [] });
            return Task.CompletedTask;
        }));
}
