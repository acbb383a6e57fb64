using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keyroom.Core;
using Keyroom.Core.Audit;
using Keyroom.Core.Auth;
using Keyroom.Core.Secrets;
using Keyroom.Protocol;
using Keyroom.Server.Accounts;
using Keyroom.Server.Concurrency;
using Keyroom.Server.Hosting;
using Keyroom.Server.OAuth;
using Microsoft.Extensions.Options;

using JsonContent = Keyroom.Protocol.JsonContent;

namespace Keyroom.Server.Rooms.Toolkits;

/// <summary>
/// The <c>secrets</c> toolkit (spec 4): room secrets owned by the caller's identity (or <c>for_identity</c>
/// with the admin grant) and keyed also by <c>delegated_to</c>, in the same store as the REST room secrets;
/// secret requests between participants; OAuth tokens through <see cref="IOAuthBroker"/>.
/// </summary>
/// <remarks>
/// <para>Every tool needs the token's <c>api.secrets</c> grant (spec 1.5); without it the reply is error 1001 and
/// the denial is audited. Authorization of each secret is <see cref="SecretAuthorizer"/>'s, through
/// <see cref="SecretService"/>, which also audits reads and writes.</para>
/// <para>Secrets handed over by <c>request_secret</c> are cached as a room secret of the requester, delegated to
/// <c>delegate_to</c>, with the deterministic id <c>requested:</c> + hex SHA-256 of the UTF-8 JSON array
/// <c>[url, type]</c>, name = url and type = type. A later <c>request_secret</c> for the same (url, type,
/// delegate_to) is answered from it without prompting; <c>delete_requested_secret</c> removes it.</para>
/// </remarks>
internal sealed partial class SecretsToolkit : IRoomToolkit
{
    public const string ToolkitName = "secrets";

    /// <summary>The type of a secret set without one.</summary>
    public const string DefaultType = "application/octet-stream";

    /// <summary>The prefix of the ids of cached requested secrets.</summary>
    public const string RequestedIdPrefix = "requested:";

    private const int MaxForwardedErrorLength = 1024;

    private static readonly FrozenSet<string> Tools = FrozenSet.Create(
        StringComparer.Ordinal,
        "list_secrets", "exists", "set_secret", "get_secret", "delete_secret", "delete_requested_secret",
        "request_secret", "provide_secret", "request_oauth_token", "provide_oauth_authorization", "get_offline_oauth_token");

    /// <summary>
    /// Reads (a pooled SQLite point read and a decrypt, about 10 µs) and in-memory hand-offs. Writes wait for an
    /// fsync and OAuth tools call the provider, so those start off the read loop.
    /// </summary>
    private static readonly FrozenSet<string> InlineTools = FrozenSet.Create(
        StringComparer.Ordinal, "list_secrets", "exists", "get_secret", "provide_secret");

    private readonly KeyedLocks<(string Project, string Scope, string Owner, string DelegatedTo, string Type, string Name)> _upserts = new();
    private readonly SecretService _secrets;
    private readonly AuditLog _audit;
    private readonly IOAuthBroker _oauth;
    private readonly TimeProvider _time;
    private readonly RoomOptions _options;
    private readonly SecretLimits _limits;
    private readonly ILogger<SecretsToolkit> _logger;

    public SecretsToolkit(
        SecretService secrets, AuditLog audit, IOAuthBroker oauth, TimeProvider time, IOptions<RoomOptions> options, IOptions<KeyroomOptions> keyroom,
        ILogger<SecretsToolkit> logger)
    {
        _secrets = secrets;
        _audit = audit;
        _oauth = oauth;
        _time = time;
        _options = options.Value;
        _limits = new SecretLimits(keyroom.Value.MaxRoomSecretBytes, keyroom.Value.KeepVersions);
        _logger = logger;
    }

    public string Name => ToolkitName;

    public bool HasTool(string tool) => Tools.Contains(tool);

    public bool StartsInline(string tool) => InlineTools.Contains(tool);

