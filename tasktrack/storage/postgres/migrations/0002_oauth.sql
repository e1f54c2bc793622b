-- tasktrack schema, version 2 (PostgreSQL; mirrors sqlite/migrations/0002_oauth.sql): OAuth 2.0 clients, grants, refresh tokens, server secrets.
-- A grant is one sign-in; its refresh tokens rotate, and revoking it ends every token of it.

ALTER TABLE users ADD COLUMN disabled integer NOT NULL DEFAULT 0;

CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE oauth_clients (
    id           text PRIMARY KEY,
    org_id       text NOT NULL REFERENCES organisations(id),
    user_id      text NOT NULL REFERENCES users(id),
    secret_hash  text NOT NULL,
    name         text NOT NULL DEFAULT '',
    read_only    integer NOT NULL DEFAULT 0,
    revoked      integer NOT NULL DEFAULT 0,
    created_at   bigint NOT NULL
);

CREATE INDEX oauth_clients_user ON oauth_clients (user_id);

CREATE TABLE grants (
    id          text PRIMARY KEY,
    user_id     text NOT NULL REFERENCES users(id),
    org_id      text NOT NULL REFERENCES organisations(id),
    client_id   text REFERENCES oauth_clients(id),
    read_only   integer NOT NULL DEFAULT 0,
    revoked     integer NOT NULL DEFAULT 0,
    created_at  bigint NOT NULL
);

CREATE INDEX grants_user ON grants (user_id) WHERE revoked = 0;
CREATE INDEX grants_client ON grants (client_id) WHERE revoked = 0;

CREATE TABLE refresh_tokens (
    id           text PRIMARY KEY,
    grant_id     text NOT NULL REFERENCES grants(id),
    secret_hash  text NOT NULL,
    created_at   double precision NOT NULL,
    expires_at   double precision NOT NULL,
    used         integer NOT NULL DEFAULT 0
);

CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);

-- Secrets the server generates for itself (the access-token signing key), shared by every
-- process on this database and kept across restarts.
CREATE TABLE server_secrets (
    name        text PRIMARY KEY,
    value       text NOT NULL,
    created_at  bigint NOT NULL
);
