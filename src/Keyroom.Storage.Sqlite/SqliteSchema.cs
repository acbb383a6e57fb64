namespace Keyroom.Storage.Sqlite;

/// <summary>The schema, applied idempotently at start. <c>user_version</c> records the applied version.</summary>
internal static class SqliteSchema
{
    public const int Version = 1;

    public const string V1 = """
        CREATE TABLE IF NOT EXISTS meta (
            name  TEXT PRIMARY KEY,
            value BLOB NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE IF NOT EXISTS projects (
            id         TEXT PRIMARY KEY,
            name       TEXT NOT NULL,
            created_at INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE IF NOT EXISTS api_keys (
            id            TEXT PRIMARY KEY,
            project_id    TEXT NOT NULL REFERENCES projects(id),
            name          TEXT NOT NULL,
            description   TEXT NOT NULL,
            role          TEXT NOT NULL,
            sealed_secret BLOB NOT NULL,
            created_at    INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS api_keys_project ON api_keys(project_id);

        CREATE TABLE IF NOT EXISTS rooms (
            id          TEXT PRIMARY KEY,
            project_id  TEXT NOT NULL REFERENCES projects(id),
            name        TEXT NOT NULL,
            metadata    TEXT NOT NULL,
            annotations TEXT NOT NULL,
            permissions TEXT,
            created_at  INTEGER NOT NULL,
            UNIQUE (project_id, name)
        ) WITHOUT ROWID;

        CREATE TABLE IF NOT EXISTS secrets (
            row_id       INTEGER PRIMARY KEY,
            project_id   TEXT NOT NULL,
            scope        TEXT NOT NULL,
            owner        TEXT NOT NULL,
            delegated_to TEXT NOT NULL,
            id           TEXT NOT NULL,
            name         TEXT NOT NULL,
            type         TEXT NOT NULL,
            version      INTEGER NOT NULL,
            created_at   INTEGER NOT NULL,
            updated_at   INTEGER NOT NULL,
            UNIQUE (project_id, scope, owner, delegated_to, id)
        );

        CREATE TABLE IF NOT EXISTS secret_versions (
            secret_row INTEGER NOT NULL REFERENCES secrets(row_id) ON DELETE CASCADE,
            version    INTEGER NOT NULL,
            blob       BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (secret_row, version)
        ) WITHOUT ROWID;

        CREATE TABLE IF NOT EXISTS audit (
            seq        INTEGER PRIMARY KEY,
            at         INTEGER NOT NULL,
            project_id TEXT NOT NULL,
            actor      TEXT NOT NULL,
            action     TEXT NOT NULL,
            target     TEXT NOT NULL,
            outcome    TEXT NOT NULL,
            prev_mac   BLOB NOT NULL,
            mac        BLOB NOT NULL
        );
        """;
}
