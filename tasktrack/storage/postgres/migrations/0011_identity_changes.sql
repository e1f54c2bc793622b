-- Version 11: every change able to end a credential (a key revoked, a user disabled, a grant
-- or an OAuth client revoked, any of those rows changed or deleted) NOTIFYs
-- tasktrack_identity, and moves a counter (the same table as SQLite's, where the counter is
-- what processes read). API processes cache the principals of credentials they verified and
-- empty that cache on each notification; while their LISTEN connection is down they cache
-- nothing (docs/fast-reads.md). Triggers, not application code: the CLI, another server
-- process or a hand-written UPDATE cannot forget to.
CREATE TABLE identity_changes (
    id integer PRIMARY KEY CHECK (id = 1),
    version bigint NOT NULL
);
INSERT INTO identity_changes (id, version) VALUES (1, 0);
CREATE FUNCTION tasktrack_identity_changed() RETURNS trigger AS $$
BEGIN
    UPDATE identity_changes SET version = version + 1 WHERE id = 1;
    PERFORM pg_notify('tasktrack_identity', '');
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER identity_changes_api_keys AFTER UPDATE OR DELETE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION tasktrack_identity_changed();
CREATE TRIGGER identity_changes_users AFTER UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION tasktrack_identity_changed();
CREATE TRIGGER identity_changes_grants AFTER UPDATE OR DELETE ON grants
    FOR EACH STATEMENT EXECUTE FUNCTION tasktrack_identity_changed();
CREATE TRIGGER identity_changes_oauth_clients AFTER UPDATE OR DELETE ON oauth_clients
    FOR EACH STATEMENT EXECUTE FUNCTION tasktrack_identity_changed();
