namespace Keyroom.Cli;

/// <summary>The command line was wrong or incomplete (exit code 2). The message never contains secret values.</summary>
internal sealed class UsageException : Exception
{
    public UsageException()
    {
    }

    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The operation ran but did not succeed (exit code 1). The message never contains secret values.</summary>
internal sealed class CommandFailedException : Exception
{
    public CommandFailedException()
    {
    }

    public CommandFailedException(string message)
        : base(message)
    {
    }

    public CommandFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Exit codes: 0 ok, 1 the server said no or the operation failed, 2 usage errors.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;
    public const int Cancelled = 130;
}