    public ValueTask<Content> InvokeAsync(RoomToolCall call, CancellationToken cancellationToken)
    {
        if (call.Principal.Api?.Secrets is null)
        {
            _audit.Record(new AuditEvent(call.Principal.ProjectId, call.Principal.AuditActor, "room.secrets." + call.Tool, AccountsAudit.Room(call.Room.Name), "denied"));
            throw KeyroomException.Denied(RoomErrors.PermissionDenied + ": the token has no secrets grant (api.secrets)");
        }

        // The reads answer on every request and usually finish synchronously: ValueTask, no Task per call.
        return call.Tool switch
        {
            "get_secret" => GetAsync(call, cancellationToken),
            "exists" => ExistsAsync(call, cancellationToken),
            "list_secrets" => ListAsync(call, cancellationToken),
            "set_secret" => new ValueTask<Content>(SetAsync(call, cancellationToken)),
            "delete_secret" => new ValueTask<Content>(DeleteAsync(call, cancellationToken)),
            "delete_requested_secret" => new ValueTask<Content>(DeleteRequestedAsync(call, cancellationToken)),
            "request_secret" => new ValueTask<Content>(RequestAsync(call, cancellationToken)),
            "provide_secret" => new ValueTask<Content>(Provide(call)),
            "request_oauth_token" => new ValueTask<Content>(RequestOAuthTokenAsync(call, cancellationToken)),
            "provide_oauth_authorization" => new ValueTask<Content>(ProvideOAuthAuthorization(call)),
            "get_offline_oauth_token" => new ValueTask<Content>(GetOfflineOAuthTokenAsync(call, cancellationToken)),
            _ => throw KeyroomException.Invalid($"unknown tool '{call.Tool}'"),
        };
    }

