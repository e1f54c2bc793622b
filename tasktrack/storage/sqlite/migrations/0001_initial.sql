-- tasktrack schema, version 1.
-- Times the contract shows as dates are Unix float seconds; "never" is -1 rather than NULL so
-- that keyset pagination can compare them without NULL special cases.

CREATE TABLE organisations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organisations(id),
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT,
    created_at     INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    org_id       TEXT NOT NULL REFERENCES organisations(id),
    secret_hash  TEXT NOT NULL,
    read_only    INTEGER NOT NULL DEFAULT 0,
    revoked      INTEGER NOT NULL DEFAULT 0,
    label        TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL
);

CREATE TABLE tasks (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL,
    project_id        TEXT,
    name              TEXT NOT NULL,
    data              TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN
                        ('queued', 'active', 'done', 'cancelling', 'cancelled', 'error')),
    current_step      INTEGER NOT NULL DEFAULT 0,
    total_step        INTEGER NOT NULL DEFAULT 0,
    fail_reason       TEXT NOT NULL DEFAULT '',
    last_run_at       REAL NOT NULL DEFAULT -1,
    last_finished_at  REAL NOT NULL DEFAULT -1,
    created_at        INTEGER NOT NULL,
    last_changed      INTEGER NOT NULL,
    created_by        TEXT NOT NULL,
    last_changed_by   TEXT NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    max_attempts      INTEGER NOT NULL DEFAULT 1,
    run_after         REAL NOT NULL DEFAULT 0,
    lease_expires_at  REAL,
    worker_id         TEXT,
    version           INTEGER NOT NULL DEFAULT 1,
    CHECK (current_step >= 0 AND current_step <= total_step)
);

-- One index per sort key, led by the tenant, ending in the id tiebreaker.
CREATE INDEX tasks_org_created ON tasks (org_id, created_at, id);
CREATE INDEX tasks_org_changed ON tasks (org_id, last_changed, id);
CREATE INDEX tasks_org_name ON tasks (org_id, name, created_at, id);
CREATE INDEX tasks_org_status ON tasks (org_id, status, created_at, id);
CREATE INDEX tasks_org_current ON tasks (org_id, current_step, id);
CREATE INDEX tasks_org_total ON tasks (org_id, total_step, id);
CREATE INDEX tasks_org_run ON tasks (org_id, last_run_at, id);
CREATE INDEX tasks_org_finished ON tasks (org_id, last_finished_at, id);
CREATE INDEX tasks_org_id ON tasks (org_id, id);
-- The claim scans only queued tasks, in order; the reaper only running ones.
CREATE INDEX tasks_claim ON tasks (run_after, id) WHERE status = 'queued';
CREATE INDEX tasks_lease ON tasks (lease_expires_at) WHERE status IN ('active', 'cancelling');
