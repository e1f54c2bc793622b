-- tasktrack schema, version 1 (PostgreSQL). Mirrors sqlite/migrations/0001_initial.sql
-- column for column, so both stores share one row layout and one list query builder.
-- Times the contract shows as dates are Unix seconds (double precision); "never" is -1.

CREATE TABLE organisations (
    id          text PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  bigint NOT NULL
);

CREATE TABLE users (
    id             text PRIMARY KEY,
    org_id         text NOT NULL REFERENCES organisations(id),
    email          text NOT NULL UNIQUE,
    password_hash  text,
    created_at     bigint NOT NULL
);

CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users(id),
    org_id       text NOT NULL REFERENCES organisations(id),
    secret_hash  text NOT NULL,
    read_only    integer NOT NULL DEFAULT 0,
    revoked      integer NOT NULL DEFAULT 0,
    label        text NOT NULL DEFAULT '',
    created_at   bigint NOT NULL
);

CREATE TABLE tasks (
    id                text PRIMARY KEY,
    org_id            text NOT NULL,
    project_id        text,
    name              text NOT NULL,
    -- json, not jsonb: data is kept exactly as given (key order included).
    data              json NOT NULL,
    status            text NOT NULL CHECK (status IN
                        ('queued', 'active', 'done', 'cancelling', 'cancelled', 'error')),
    current_step      bigint NOT NULL DEFAULT 0,
    total_step        bigint NOT NULL DEFAULT 0,
    fail_reason       text NOT NULL DEFAULT '',
    last_run_at       double precision NOT NULL DEFAULT -1,
    last_finished_at  double precision NOT NULL DEFAULT -1,
    created_at        bigint NOT NULL,
    last_changed      bigint NOT NULL,
    created_by        text NOT NULL,
    last_changed_by   text NOT NULL,
    attempts          integer NOT NULL DEFAULT 0,
    max_attempts      integer NOT NULL DEFAULT 1,
    run_after         double precision NOT NULL DEFAULT 0,
    lease_expires_at  double precision,
    worker_id         text,
    version           bigint NOT NULL DEFAULT 1,
    CHECK (current_step >= 0 AND current_step <= total_step)
);

CREATE INDEX tasks_org_created ON tasks (org_id, created_at, id);
CREATE INDEX tasks_org_changed ON tasks (org_id, last_changed, id);
CREATE INDEX tasks_org_name ON tasks (org_id, name, created_at, id);
CREATE INDEX tasks_org_status ON tasks (org_id, status, created_at, id);
CREATE INDEX tasks_org_current ON tasks (org_id, current_step, id);
CREATE INDEX tasks_org_total ON tasks (org_id, total_step, id);
CREATE INDEX tasks_org_run ON tasks (org_id, last_run_at, id);
CREATE INDEX tasks_org_finished ON tasks (org_id, last_finished_at, id);
CREATE INDEX tasks_org_id ON tasks (org_id, id);
CREATE INDEX tasks_claim ON tasks (run_after, id) WHERE status = 'queued';
CREATE INDEX tasks_lease ON tasks (lease_expires_at) WHERE status IN ('active', 'cancelling');

-- Push, not poll: wake idle workers when work is queued, and waiters (cancel watchers,
-- ?wait= long-polls) when a task changes, in every process on this database.
CREATE FUNCTION tasktrack_notify() RETURNS trigger AS $$
BEGIN
    IF NEW.status = 'queued' AND (TG_OP = 'INSERT' OR OLD.status <> 'queued') THEN
        PERFORM pg_notify('tasktrack_queued', '');
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.version <> NEW.version THEN
        PERFORM pg_notify('tasktrack_changed', NEW.id);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER tasks_notify AFTER INSERT OR UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasktrack_notify();
