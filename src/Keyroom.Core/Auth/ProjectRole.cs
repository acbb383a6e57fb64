namespace Keyroom.Core.Auth;

/// <summary>A caller's role in a project. Higher values include the rights of lower ones.</summary>
public enum ProjectRole
{
    /// <summary>Can list and join rooms; cannot read or change project secrets.</summary>
    Member = 0,
    /// <summary>Can manage project secrets, room secrets and services.</summary>
    Developer = 1,
    /// <summary>Can do everything, including API keys, rooms, audit and key rotation.</summary>
    Admin = 2,
}

/// <summary>Text forms of <see cref="ProjectRole"/> as they appear on the wire.</summary>
public static class ProjectRoles
{
    /// <summary>The wire name ("member", "developer", "admin").</summary>
    public static string ToWire(this ProjectRole role) => role switch
    {
        ProjectRole.Admin => "admin",
        ProjectRole.Developer => "developer",
        _ => "member",
    };

    /// <summary>Parses a wire name; false for anything else.</summary>
    public static bool TryParse(string? text, out ProjectRole role)
    {
        switch (text)
        {
            case "admin": role = ProjectRole.Admin; return true;
            case "developer": role = ProjectRole.Developer; return true;
            case "member": role = ProjectRole.Member; return true;
            default: role = ProjectRole.Member; return false;
        }
    }
}