    /// <summary>The id under which a requested secret is cached: <c>requested:</c> + hex SHA-256 of the JSON array <c>[url, type]</c>.</summary>
    public static string RequestedSecretId(string url, string type)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(new JsonArray(url, type));
        return RequestedIdPrefix + Convert.ToHexStringLower(SHA256.HashData(json));
    }

    private async ValueTask<Content> ListAsync(RoomToolCall call, CancellationToken cancellationToken)
    {
        var list = await _secrets.ListAsync(call.Principal, new SecretQuery(call.Principal.ProjectId, call.Room.Scope, call.Principal.Identity), cancellationToken);
        var items = new JsonArray();
        foreach (var info in list)
        {
            items.Add(new JsonObject
            {
                ["id"] = info.Key.Id,
                ["name"] = info.Name,
                ["type"] = info.Type,
                ["delegated_to"] = info.Key.DelegatedTo.Length == 0 ? null : info.Key.DelegatedTo,
            });
        }

        return new JsonContent(new JsonObject { ["secrets"] = items });
    }

    private async ValueTask<Content> ExistsAsync(RoomToolCall call, CancellationToken cancellationToken)
    {
        var input = ToolInput.Json(call);
        var key = Key(call, Owner(call, input), ToolInput.OptionalString(input, "delegated_to"), ToolInput.RequiredString(input, "secret_id"));
        Demand(call, SecretAction.Read, key, "secret.exists");
        try
        {
            await _secrets.ListVersionsAsync(call.Principal, key, cancellationToken);
            return Exists(true);
        }
        catch (KeyroomException ex) when (ex.Error == KeyroomError.NotFound)
        {
            return Exists(false);
        }

        static JsonContent Exists(bool exists) => new(new JsonObject { ["exists"] = exists });
    }

    private async Task<Content> SetAsync(RoomToolCall call, CancellationToken cancellationToken)
    {
        var input = ToolInput.Binary(call);
        var headers = input.Headers;
        var id = ToolInput.OptionalString(headers, "secret_id");
        var givenType = ToolInput.OptionalString(headers, "type");
        var type = givenType ?? DefaultType;
        var name = ToolInput.OptionalString(headers, "name");
        var delegatedTo = ToolInput.OptionalString(headers, "delegated_to") ?? string.Empty;
        _ = ToolInput.OptionalBool(headers, "has_data");
        var owner = Owner(call, headers);
        if (id is not null)
        {
            RequestRules.SecretId(id, "secret_id");
            var key = Key(call, owner, delegatedTo, id);
            if (name is null || givenType is null)
            {
                // An update that leaves out the name or type keeps the stored ones (a new secret gets the defaults).
                // Authorized (and a denial audited) as the write it precedes.
                Demand(call, SecretAction.Write, key, "secret.write");
                var current = await _secrets.InfoForWriteAsync(call.Principal, key, cancellationToken);
                name ??= current?.Name;
                type = givenType ?? current?.Type ?? DefaultType;
            }

            await _secrets.WriteAsync(call.Principal, key, name ?? id, type, input.Data, WriteMode.Upsert, _limits, cancellationToken);
            return EmptyContent.Instance;
        }

        if (name is null)
        {
            throw KeyroomException.Invalid("set_secret needs a secret_id or a name");
        }

        // No id: upsert on (owner, delegated_to, type, name), generating an id for a new secret. The lookup and the
        // write hold a lock on that tuple, or two concurrent calls would both find nothing and create two secrets.
        Demand(call, SecretAction.Write, Key(call, owner, delegatedTo, "?"), "secret.write");
        using (await _upserts.AcquireAsync((call.Principal.ProjectId, call.Room.Scope, owner, delegatedTo, type, name), cancellationToken))
        {
            var existing = await _secrets.FindAsync(call.Principal, new SecretQuery(call.Principal.ProjectId, call.Room.Scope, owner, delegatedTo), type, name, cancellationToken);
            id = existing?.Key.Id ?? Guid.NewGuid().ToString("D");
            await _secrets.WriteAsync(call.Principal, Key(call, owner, delegatedTo, id), name, type, input.Data, WriteMode.Upsert, _limits, cancellationToken);
        }

        return EmptyContent.Instance;
    }

    private async ValueTask<Content> GetAsync(RoomToolCall call, CancellationToken cancellationToken)
    {
        var input = ToolInput.Json(call);
        var id = ToolInput.OptionalString(input, "secret_id");
        var type = ToolInput.OptionalString(input, "type");
        var name = ToolInput.OptionalString(input, "name");
        var delegatedTo = ToolInput.OptionalString(input, "delegated_to") ?? string.Empty;
        var owner = Owner(call, input);
        SecretKey key;
        if (id is not null)
        {
            key = Key(call, owner, delegatedTo, id);
        }
        else if (type is null && name is null)
        {
            throw KeyroomException.Invalid("get_secret needs a secret_id, a type or a name");
        }
        else
        {
            var found = await _secrets.FindAsync(call.Principal, new SecretQuery(call.Principal.ProjectId, call.Room.Scope, owner, delegatedTo), type, name, cancellationToken);
            if (found is null)
            {
                return EmptyContent.Instance;
            }

            key = found.Key;
        }

        try
        {
            var secret = await _secrets.ReadAsync(call.Principal, key, null, cancellationToken);
            return new FileContent(secret.Value, secret.Info.Name, secret.Info.Type);
        }
        catch (KeyroomException ex) when (ex.Error == KeyroomError.NotFound)
        {
            // spec 4.1: a missing secret is "empty" (the client returns null), not an error.
            return EmptyContent.Instance;
        }
    }

    private async Task<Content> DeleteAsync(RoomToolCall call, CancellationToken cancellationToken)
    {
        var input = ToolInput.Json(call);
        var key = Key(call, Owner(call, input), ToolInput.OptionalString(input, "delegated_to"), ToolInput.RequiredString(input, "id"));
        await _secrets.DeleteAsync(call.Principal, key, cancellationToken);
        return EmptyContent.Instance;
    }

    private async Task<Content> DeleteRequestedAsync(RoomToolCall call, CancellationToken cancellationToken)
    {
        var input = ToolInput.Json(call);
        var url = ToolInput.RequiredString(input, "url");
        var type = ToolInput.RequiredString(input, "type");
        var key = Key(call, call.Principal.Identity, ToolInput.OptionalString(input, "delegated_to"), RequestedSecretId(url, type));
        try
        {
            await _secrets.DeleteAsync(call.Principal, key, cancellationToken);
        }
        catch (KeyroomException ex) when (ex.Error == KeyroomError.NotFound)
        {
            // Nothing cached: deleting a cache entry is idempotent.
        }

        return EmptyContent.Instance;
    }

    private async Task<Content> RequestAsync(RoomToolCall call, CancellationToken cancellationToken)
    {
        var input = ToolInput.Json(call);
        var url = ToolInput.RequiredString(input, "url");
        var type = ToolInput.RequiredString(input, "type");
        var targetId = ToolInput.RequiredString(input, "participant_id");
        var delegateTo = ToolInput.OptionalString(input, "delegate_to") ?? string.Empty;
        var timeout = RequestTimeout(input);

        var cacheKey = Key(call, call.Principal.Identity, delegateTo, RequestedSecretId(url, type));
        if (await ReadCachedAsync(call, cacheKey, cancellationToken) is { } cached)
        {
            return new FileContent(cached, url, type);
        }

        var target = FindParticipant(call, targetId);
        var pending = call.Room.Pending.Add(PendingKind.Secret, call.Caller, call.MessageId, target, timeout, "timed out waiting for secret", _time);
        var outcome = "cancelled";
        try
        {
            // The prompt carries the requester's input unchanged (the Python client needs participant_id and timeout).
            target.Post(MessageTypes.RequestSecret, new PackedMessage(new JsonObject
            {
                ["request_id"] = pending.Id,
                ["request"] = input.DeepClone(),
            }).Encode());

            ProviderAnswer answer;
            try
            {
                answer = await pending.Answer.WaitAsync(cancellationToken);
            }
            catch (KeyroomException ex)
            {
                outcome = SecretService.Outcome(ex);
                throw;
            }

            if (answer.Error is not null)
            {
                outcome = "rejected";
                return new ErrorContent(Truncate(answer.Error), ErrorCodes.PermissionDenied);
            }

            outcome = "ok";
            await CacheAsync(call, cacheKey, url, type, answer.Data, pending.Id, cancellationToken);
            return new FileContent(answer.Data, url, type);
        }
        finally
        {
            call.Room.Pending.Remove(pending);
            _audit.Record(new AuditEvent(call.Principal.ProjectId, call.Principal.AuditActor, "secret.request", RequestTarget(call, target), outcome));
            RoomsLog.RequestEnded(_logger, pending.Id, "secret", call.Caller.ParticipantId, target.ParticipantId, outcome);
        }
    }

    private static EmptyContent Provide(RoomToolCall call)
    {
        var input = ToolInput.Binary(call);
        var requestId = ToolInput.RequiredString(input.Headers, "request_id");
        var error = ToolInput.OptionalString(input.Headers, "error");
        if (!call.Room.Pending.TryTake(requestId, PendingKind.Secret, call.Caller, out var pending))
        {
            throw new KeyroomException(KeyroomError.NotFound, "the request was not found");
        }

        // A copy: the request buffer is zeroed when this call returns, while the requester still needs the bytes.
        pending.TryComplete(error is null ? new ProviderAnswer(input.Data.ToArray(), null, null) : new ProviderAnswer(default, null, error));
        return EmptyContent.Instance;
    }

    private async Task<byte[]?> ReadCachedAsync(RoomToolCall call, SecretKey key, CancellationToken cancellationToken)
    {
        try
        {
            // Versions first: a cache miss is not worth a "secret.read not_found" audit entry.
            await _secrets.ListVersionsAsync(call.Principal, key, cancellationToken);
            return (await _secrets.ReadAsync(call.Principal, key, null, cancellationToken)).Value;
        }
        catch (KeyroomException ex) when (ex.Error == KeyroomError.NotFound)
        {
            return null;
        }
    }

    private async Task CacheAsync(RoomToolCall call, SecretKey key, string url, string type, ReadOnlyMemory<byte> value, string requestId, CancellationToken cancellationToken)
    {
        try
        {
            await _secrets.WriteAsync(call.Principal, key, url, type, value, WriteMode.Upsert, _limits, cancellationToken);
        }
        catch (KeyroomException ex)
        {
            // Too large, or not valid for its type ("keys"/"docker"): the requester still gets the bytes.
            RoomsLog.CacheWriteFailed(_logger, requestId, ex.Error.ToString());
        }
    }

    private static RoomConnection FindParticipant(RoomToolCall call, string participantId) =>
        call.Room.TryGetParticipant(participantId, out var target)
            ? target
            : throw new KeyroomException(KeyroomError.NotFound, "the participant was not found");

    /// <summary>The owner: <c>for_identity</c> when given (acting for someone else is authorized by the secret service), else the caller.</summary>
    private static string Owner(RoomToolCall call, JsonObject input) =>
        ToolInput.OptionalString(input, "for_identity") is { Length: > 0 } forIdentity ? forIdentity : call.Principal.Identity;

    private static SecretKey Key(RoomToolCall call, string owner, string? delegatedTo, string id) =>
        new(call.Principal.ProjectId, call.Room.Scope, owner, delegatedTo ?? string.Empty, id);

    /// <summary>An authorization check for paths the secret service does not audit itself.</summary>
    private void Demand(RoomToolCall call, SecretAction action, SecretKey key, string auditAction)
    {
        try
        {
            SecretAuthorizer.Demand(call.Principal, action, key);
        }
        catch (KeyroomException ex)
        {
            _audit.Record(new AuditEvent(key.ProjectId, call.Principal.AuditActor, auditAction, SecretService.Target(key), SecretService.Outcome(ex)));
            throw;
        }
    }

    /// <summary>A request's wait: <c>timeout</c> seconds (default from the options), clamped to the configured maximum.</summary>
    private TimeSpan RequestTimeout(JsonObject input)
    {
        var seconds = ToolInput.OptionalNumber(input, "timeout") ?? _options.DefaultRequestTimeoutSeconds;
        if (double.IsNaN(seconds) || seconds < 0)
        {
            throw KeyroomException.Invalid("'timeout' must be a number of seconds, not negative");
        }

        return TimeSpan.FromSeconds(Math.Min(seconds, _options.MaxRequestTimeoutSeconds));
    }

    private static string RequestTarget(RoomToolCall call, RoomConnection target) =>
        AccountsAudit.Room(call.Room.Name) + "/participant/" + target.ParticipantId;

    private static string Truncate(string text) => text.Length <= MaxForwardedErrorLength ? text : text[..MaxForwardedErrorLength] + "…";
}
