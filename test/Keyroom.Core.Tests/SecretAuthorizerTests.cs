using Keyroom.Core.Auth;
using Keyroom.Core.Secrets;
using Keyroom.Core.Tests.Support;

namespace Keyroom.Core.Tests;

public sealed class SecretAuthorizerTests
{
    private const string Project = "p1";
    private const string Other = "p2";
    private static readonly SecretKey ProjectSecret = SecretKey.Project(Project, "s");
    private static readonly SecretKey AliceRoomSecret = new(Project, SecretKey.RoomScope("r"), "alice", string.Empty, "s");

    private static KeyroomError? Decision(Principal principal, in SecretKey key, SecretAction action = SecretAction.Read)
    {
        try
        {
            SecretAuthorizer.Demand(principal, action, key);
            return null;
        }
        catch (KeyroomException ex)
        {
            return ex.Error;
        }
    }

    private static ParticipantToken Token(string name, string room, ApiScope? api)
    {
        var token = new ParticipantToken(name).AddRoomGrant(room).AddRoleGrant("user");
        if (api is not null)
        {
            token.AddApiGrant(api);
        }

        return token;
    }

    [Theory]
    [InlineData(ProjectRole.Admin)]
    [InlineData(ProjectRole.Developer)]
    [InlineData(ProjectRole.Member)]
    public void OtherProject_IsNotFound_ForEveryRoleAndAction(ProjectRole role)
    {
        foreach (var action in Enum.GetValues<SecretAction>())
        {
            Assert.Equal(KeyroomError.NotFound, Decision(TestKeys.ApiKey(Other, role), ProjectSecret, action));
            Assert.Equal(KeyroomError.NotFound, Decision(TestKeys.ApiKey(Other, role, "alice"), AliceRoomSecret, action));
            Assert.Equal(KeyroomError.NotFound, Decision(TestKeys.Token(Other, role, Token("alice", "r", ApiScope.Full())), AliceRoomSecret, action));
        }
    }

    [Fact]
    public void RoomSecrets_TokenSignedByMemberKeyWithFullScope_IsDenied()
    {
        // Whoever holds a key can sign any grants: a member key must not escalate by minting Full().
        var forged = TestKeys.Token(Project, ProjectRole.Member, Token("alice", "r", ApiScope.Full()));
        Assert.Equal(KeyroomError.PermissionDenied, Decision(forged, AliceRoomSecret));
        Assert.Equal(KeyroomError.PermissionDenied, Decision(forged, AliceRoomSecret, SecretAction.Write));
        var forgedForOthers = TestKeys.Token(Project, ProjectRole.Member, Token("mallory", "r", ApiScope.Full()));
        Assert.Equal(KeyroomError.PermissionDenied, Decision(forgedForOthers, AliceRoomSecret));
    }

    [Fact]
    public void RoomSecrets_AdminGrantInTokenSignedByDeveloperKey_DoesNotAllowActingForOthers()
    {
        var developerSigned = TestKeys.Token(Project, ProjectRole.Developer, Token("bob", "r", ApiScope.Full()));
        Assert.Equal(KeyroomError.PermissionDenied, Decision(developerSigned, AliceRoomSecret));
        var adminSigned = TestKeys.Token(Project, ProjectRole.Admin, Token("bob", "r", ApiScope.Full()));
        Assert.Null(Decision(adminSigned, AliceRoomSecret));
    }

    [Fact]
    public void ProjectSecrets_MemberDenied_DeveloperAndAdminAllowed()
    {
        Assert.Equal(KeyroomError.PermissionDenied, Decision(TestKeys.ApiKey(Project, ProjectRole.Member), ProjectSecret));
        Assert.Equal(KeyroomError.PermissionDenied, Decision(TestKeys.ApiKey(Project, ProjectRole.Member), ProjectSecret, SecretAction.List));
        Assert.Null(Decision(TestKeys.ApiKey(Project, ProjectRole.Developer), ProjectSecret, SecretAction.Write));
        Assert.Null(Decision(TestKeys.ApiKey(Project, ProjectRole.Admin), ProjectSecret, SecretAction.Delete));
    }

    [Fact]
    public void Token_WithoutSecretsGrant_Denied()
    {
        var noSecrets = TestKeys.Token(Project, ProjectRole.Admin, Token("alice", "r", ApiScope.Full().Without("secrets")));
        Assert.Equal(KeyroomError.PermissionDenied, Decision(noSecrets, AliceRoomSecret));
        Assert.Equal(KeyroomError.PermissionDenied, Decision(noSecrets, ProjectSecret));

        var noApi = TestKeys.Token(Project, ProjectRole.Admin, Token("alice", "r", null));
        Assert.Equal(KeyroomError.PermissionDenied, Decision(noApi, AliceRoomSecret));

        var nullSecrets = TestKeys.Token(Project, ProjectRole.Admin, Token("alice", "r", ApiScope.FromJson(new System.Text.Json.Nodes.JsonObject { ["secrets"] = null })));
        Assert.Equal(KeyroomError.PermissionDenied, Decision(nullSecrets, AliceRoomSecret));
    }

