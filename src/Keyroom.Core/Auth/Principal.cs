namespace Keyroom.Core.Auth;

/// <summary>How a caller proved who it is.</summary>
public enum CredentialKind
{
    /// <summary>A raw <c>ma-…</c> API key.</summary>
    ApiKey,
    /// <summary>A participant JWT signed with an API key's secret.</summary>
    ParticipantToken,
}

/// <summary>An authenticated caller.</summary>
/// <param name="ProjectId">The project its credential belongs to.</param>
/// <param name="Identity">The identity that owns room secrets it writes: the key's name or the token's <c>name</c>.</param>
/// <param name="Role">The project role of the key (for tokens: of the signing key).</param>
/// <param name="Kind">Which credential.</param>
/// <param name="KeyId">The API key that authenticated it (directly or by signing the token).</param>
/// <param name="Token">The token, for token callers.</param>
public sealed record Principal(string ProjectId, string Identity, ProjectRole Role, CredentialKind Kind, Guid KeyId, ParticipantToken? Token)
{
    /// <summary>A short, value-free description for audit entries.</summary>
    public string AuditActor => Kind == CredentialKind.ApiKey ? "key:" + KeyId.ToString("D") : "token:" + Identity + "@" + KeyId.ToString("D");

    /// <summary>The token's api grant; API keys act with the grants of their role.</summary>
    public ApiScope? Api => Kind == CredentialKind.ParticipantToken ? Token!.Api : null;
}
