namespace Keyroom.Protocol;

/// <summary>Limits applied by <see cref="MessageAssembler"/> to incoming messages.</summary>
public sealed class MessageAssemblerOptions
{
    /// <summary>The default <see cref="MaxMessageSize"/>: 2 MiB.</summary>
    public const int DefaultMaxMessageSize = 2 * 1024 * 1024;

    /// <summary>The default <see cref="MaxPacketsPerMessage"/>: 4096 (4 MiB in 1 KiB client chunks).</summary>
    public const int DefaultMaxPacketsPerMessage = 4096;

    /// <summary>The default <see cref="MaxTypeLength"/>: 256 bytes.</summary>
    public const int DefaultMaxTypeLength = 256;

    /// <summary>A shared instance holding the defaults.</summary>
    public static MessageAssemblerOptions Default { get; } = new();

    /// <summary>
    /// The largest reassembled data size in bytes (packet prefixes excluded). A single data packet may carry the
    /// whole message, so this also bounds a single packet.
    /// </summary>
    public int MaxMessageSize { get; init; } = DefaultMaxMessageSize;

    /// <summary>
    /// The largest data packet count a header may declare. To accept the official client's 1 KiB chunks this
    /// must be at least <see cref="MaxMessageSize"/> / 1024.
    /// </summary>
    public int MaxPacketsPerMessage { get; init; } = DefaultMaxPacketsPerMessage;

    /// <summary>The longest message type in UTF-8 bytes.</summary>
    public int MaxTypeLength { get; init; } = DefaultMaxTypeLength;

    /// <summary>The largest packet (one WebSocket message) these limits can accept.</summary>
    public int MaxPacketSize =>
        (int)Math.Min(
            Math.Max(
                (long)FrameEncoder.HeaderPacketPrefixSize + MaxTypeLength,
                (long)FrameEncoder.DataPacketPrefixSize + MaxMessageSize),
            Array.MaxLength);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when a limit is not usable.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxMessageSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxMessageSize, Array.MaxLength - FrameEncoder.DataPacketPrefixSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxPacketsPerMessage);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxTypeLength);
    }
}