    [Fact]
    public void Token_OwnRoomSecret_Allowed_OtherRoomDenied()
    {
        var alice = TestKeys.Token(Project, ProjectRole.Developer, Token("alice", "r", ApiScope.UserDefault()));
        Assert.Null(Decision(alice, AliceRoomSecret, SecretAction.Write));
        Assert.Equal(KeyroomError.PermissionDenied, Decision(alice, AliceRoomSecret with { Scope = SecretKey.RoomScope("other") }));
    }

    [Fact]
    public void Token_ProjectSecretsNeedDeveloperSigningKey()
    {
        Assert.Equal(KeyroomError.PermissionDenied, Decision(TestKeys.Token(Project, ProjectRole.Member, Token("alice", "r", ApiScope.AgentDefault())), ProjectSecret));
        Assert.Null(Decision(TestKeys.Token(Project, ProjectRole.Developer, Token("alice", "r", ApiScope.AgentDefault())), ProjectSecret));
    }

    [Fact]
    public void ForIdentity_WithoutAdmin_Denied()
    {
        var bobsSecret = AliceRoomSecret with { Owner = "bob" };

        // Tokens: acting for another identity needs api.admin.
        var aliceToken = TestKeys.Token(Project, ProjectRole.Admin, Token("alice", "r", ApiScope.AgentDefault()));
        Assert.Equal(KeyroomError.PermissionDenied, Decision(aliceToken, bobsSecret, SecretAction.Write));
        Assert.Throws<KeyroomException>(() => SecretAuthorizer.DemandActForOthers(aliceToken));
        var aliceAdminToken = TestKeys.Token(Project, ProjectRole.Admin, Token("alice", "r", ApiScope.Full()));
        Assert.Null(Decision(aliceAdminToken, bobsSecret, SecretAction.Write));
        var memberSignedAdminToken = TestKeys.Token(Project, ProjectRole.Member, Token("alice", "r", ApiScope.Full()));
        Assert.Equal(KeyroomError.PermissionDenied, Decision(memberSignedAdminToken, bobsSecret, SecretAction.Write));

        // API keys: acting for another identity needs the admin role.
        Assert.Equal(KeyroomError.PermissionDenied, Decision(TestKeys.ApiKey(Project, ProjectRole.Developer, "alice"), bobsSecret));
        Assert.Null(Decision(TestKeys.ApiKey(Project, ProjectRole.Admin, "alice"), bobsSecret));

        // Members' API keys cannot touch room secrets at all.
        Assert.Equal(KeyroomError.PermissionDenied, Decision(TestKeys.ApiKey(Project, ProjectRole.Member, "alice"), AliceRoomSecret));
    }

    [Fact]
    public void DemandAdmin_OtherProjectNotFound_NonAdminDenied()
    {
        Assert.Equal(KeyroomError.NotFound, Assert.Throws<KeyroomException>(() => SecretAuthorizer.DemandAdmin(TestKeys.ApiKey(Other, ProjectRole.Admin), Project)).Error);
        Assert.Equal(KeyroomError.PermissionDenied, Assert.Throws<KeyroomException>(() => SecretAuthorizer.DemandAdmin(TestKeys.ApiKey(Project, ProjectRole.Developer), Project)).Error);
        SecretAuthorizer.DemandAdmin(TestKeys.ApiKey(Project, ProjectRole.Admin), Project);

        // A token signed by an admin key still needs api.admin.
        var token = TestKeys.Token(Project, ProjectRole.Admin, Token("alice", "r", ApiScope.AgentDefault()));
        Assert.Equal(KeyroomError.PermissionDenied, Assert.Throws<KeyroomException>(() => SecretAuthorizer.DemandAdmin(token, Project)).Error);
        SecretAuthorizer.DemandAdmin(TestKeys.Token(Project, ProjectRole.Admin, Token("alice", "r", ApiScope.Full())), Project);
    }

    [Fact]
    public void DemandMember_OtherProjectNotFound()
    {
        Assert.Equal(KeyroomError.NotFound, Assert.Throws<KeyroomException>(() => SecretAuthorizer.DemandMember(TestKeys.ApiKey(Other, ProjectRole.Admin), Project)).Error);
        SecretAuthorizer.DemandMember(TestKeys.ApiKey(Project, ProjectRole.Member), Project);
    }
}
