using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Keyroom.Server.OAuth;

/// <summary>
/// Limits where the server's own OAuth calls may go, because the token endpoint comes from a room
/// participant. Two checks: the URL (https only, no user info) before sending, and every address the host
/// name resolves to at connect time (so DNS cannot smuggle in a forbidden address). Never allowed:
/// link-local (cloud metadata at 169.254.169.254), unspecified, multicast and broadcast addresses.
/// Loopback and http:// are allowed only with <see cref="OAuthOptions.AllowInsecureHttp"/>. Private
/// networks stay allowed: self-hosted identity providers live there.
/// </summary>
internal sealed class OutboundGuard(IOptions<OAuthOptions> options)
{
    private static readonly IPAddress AwsMetadataV6 = IPAddress.Parse("fd00:ec2::254");

    private bool AllowInsecure => options.Value.AllowInsecureHttp;

    /// <summary>Null when the URL may be called, else why not (caller-safe text, no values).</summary>
    public string? CheckUrl(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri)
        {
            return "it must be an absolute URL";
        }

        if (url.Scheme != Uri.UriSchemeHttps && !(url.Scheme == Uri.UriSchemeHttp && AllowInsecure))
        {
            return AllowInsecure ? "it must be an http(s) URL" : "it must be an https URL";
        }

        if (!string.IsNullOrEmpty(url.UserInfo))
        {
            return "it must not contain user information";
        }

        if (IPAddress.TryParse(url.IdnHost, out var address) && !IsAllowedAddress(address, AllowInsecure))
        {
            return "its address is not reachable from this server";
        }

        return null;
    }

    /// <summary>Whether the server may connect to an address.</summary>
    public static bool IsAllowedAddress(IPAddress address, bool allowLoopback)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address))
        {
            return allowLoopback;
        }

        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast) || address.Equals(AwsMetadataV6))
        {
            return false;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> bytes = stackalloc byte[4];
            address.TryWriteBytes(bytes, out _);
            return bytes[0] switch
            {
                0 => false,                        // "this network"
                169 when bytes[1] == 254 => false, // link-local, cloud metadata
                >= 224 => false,                   // multicast and reserved
                _ => true,
            };
        }

        return !(address.IsIPv6LinkLocal || address.IsIPv6Multicast || address.IsIPv6SiteLocal);
    }

    /// <summary>The primary handler of the OAuth HttpClient: no redirects, no cookies, no proxy, guarded connects.</summary>
    public SocketsHttpHandler CreateHandler() => new()
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        // A proxy would make the connect-time check see only the proxy's address.
        UseProxy = false,
        AutomaticDecompression = DecompressionMethods.None,
        ConnectTimeout = options.Value.Timeout,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectCallback = ConnectAsync,
    };

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var endpoint = context.DnsEndPoint;
        var addresses = IPAddress.TryParse(endpoint.Host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(endpoint.Host, cancellationToken);
        var allowed = addresses.Where(a => IsAllowedAddress(a, AllowInsecure)).ToArray();
        if (allowed.Length == 0)
        {
            throw new OutboundRefusedException(endpoint.Host);
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, endpoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>A connection the guard refused (the host resolved only to forbidden addresses).</summary>
internal sealed class OutboundRefusedException : IOException
{
    public OutboundRefusedException(string host)
        : base("connections to " + host + " are not allowed from this server")
    {
    }

    public OutboundRefusedException()
    {
    }

    public OutboundRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
