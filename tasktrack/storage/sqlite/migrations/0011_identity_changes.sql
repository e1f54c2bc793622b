-- Version 11: a counter that every change able to end a credential moves (a key revoked, a
-- user disabled, a grant or an OAuth client revoked, any of those rows changed or deleted).
-- API processes cache the principals of credentials they verified and read this one row per
-- request: a different number empties the cache, so every process refuses an ended credential
-- from the first request that starts after the change commits (docs/fast-reads.md).
-- Triggers, not application code, move it: the CLI, another server process or a hand-written
-- UPDATE cannot forget to.
CREATE TABLE identity_changes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO identity_changes (id, version) VALUES (1, 0);
CREATE TRIGGER identity_changes_api_keys_update AFTER UPDATE ON api_keys
BEGIN UPDATE identity_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER identity_changes_api_keys_delete AFTER DELETE ON api_keys
BEGIN UPDATE identity_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER identity_changes_users_update AFTER UPDATE ON users
BEGIN UPDATE identity_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER identity_changes_users_delete AFTER DELETE ON users
BEGIN UPDATE identity_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER identity_changes_grants_update AFTER UPDATE ON grants
BEGIN UPDATE identity_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER identity_changes_grants_delete AFTER DELETE ON grants
BEGIN UPDATE identity_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER identity_changes_oauth_clients_update AFTER UPDATE ON oauth_clients
BEGIN UPDATE identity_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER identity_changes_oauth_clients_delete AFTER DELETE ON oauth_clients
BEGIN UPDATE identity_changes SET version = version + 1 WHERE id = 1; END;
