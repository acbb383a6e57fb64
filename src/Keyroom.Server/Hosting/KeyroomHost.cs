using Keyroom.Core.Audit;
using Keyroom.Core.Auth;
using Keyroom.Core.Crypto;
using Keyroom.Core.Secrets;
using Keyroom.Core.Storage;
using Keyroom.Server.Accounts;
using Keyroom.Server.Admin;
using Keyroom.Server.Errors;
using Keyroom.Server.OAuth;
using Keyroom.Server.Rooms;
using Keyroom.Storage.Sqlite;
using Microsoft.Extensions.Options;
using Scalar.AspNetCore;

namespace Keyroom.Server.Hosting;

/// <summary>
/// Builds the Keyroom web application. <c>dotnet run --project src/Keyroom.Server</c>, <c>keyroom serve</c>
/// and the tests all go through here, so they run the same server.
/// </summary>
internal static class KeyroomHost
{
    /// <summary>KEYROOM_* environment variables and their configuration keys.</summary>
    private static readonly (string Variable, string Key)[] EnvironmentMap =
    [
        ("KEYROOM_DATA", "Keyroom:DataDirectory"),
        ("KEYROOM_MASTER_KEY", "Keyroom:MasterKey"),
        ("KEYROOM_MASTER_KEY_FILE", "Keyroom:MasterKeyFile"),
        ("KEYROOM_PREVIOUS_MASTER_KEYS", "Keyroom:PreviousMasterKeys"),
        ("KEYROOM_BOOTSTRAP_KEY_FILE", "Keyroom:BootstrapKeyFile"),
        ("KEYROOM_PUBLIC_URL", "Keyroom:PublicUrl"),
    ];

    private static readonly Dictionary<string, string> SwitchMap = new(StringComparer.Ordinal)
    {
        ["--data"] = "Keyroom:DataDirectory",
        ["--master-key-file"] = "Keyroom:MasterKeyFile",
        ["--public-url"] = "Keyroom:PublicUrl",
    };

    /// <summary>Builds and runs the server until shutdown; start-up failures are one clear line and exit code 1.</summary>
    public static async Task<int> RunAsync(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        try
        {
            await using var app = Build(args, configure);
            await app.RunAsync();
            return 0;
        }
        catch (Exception ex) when (ex is OptionsValidationException or InvalidOperationException or Keyroom.Core.KeyroomException or IOException)
        {
            await Console.Error.WriteLineAsync("keyroom: " + ex.Message);
            return 1;
        }
    }

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args });
        var fromEnvironment = EnvironmentMap
            .Select(m => (m.Key, Value: Environment.GetEnvironmentVariable(m.Variable)))
            .Where(m => !string.IsNullOrEmpty(m.Value))
            .ToDictionary(m => m.Key, m => m.Value);
        builder.Configuration.AddInMemoryCollection(fromEnvironment);
        builder.Configuration.AddCommandLine(args, SwitchMap);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        // Start-up failures are reported once, as one line, by RunAsync.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        builder.WebHost.UseKestrelHttpsConfiguration();

        builder.Services.AddKeyroomCore(builder.Configuration);
        builder.Services.AddOAuth();
        builder.Services.AddKeyroomProblems();
        builder.Services.AddKeyroomOpenApi();
        builder.Services.AddRooms();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseKeyroomProblems();
        app.UseStatusCodePages();
        app.Use(BatchingUpgradeFeature.InstallAsync);
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        app.MapOpenApi();
        app.MapScalarApiReference("/docs");
        app.MapGet("/", () => Results.Redirect("/docs")).ExcludeFromDescription();
        app.MapGet("/healthz", () => Results.Ok(new { status = "ok" })).ExcludeFromDescription();
        app.MapAccountsEndpoints();
        app.MapAdminEndpoints();
        app.MapRooms();
        return app;
    }

    /// <summary>Registers options, storage, crypto, audit, auth and secrets, and the start-up checks.</summary>
    public static IServiceCollection AddKeyroomCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<KeyroomOptions>().Bind(configuration.GetSection(KeyroomOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<KeyroomOptions>, KeyroomOptionsValidator>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<SqliteKeyroomStore>(sp => new SqliteKeyroomStore(sp.GetRequiredService<IOptions<KeyroomOptions>>().Value.DatabasePath));
        services.AddSingleton<IKeyroomStore>(sp => sp.GetRequiredService<SqliteKeyroomStore>());
        services.AddSingleton<ISecretStore>(sp => sp.GetRequiredService<IKeyroomStore>());
        services.AddSingleton<IAccountStore>(sp => sp.GetRequiredService<IKeyroomStore>());
        services.AddSingleton<IAuditStore>(sp => sp.GetRequiredService<IKeyroomStore>());
        services.AddSingleton<IMetaStore>(sp => sp.GetRequiredService<IKeyroomStore>());
        services.AddSingleton<IRewrapStore>(sp => sp.GetRequiredService<IKeyroomStore>());
        services.AddSingleton(sp =>
        {
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Keyroom.MasterKey");
            return KeyringLoader.Load(sp.GetRequiredService<IOptions<KeyroomOptions>>().Value, logger);
        });
        services.AddSingleton(sp => sp.GetRequiredService<LoadedKeyring>().Keyring);
        services.AddSingleton<EnvelopeCipher>();
        services.AddSingleton<MasterKeyRotation>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<ApiKeyService>();
        services.AddSingleton<SecretService>();
        services.AddHostedService<KeyroomStartup>();
        services.AddAdmin();
        return services;
    }
}
