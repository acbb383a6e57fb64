using Keyroom.Core.Crypto;

namespace Keyroom.Server.Hosting;

/// <summary>The keyring the server runs with and where its keys came from (rotation needs to know).</summary>
/// <param name="Keyring">The keys.</param>
/// <param name="Source">Configuration, a key file, or the development key file.</param>
/// <param name="KeyFilePath">The full path of the key file; null for configuration.</param>
internal sealed record LoadedKeyring(Keyring Keyring, MasterKeySource Source, string? KeyFilePath);

/// <summary>Loads the master keys once, creating the development key file on a first start without one.</summary>
internal static partial class KeyringLoader
{
    public static LoadedKeyring Load(KeyroomOptions options, ILogger logger)
    {
        if (!string.IsNullOrEmpty(options.MasterKey))
        {
            var previous = KeyroomOptionsValidator.Split(options.PreviousMasterKeys).Select(MasterKey.Parse);
            return new LoadedKeyring(new Keyring(MasterKey.Parse(options.MasterKey), previous), MasterKeySource.Configuration, null);
        }

        if (!string.IsNullOrEmpty(options.MasterKeyFile))
        {
            var file = Path.GetFullPath(options.MasterKeyFile);
            return new LoadedKeyring(MasterKeyLoader.ParseKeyFile(File.ReadAllText(file)), MasterKeySource.KeyFile, file);
        }

        var path = options.DevelopmentKeyFile;
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(options.DataDirectory);
            var (key, text) = MasterKey.Generate();
            key.Dispose();
            MasterKeyLoader.WritePrivateFile(path, MasterKeyLoader.FormatKeyFile([text]));
            Log.DevelopmentKeyCreated(logger, Path.GetFullPath(path));
        }

        Log.DevelopmentKeyInUse(logger, Path.GetFullPath(path));
        return new LoadedKeyring(MasterKeyLoader.ParseKeyFile(File.ReadAllText(path)), MasterKeySource.DevelopmentKeyFile, Path.GetFullPath(path));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1001, Level = LogLevel.Warning,
            Message = "Created a DEVELOPMENT master key at {Path}. Anyone who can read this file can decrypt every secret. For production set KEYROOM_MASTER_KEY or KEYROOM_MASTER_KEY_FILE.")]
        public static partial void DevelopmentKeyCreated(ILogger logger, string path);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Warning,
            Message = "Using the DEVELOPMENT master key file {Path}; do not use it in production.")]
        public static partial void DevelopmentKeyInUse(ILogger logger, string path);
    }
}
