using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text.Json;
using Keyroom.Core;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Keyroom.Server.Accounts;

/// <summary>
/// Reads JSON request bodies for the accounts API. The size cap is enforced before anything is parsed
/// (Content-Length first, then while reading), and every failure becomes an InvalidRequest or TooLarge
/// <see cref="KeyroomException"/> whose message may name a field but never quotes request content:
/// serializer messages are not passed on, because they can echo parts of a secret value.
/// </summary>
internal static class JsonBody
{
    /// <summary>Room for the fields around a base64 value (names, ids, identities).</summary>
    private const long EnvelopeAllowance = 16 * 1024;

    /// <summary>The cap for bodies without a secret value (rooms, API keys).</summary>
    public const long SmallBodyLimit = 256 * 1024;

    /// <summary>The largest body that can carry a value of <paramref name="maxValueBytes"/> as base64, plus the other fields.</summary>
    public static long LimitForValue(int maxValueBytes) => (long)maxValueBytes * 4 / 3 + EnvelopeAllowance;

    /// <summary>Reads and deserializes the body; throws <see cref="KeyroomException"/> when it is too large, empty or malformed.</summary>
    public static async Task<T> ReadAsync<T>(HttpContext http, long maxBytes)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(http);
        if (http.Request.ContentLength > maxBytes)
        {
            throw TooLarge(maxBytes);
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = maxBytes;
        }

        var options = http.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var reader = http.Request.BodyReader;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await reader.ReadAsync(http.RequestAborted);
            }
            catch (BadHttpRequestException ex)
            {
                // Kestrel's own limit, or a body that cannot be read (bad chunking, truncated): no content is quoted.
                throw ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                    ? TooLarge(maxBytes)
                    : KeyroomException.Invalid("the request body could not be read");
            }

            var buffer = result.Buffer;
            if (buffer.Length > maxBytes)
            {
                reader.AdvanceTo(buffer.End);
                throw TooLarge(maxBytes);
            }

            if (result.IsCanceled)
            {
                throw new OperationCanceledException(http.RequestAborted);
            }

            if (result.IsCompleted)
            {
                try
                {
                    return Parse<T>(buffer, options);
                }
                finally
                {
                    reader.AdvanceTo(buffer.End);
                }
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static T Parse<T>(in ReadOnlySequence<byte> body, JsonSerializerOptions options)
        where T : class
    {
        if (body.IsEmpty)
        {
            throw KeyroomException.Invalid("the request needs a JSON object body");
        }

        // Multi-segment bodies are copied once so the whole text is validated, then the copy is zeroed.
        byte[]? copy = null;
        var span = body.IsSingleSegment ? body.FirstSpan : (copy = body.ToArray());
        try
        {
            return JsonSerializer.Deserialize<T>(span, options) ?? throw KeyroomException.Invalid("the request body must be a JSON object");
        }
        catch (JsonException ex)
        {
            throw Describe(ex);
        }
        finally
        {
            if (copy is not null)
            {
                CryptographicOperations.ZeroMemory(copy);
            }
        }
    }

    /// <summary>A caller-safe description of a serializer error: where, never what.</summary>
    private static KeyroomException Describe(JsonException ex)
    {
        // Reader errors (not well-formed JSON) arrive wrapped around the reader's own JsonException.
        if (ex.InnerException is JsonException || ex.Path is null)
        {
            return KeyroomException.Invalid("the request body is not well-formed JSON");
        }

        var field = ex.Path.StartsWith("$.", StringComparison.Ordinal) ? ex.Path[2..] : ex.Path;
        return field switch
        {
            "$" => KeyroomException.Invalid("the request body must be a JSON object"),
            "data_base64" => KeyroomException.Invalid("'data_base64' must be a string of standard base64 (A-Z a-z 0-9 + / with = padding)"),
            _ => KeyroomException.Invalid($"'{field}' has the wrong type or format"),
        };
    }

    private static KeyroomException TooLarge(long maxBytes) =>
        new(KeyroomError.TooLarge, $"the request body may be at most {maxBytes} bytes");
}
