using System.Net.WebSockets;
using Keyroom.Protocol;

namespace Keyroom.Client.Rooms;

/// <summary>Settings of a <see cref="RoomClient"/>. Read when the client connects; do not change them afterwards.</summary>
public sealed class RoomClientOptions
{
    /// <summary>The default <see cref="RequestTimeout"/>: 60 seconds.</summary>
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The default <see cref="HandshakeTimeout"/>: 30 seconds.</summary>
    public static readonly TimeSpan DefaultHandshakeTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a connection attempt may take, from opening the WebSocket until both <c>room_ready</c> and
    /// <c>connected</c> have arrived (the official client waits forever). <see cref="Timeout.InfiniteTimeSpan"/> disables it.
    /// </summary>
    public TimeSpan HandshakeTimeout { get; set; } = DefaultHandshakeTimeout;

    /// <summary>
    /// How long a request waits for its reply (including any wait for a reconnect) before it fails with
    /// <see cref="TimeoutException"/>. <see cref="Timeout.InfiniteTimeSpan"/> disables it. Calls that carry their
    /// own server-side timeout (<c>request_secret</c>, <c>request_oauth_token</c>) wait at least that long plus a margin.
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = DefaultRequestTimeout;

    /// <summary>
    /// Whether to reconnect after the connection is lost (a close other than 1000, or a socket error). Default true.
    /// A close with 1000 by the server always ends the client.
    /// </summary>
    public bool Reconnect { get; set; } = true;

    /// <summary>The delay before the first reconnect attempt; it doubles after each failed attempt. Default 500 ms.</summary>
    public TimeSpan ReconnectInitialDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest delay between reconnect attempts. Default 30 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long to keep trying to reconnect after a connection is lost before the client gives up and closes;
    /// null (the default) retries until the client is disposed.
    /// </summary>
    public TimeSpan? ReconnectTimeout { get; set; }

    /// <summary>Answers <c>secrets.request_secret</c> prompts; it can also be set later on <see cref="SecretsClient.SecretRequestHandler"/>.</summary>
    public SecretRequestHandler? SecretRequestHandler { get; set; }

    /// <summary>Answers <c>secrets.request_oauth_token</c> prompts; it can also be set later on <see cref="SecretsClient.OAuthTokenRequestHandler"/>.</summary>
    public OAuthTokenRequestHandler? OAuthTokenRequestHandler { get; set; }

    /// <summary>
    /// Adjusts each <see cref="ClientWebSocket"/> before it connects (proxy, certificates, headers, keep-alive). When
    /// null, the client connects through its own handler that sends each message's packets in one write
    /// (<see cref="BatchingClientWebSocket"/>); when set, through <see cref="ClientWebSocket"/>'s own handler so that
    /// every option is honoured.
    /// </summary>
    public Action<ClientWebSocketOptions>? ConfigureWebSocket { get; set; }

    /// <summary>
    /// Framing settings. Null uses 1 KiB outgoing chunks (as the official client) and accepts incoming messages of up
    /// to 64 MiB.
    /// </summary>
    public WebSocketMessageChannelOptions? Channel { get; set; }

    /// <summary>The clock for timeouts and reconnect delays (replace it in tests). Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The framing settings used when <see cref="Channel"/> is null.</summary>
    internal static WebSocketMessageChannelOptions DefaultChannel { get; } = new()
    {
        Receive = new MessageAssemblerOptions
        {
            MaxMessageSize = 64 * 1024 * 1024,
            MaxPacketsPerMessage = 64 * 1024 + 16,
        },
    };

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when a setting is not usable.</summary>
    internal void Validate()
    {
        ValidateTimeout(HandshakeTimeout, nameof(HandshakeTimeout));
        ValidateTimeout(RequestTimeout, nameof(RequestTimeout));
        if (ReconnectInitialDelay < TimeSpan.Zero || ReconnectMaxDelay < ReconnectInitialDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(ReconnectMaxDelay), "reconnect delays must be non-negative and max >= initial");
        }

        if (ReconnectTimeout is { } total && total < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ReconnectTimeout), "the reconnect timeout must not be negative");
        }

        ArgumentNullException.ThrowIfNull(TimeProvider);
        (Channel ?? DefaultChannel).Validate();
    }

    private static void ValidateTimeout(TimeSpan value, string name)
    {
        if (value != Timeout.InfiniteTimeSpan && value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, "a timeout must be positive or Timeout.InfiniteTimeSpan");
        }
    }
}
