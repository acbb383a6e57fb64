using Keyroom.Core;
using Keyroom.Core.Crypto;
using Keyroom.Server.Hosting;

namespace Keyroom.Server.Admin;

/// <summary>What a rotation did.</summary>
/// <param name="Source">Where the keys come from.</param>
/// <param name="ActiveKeyId">The key everything is wrapped under now.</param>
/// <param name="PreviousKeyId">The key that was active before (key file), or the old key that was still in use (configuration).</param>
/// <param name="Rewrapped">How many stored values were re-wrapped.</param>
/// <param name="UnusedPreviousKeyIds">Previous keys nothing uses any more: retired (key file) or safe to remove from KEYROOM_PREVIOUS_MASTER_KEYS (configuration).</param>
internal sealed record RotationReport(MasterKeySource Source, string ActiveKeyId, string? PreviousKeyId, int Rewrapped, IReadOnlyList<string> UnusedPreviousKeyIds);

/// <summary>
/// Runs master key rotations for the admin API, one at a time. With a key file (or the development key file)
/// it generates the new key and keeps the file safe across a crash: the file is rewritten as
/// [new, old…] before anything is re-wrapped and as [new] only once nothing uses an old key. With keys from
/// configuration the operator has already made the new key active; it re-wraps everything to it and reports
/// which previous keys can be removed.
/// </summary>
internal sealed partial class MasterKeyAdministration : IDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly MasterKeyRotation _rotation;
    private readonly LoadedKeyring _loaded;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<MasterKeyAdministration> _logger;

    public MasterKeyAdministration(MasterKeyRotation rotation, LoadedKeyring loaded, IHostApplicationLifetime lifetime, ILogger<MasterKeyAdministration> logger)
    {
        _rotation = rotation;
        _loaded = loaded;
        _lifetime = lifetime;
        _logger = logger;
    }

    public MasterKeySource Source => _loaded.Source;

    public Task<MasterKeyStatus> GetStatusAsync(CancellationToken cancellationToken) => _rotation.GetStatusAsync(cancellationToken);

    /// <summary>
    /// Rotates. The work is not tied to the request: a client that disconnects does not stop it half way
    /// (only server shutdown does, which leaves every key needed still on disk).
    /// </summary>
    public async Task<RotationReport> RotateAsync()
    {
        if (!await _lock.WaitAsync(0))
        {
            throw new KeyroomException(KeyroomError.Conflict, "a master key rotation is already running");
        }

        try
        {
            var cancellationToken = _lifetime.ApplicationStopping;
            return _loaded.Source == MasterKeySource.Configuration
                ? await RewrapToConfiguredKeyAsync(cancellationToken)
                : await RotateKeyFileAsync(_loaded.KeyFilePath!, cancellationToken);
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<RotationReport> RewrapToConfiguredKeyAsync(CancellationToken cancellationToken)
    {
        var keyring = _rotation.Keyring;
        var before = await _rotation.GetStatusAsync(cancellationToken);
        var previousInUse = before.KeyIdsInUse.FirstOrDefault(id => !string.Equals(id, before.ActiveKeyId, StringComparison.Ordinal));
        var outcome = await _rotation.RewrapToActiveAsync(cancellationToken);
        var unused = keyring.PreviousKeyIds.Where(id => !outcome.KeyIdsInUse.Contains(id, StringComparer.Ordinal)).ToList();
        Log.ConfigurationRewrapped(_logger, outcome.ActiveKeyId, outcome.Rewrapped, string.Join(", ", unused));
        return new RotationReport(MasterKeySource.Configuration, outcome.ActiveKeyId, previousInUse, outcome.Rewrapped, unused);
    }

    private async Task<RotationReport> RotateKeyFileAsync(string path, CancellationToken cancellationToken)
    {
        var keyring = _rotation.Keyring;
        IReadOnlyList<string> lines;
        try
        {
            lines = MasterKeyLoader.ParseKeyLines(await File.ReadAllTextAsync(path, cancellationToken));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new KeyroomException(KeyroomError.Conflict, $"the master key file {path} cannot be read; nothing was changed", ex);
        }

        var previousKeyId = keyring.Active.KeyId;
        if (!string.Equals(KeyIdOf(lines[0]), previousKeyId, StringComparison.Ordinal))
        {
            throw new KeyroomException(KeyroomError.Conflict,
                $"the master key file {path} no longer starts with the active key {previousKeyId}; restore it or restart the server. Nothing was changed");
        }

        var (newKey, newText) = MasterKey.Generate();
        try
        {
            // Before anything is re-wrapped: a crash from here on leaves every key still needed on disk.
            WriteKeyFile(path, [newText, .. lines]);
        }
        catch
        {
            newKey.Dispose();
            throw;
        }

        Log.KeyFileRotating(_logger, path, previousKeyId, newKey.KeyId);
        var outcome = await _rotation.RotateAsync(newKey, cancellationToken);

        // Nothing uses an old key any more (the rotation checked): the file may now forget them.
        WriteKeyFile(path, [newText]);
        var retired = _rotation.RetireUnused(outcome.KeyIdsInUse);
        Log.KeyFileRotated(_logger, path, outcome.ActiveKeyId, outcome.Rewrapped);
        return new RotationReport(_loaded.Source, outcome.ActiveKeyId, previousKeyId, outcome.Rewrapped, retired);
    }

    private static void WriteKeyFile(string path, IEnumerable<string> keys)
    {
        try
        {
            MasterKeyLoader.WritePrivateFile(path, MasterKeyLoader.FormatKeyFile(keys));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new KeyroomException(KeyroomError.Conflict,
                $"the master key file {path} cannot be written; rotate through configuration instead (KEYROOM_MASTER_KEY + KEYROOM_PREVIOUS_MASTER_KEYS)", ex);
        }
    }

    private static string KeyIdOf(string text)
    {
        using var key = MasterKey.Parse(text);
        return key.KeyId;
    }

    public void Dispose() => _lock.Dispose();

    private static partial class Log
    {
        [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Rotating the master key in {Path}: {PreviousKeyId} -> {ActiveKeyId}; the file holds both until re-wrapping completes")]
        public static partial void KeyFileRotating(ILogger logger, string path, string previousKeyId, string activeKeyId);

        [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Master key rotation complete: {Path} now holds only {ActiveKeyId} ({Count} values re-wrapped). Back up the new key file now")]
        public static partial void KeyFileRotated(ILogger logger, string path, string activeKeyId, int count);

        [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "Everything is re-wrapped under the configured master key {ActiveKeyId} ({Count} values). Previous keys no longer in use: [{Unused}]")]
        public static partial void ConfigurationRewrapped(ILogger logger, string activeKeyId, int count, string unused);
    }
}
