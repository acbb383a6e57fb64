using System.Text.Json.Nodes;
using Keyroom.Core.Auth;
using Keyroom.Server.Tests.Support;

namespace Keyroom.Server.Tests.OAuth;

/// <summary>One oidc-provider and one Keyroom server (plain http to loopback allowed) shared by a test class.</summary>
public sealed class OAuthFixture : IAsyncLifetime
{
    public OidcProvider Provider { get; private set; } = null!;

    public KeyroomTestServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Provider = await OidcProvider.StartAsync();
        Server = await KeyroomTestServer.StartAsync(settings: new Dictionary<string, string?> { ["Keyroom:OAuth:AllowInsecureHttp"] = "true" });
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        await Provider.DisposeAsync();
    }
}

/// <summary>A clock the test moves by hand, so "expired" needs no sleeping.</summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private DateTimeOffset _now = DateTimeOffset.UtcNow;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>Principals as the room hub would pass them.</summary>
public static class OAuthCallers
{
    /// <summary>A participant token principal of <paramref name="projectId"/> joined to <paramref name="room"/>, with the secrets grant.</summary>
    public static Principal Participant(string projectId, string identity, string room, bool admin = false)
    {
        var token = new ParticipantToken(identity) { ProjectId = projectId }
            .AddRoomGrant(room)
            .AddApiGrant(admin ? ApiScope.Full() : ApiScope.AgentDefault());
        // api.admin counts only in tokens signed by an admin key (SecretAuthorizer caps grants by the signing role).
        return new Principal(projectId, identity, admin ? ProjectRole.Admin : ProjectRole.Developer, CredentialKind.ParticipantToken, Guid.NewGuid(), token);
    }

    public static string UniqueRoom() => "oauth-" + Guid.NewGuid().ToString("N")[..10];

    public static JsonObject Clone(this JsonObject json) => json.DeepClone().AsObject();
}
