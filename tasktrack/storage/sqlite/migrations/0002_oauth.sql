-- tasktrack schema, version 2: OAuth 2.0 clients, grants, refresh tokens, server secrets.
-- A grant is one sign-in; its refresh tokens rotate, and revoking it ends every token of it.

ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;

CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE oauth_clients (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organisations(id),
    user_id      TEXT NOT NULL REFERENCES users(id),
    secret_hash  TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    read_only    INTEGER NOT NULL DEFAULT 0,
    revoked      INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
);

CREATE INDEX oauth_clients_user ON oauth_clients (user_id);

CREATE TABLE grants (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    org_id      TEXT NOT NULL REFERENCES organisations(id),
    client_id   TEXT REFERENCES oauth_clients(id),
    read_only   INTEGER NOT NULL DEFAULT 0,
    revoked     INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

CREATE INDEX grants_user ON grants (user_id) WHERE revoked = 0;
CREATE INDEX grants_client ON grants (client_id) WHERE revoked = 0;

CREATE TABLE refresh_tokens (
    id           TEXT PRIMARY KEY,
    grant_id     TEXT NOT NULL REFERENCES grants(id),
    secret_hash  TEXT NOT NULL,
    created_at   REAL NOT NULL,
    expires_at   REAL NOT NULL,
    used         INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);

-- Secrets the server generates for itself (the access-token signing key), shared by every
-- process on this database and kept across restarts.
CREATE TABLE server_secrets (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
