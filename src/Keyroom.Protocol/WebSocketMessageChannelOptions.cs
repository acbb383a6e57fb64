namespace Keyroom.Protocol;

/// <summary>Settings for <see cref="WebSocketMessageChannel"/>.</summary>
public sealed class WebSocketMessageChannelOptions
{
    /// <summary>The default <see cref="SendQueueCapacity"/>.</summary>
    public const int DefaultSendQueueCapacity = 64;

    /// <summary>A shared instance holding the defaults.</summary>
    public static WebSocketMessageChannelOptions Default { get; } = new();

    /// <summary>
    /// The largest chunk per outgoing data packet. The official client sends 1024 (the default); a server may
    /// use larger chunks such as 64 KiB, which the client accepts.
    /// </summary>
    public int SendChunkSize { get; init; } = FrameEncoder.ClientChunkSize;

    /// <summary>How many outgoing messages may wait for the writer before <c>SendAsync</c> waits for room.</summary>
    public int SendQueueCapacity { get; init; } = DefaultSendQueueCapacity;

    /// <summary>Limits for incoming messages.</summary>
    public MessageAssemblerOptions Receive { get; init; } = MessageAssemblerOptions.Default;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when a setting is not usable.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(SendChunkSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(SendQueueCapacity);
        ArgumentNullException.ThrowIfNull(Receive);
        Receive.Validate();
    }
}
