using Keyroom.Protocol;
using Microsoft.AspNetCore.Http.Features;

namespace Keyroom.Server.Rooms;

/// <summary>
/// Puts a <see cref="BatchingTransportStream"/> between an upgraded HTTP/1.1 connection and the WebSocket the
/// WebSocket middleware creates on it, so that a room message (a header packet and its data packets) goes out
/// in one write. Installed ahead of <c>UseWebSockets</c> for upgradable requests only.
/// </summary>
internal sealed class BatchingUpgradeFeature(IHttpUpgradeFeature inner) : IHttpUpgradeFeature
{
    /// <summary>The batching stream, once the connection has been upgraded.</summary>
    public BatchingTransportStream? Transport { get; private set; }

    public bool IsUpgradableRequest => inner.IsUpgradableRequest;

    public async Task<Stream> UpgradeAsync()
    {
        var stream = await inner.UpgradeAsync();
        // The upgraded HTTP/1.1 stream is the WebSocket's plain byte stream (Kestrel's TLS sits below it, and the
        // room endpoint does not enable per-message compression), so room messages may be framed straight into it.
        Transport = new BatchingTransportStream(stream) { Framing = TransportFraming.WebSocketServer };
        return Transport;
    }

    /// <summary>Wraps the request's upgrade feature when the request can be upgraded (a WebSocket handshake).</summary>
    public static Task InstallAsync(HttpContext context, RequestDelegate next)
    {
        if (context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true } upgrade)
        {
            context.Features.Set<IHttpUpgradeFeature>(new BatchingUpgradeFeature(upgrade));
        }

        return next(context);
    }

    /// <summary>The batching stream under this request's WebSocket, if the feature was installed and used.</summary>
    public static BatchingTransportStream? TransportOf(HttpContext context) =>
        (context.Features.Get<IHttpUpgradeFeature>() as BatchingUpgradeFeature)?.Transport;
}
