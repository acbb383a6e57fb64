using System.Security.Cryptography;
using System.Text;
using Keyroom.Core;
using Keyroom.Core.Accounts;
using Keyroom.Core.Audit;
using Keyroom.Core.Auth;
using Keyroom.Core.Crypto;
using Keyroom.Core.Storage;
using Keyroom.Server.Admin;
using Microsoft.Extensions.Options;

namespace Keyroom.Server.Hosting;

/// <summary>
/// Runs before the server listens: creates or migrates the store, proves the master key matches the store
/// (the key check value), starts the audit log, and on the very first start creates a project and an admin
/// API key, printed once.
/// </summary>
internal sealed partial class KeyroomStartup : IHostedService
{
    private const string KeyCheckName = "sealed:key-check";
    private const string AuditKeyName = "sealed:audit-mac-key";
    private static readonly byte[] KeyCheckPlaintext = Encoding.ASCII.GetBytes("keyroom key check v1");

    private readonly IKeyroomStore _store;
    private readonly EnvelopeCipher _cipher;
    private readonly AuditLog _audit;
    private readonly ApiKeyService _apiKeys;
    private readonly KeyroomOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<KeyroomStartup> _logger;

    public KeyroomStartup(IKeyroomStore store, EnvelopeCipher cipher, AuditLog audit, ApiKeyService apiKeys, IOptions<KeyroomOptions> options, TimeProvider time, ILogger<KeyroomStartup> logger)
    {
        _store = store;
        _cipher = cipher;
        _audit = audit;
        _apiKeys = apiKeys;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _store.InitializeAsync(cancellationToken);
        await CheckMasterKeyAsync(cancellationToken);
        var auditKey = await GetOrCreateSealedAsync(AuditKeyName, () => RandomNumberGenerator.GetBytes(32), cancellationToken);
        await _audit.StartAsync(new AuditChain(auditKey), cancellationToken);
        await BootstrapAsync(cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await _audit.DisposeAsync();

    private async Task CheckMasterKeyAsync(CancellationToken cancellationToken)
    {
        var existing = await _store.GetMetaAsync(KeyCheckName, cancellationToken);
        if (existing is null)
        {
            await _store.SetMetaAsync(KeyCheckName, _cipher.Seal(KeyCheckPlaintext, AssociatedData.ForInternal(KeyCheckName)), cancellationToken);
            return;
        }

        var storeKeyId = EnvelopeCipher.ReadKeyId(existing);
        if (!_cipher.Keyring.TryGet(storeKeyId, out _))
        {
            throw new InvalidOperationException(
                $"Refusing to start: the store at {_options.DatabasePath} is encrypted with master key id {storeKeyId}, but the configured master key(s) have id(s) "
                + string.Join(", ", _cipher.Keyring.KeyIds) + ". Configure the right KEYROOM_MASTER_KEY / key file (during a rotation, list the old key as previous).");
        }

        try
        {
            var plaintext = _cipher.Open(existing, AssociatedData.ForInternal(KeyCheckName));
            if (!CryptographicOperations.FixedTimeEquals(plaintext, KeyCheckPlaintext))
            {
                throw new KeyroomException(KeyroomError.IntegrityFailure, "key check mismatch");
            }
        }
        catch (KeyroomException ex)
        {
            throw new InvalidOperationException($"Refusing to start: the master key check value in {_options.DatabasePath} does not verify ({ex.Message}).", ex);
        }
    }

    private async Task<byte[]> GetOrCreateSealedAsync(string name, Func<byte[]> create, CancellationToken cancellationToken)
    {
        var aad = AssociatedData.ForInternal(name);
        var existing = await _store.GetMetaAsync(name, cancellationToken);
        if (existing is not null)
        {
            return _cipher.Open(existing, aad);
        }

        var value = create();
        await _store.SetMetaAsync(name, _cipher.Seal(value, aad), cancellationToken);
        return value;
    }

    private async Task BootstrapAsync(CancellationToken cancellationToken)
    {
        var projects = await _store.ListProjectsAsync(cancellationToken);
        if (projects.Count > 0)
        {
            // Stores created before the system project was recorded: the oldest project is the system project.
            if (await SystemProject.ReadRecordedAsync(_store, _cipher, cancellationToken) is null)
            {
                await SystemProject.RecordAsync(_store, _cipher, projects.MinBy(p => p.CreatedAt)!.Id, cancellationToken);
            }

            return;
        }

        var project = new Project(Guid.NewGuid().ToString("D"), "default", _time.GetUtcNow());
        await _store.CreateProjectAsync(project, cancellationToken);
        await SystemProject.RecordAsync(_store, _cipher, project.Id, cancellationToken);
        var (_, key) = await _apiKeys.CreateAsync(project.Id, "admin", "created on first start", ProjectRole.Admin, cancellationToken);
        await _audit.RecordDurablyAsync(new AuditEvent(project.Id, "system", "project.bootstrap", "project/" + project.Id, "ok"));

        if (!string.IsNullOrEmpty(_options.BootstrapKeyFile))
        {
            MasterKeyLoader.WritePrivateFile(_options.BootstrapKeyFile, key + "\n");
        }

        // Printed straight to the console, never through the logger: log sinks must not carry key material.
        Console.Out.WriteLine();
        Console.Out.WriteLine("=== Keyroom first start ===================================================");
        Console.Out.WriteLine($"Project id:    {project.Id}");
        Console.Out.WriteLine($"Admin API key: {key}");
        Console.Out.WriteLine("This key is shown ONCE. Store it now, e.g.: keyroom setup --api-key <key>");
        Console.Out.WriteLine("============================================================================");
        Console.Out.WriteLine();
        Log.Bootstrapped(_logger, project.Id);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1010, Level = LogLevel.Information, Message = "First start: created project {ProjectId} and an admin API key (printed once to the console)")]
        public static partial void Bootstrapped(ILogger logger, string projectId);
    }
}
