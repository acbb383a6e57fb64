using System.Text;

namespace Keyroom.Client;

/// <summary>A project, as the server-wide admin list returns it.</summary>
public sealed record ProjectInfo
{
    /// <summary>The project's id.</summary>
    public string Id { get; init; } = string.Empty;

    /// <summary>The display name.</summary>
    public string Name { get; init; } = string.Empty;

    /// <summary>When it was created.</summary>
    public DateTimeOffset? CreatedAt { get; init; }
}

/// <summary>A newly created project with its first admin API key (shown once).</summary>
public sealed record CreatedProject
{
    /// <summary>The project's id.</summary>
    public string Id { get; init; } = string.Empty;

    /// <summary>The display name.</summary>
    public string Name { get; init; } = string.Empty;

    /// <summary>An admin <c>ma-…</c> key of the new project. <see cref="object.ToString"/> never shows it.</summary>
    public string AdminApiKey { get; init; } = string.Empty;

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Id = ").Append(Id).Append(", Name = ").Append(Name).Append(", AdminApiKey = ***");
        return true;
    }
}

/// <summary>Which master keys the server holds and where the active one comes from.</summary>
public sealed record MasterKeyStatus
{
    /// <summary>The id of the key new data is sealed with.</summary>
    public string ActiveKeyId { get; init; } = string.Empty;

    /// <summary>The ids of every key some stored data still needs.</summary>
    public IReadOnlyList<string> KeyIdsInUse { get; init; } = [];

    /// <summary><c>configuration</c>, <c>key_file</c> or <c>development_key_file</c>.</summary>
    public string Source { get; init; } = string.Empty;
}

/// <summary>The outcome of a master key rotation.</summary>
public sealed record MasterKeyRotation
{
    /// <summary>The new active key's id.</summary>
    public string ActiveKeyId { get; init; } = string.Empty;

    /// <summary>The previous active key's id.</summary>
    public string? PreviousKeyId { get; init; }

    /// <summary>How many data keys were re-wrapped.</summary>
    public long Rewrapped { get; init; }
}

/// <summary>The result of checking the audit chain.</summary>
public sealed record AuditVerification
{
    /// <summary>Whether every entry's MAC and link verified.</summary>
    public bool Intact { get; init; }

    /// <summary>How many entries were checked.</summary>
    public long Checked { get; init; }

    /// <summary>The first entry that failed, if any.</summary>
    public long? FirstBadSequence { get; init; }

    /// <summary>What was wrong, if anything.</summary>
    public string? Problem { get; init; }
}

/// <summary>One audit log entry.</summary>
public sealed record AuditEntry
{
    /// <summary>The entry's position in the chain.</summary>
    public long Sequence { get; init; }

    /// <summary>When it happened.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>Who acted (an API key name or identity).</summary>
    public string Actor { get; init; } = string.Empty;

    /// <summary>What was done, for example <c>secret.update</c>.</summary>
    public string Action { get; init; } = string.Empty;

    /// <summary>What it was done to, for example <c>secret/&lt;id&gt;</c>.</summary>
    public string Target { get; init; } = string.Empty;

    /// <summary>The outcome, for example <c>ok</c> or <c>denied</c>.</summary>
    public string Outcome { get; init; } = string.Empty;
}
