using Keyroom.Protocol;
using Keyroom.Server.Hosting;
using Microsoft.Extensions.Options;

namespace Keyroom.Server.Rooms;

/// <summary>Room WebSocket settings, bound from the "Keyroom:Rooms" configuration section.</summary>
internal sealed class RoomOptions
{
    public const string Section = "Keyroom:Rooms";

    /// <summary>The largest reassembled incoming message (packet prefixes excluded). Must hold a room secret plus its headers.</summary>
    public int MaxMessageBytes { get; set; } = 2 * 1024 * 1024;

    /// <summary>
    /// The largest data packet count a message may declare; null = enough for <see cref="MaxMessageBytes"/> in the
    /// official client's 1 KiB chunks.
    /// </summary>
    public int? MaxPacketsPerMessage { get; set; }

    /// <summary>How many <c>room.invoke_tool</c> calls one connection may have in flight; more get error 1006.</summary>
    public int MaxPendingRequestsPerConnection { get; set; } = 64;

    /// <summary>The longest a <c>request_secret</c> / <c>request_oauth_token</c> may wait; larger timeouts are clamped.</summary>
    public int MaxRequestTimeoutSeconds { get; set; } = 3600;

    /// <summary>The timeout used when a request sends none (the client's own default is 300 s).</summary>
    public int DefaultRequestTimeoutSeconds { get; set; } = 300;

    /// <summary>The chunk size of outgoing data packets (the client accepts any size).</summary>
    public int SendChunkSize { get; set; } = 64 * 1024;

    /// <summary>How many outgoing messages may queue per connection before senders wait.</summary>
    public int SendQueueCapacity { get; set; } = WebSocketMessageChannelOptions.DefaultSendQueueCapacity;

    /// <summary>How often the server pings an idle connection (WebSocket ping; the client answers by itself). 0 = never.</summary>
    public int KeepAliveIntervalSeconds { get; set; } = 30;

    /// <summary>A connection whose pong does not arrive within this time is dropped. 0 = never.</summary>
    public int KeepAliveTimeoutSeconds { get; set; } = 60;

    /// <summary>How long to wait for the peer's close frame after the server closed, before aborting.</summary>
    public int CloseTimeoutSeconds { get; set; } = 5;

    /// <summary>The effective packet limit.</summary>
    public int EffectiveMaxPacketsPerMessage =>
        MaxPacketsPerMessage ?? (int)(((long)MaxMessageBytes + FrameEncoder.ClientChunkSize - 1) / FrameEncoder.ClientChunkSize);

    /// <summary>The channel settings these options describe.</summary>
    public WebSocketMessageChannelOptions ToChannelOptions() => new()
    {
        SendChunkSize = SendChunkSize,
        SendQueueCapacity = SendQueueCapacity,
        Receive = new MessageAssemblerOptions
        {
            MaxMessageSize = MaxMessageBytes,
            MaxPacketsPerMessage = EffectiveMaxPacketsPerMessage,
        },
    };
}

/// <summary>Checks the room settings at start, including that a maximal room secret fits in a message.</summary>
internal sealed class RoomOptionsValidator(IOptions<KeyroomOptions> keyroom) : IValidateOptions<RoomOptions>
{
    /// <summary>Room for the set_secret header and envelope on top of the value.</summary>
    public const int HeaderAllowance = 64 * 1024;

    public ValidateOptionsResult Validate(string? name, RoomOptions options)
    {
        var problems = new List<string>();
        if (options.MaxMessageBytes is < 1024 or > 256 * 1024 * 1024)
        {
            problems.Add("Keyroom:Rooms:MaxMessageBytes must be between 1 KiB and 256 MiB");
        }
        else if ((long)keyroom.Value.MaxRoomSecretBytes + HeaderAllowance > options.MaxMessageBytes)
        {
            problems.Add(
                $"Keyroom:Rooms:MaxMessageBytes ({options.MaxMessageBytes}) must be at least Keyroom:MaxRoomSecretBytes + 64 KiB "
                + $"({(long)keyroom.Value.MaxRoomSecretBytes + HeaderAllowance}), or the largest room secret cannot be sent");
        }

        if (options.MaxPacketsPerMessage is { } packets
            && (packets < 1 || (long)packets * FrameEncoder.ClientChunkSize < options.MaxMessageBytes))
        {
            problems.Add("Keyroom:Rooms:MaxPacketsPerMessage must allow MaxMessageBytes in 1 KiB chunks (at least MaxMessageBytes / 1024), or be left unset");
        }

        if (options.MaxPendingRequestsPerConnection is < 1 or > 100_000)
        {
            problems.Add("Keyroom:Rooms:MaxPendingRequestsPerConnection must be between 1 and 100000");
        }

        if (options.MaxRequestTimeoutSeconds is < 1 or > 7 * 24 * 3600)
        {
            problems.Add("Keyroom:Rooms:MaxRequestTimeoutSeconds must be between 1 and 604800");
        }

        if (options.DefaultRequestTimeoutSeconds < 1 || options.DefaultRequestTimeoutSeconds > options.MaxRequestTimeoutSeconds)
        {
            problems.Add("Keyroom:Rooms:DefaultRequestTimeoutSeconds must be between 1 and MaxRequestTimeoutSeconds");
        }

        if (options.SendChunkSize is < 1024 or > 16 * 1024 * 1024)
        {
            problems.Add("Keyroom:Rooms:SendChunkSize must be between 1 KiB and 16 MiB");
        }

        if (options.SendQueueCapacity is < 1 or > 100_000)
        {
            problems.Add("Keyroom:Rooms:SendQueueCapacity must be between 1 and 100000");
        }

        if (options.KeepAliveIntervalSeconds < 0 || options.KeepAliveTimeoutSeconds < 0)
        {
            problems.Add("Keyroom:Rooms:KeepAliveIntervalSeconds and KeepAliveTimeoutSeconds must not be negative");
        }

        if (options.CloseTimeoutSeconds is < 1 or > 600)
        {
            problems.Add("Keyroom:Rooms:CloseTimeoutSeconds must be between 1 and 600");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
