-- Version 7 (issue 14): idempotent creates, the uniqueKey create option, periodic tasks.
-- New tables and one new nullable column: the contract's 13 fields stay exactly as they are.

-- uniqueKey: at most one UNFINISHED task per (organisation, key). The index's condition names
-- the unfinished statuses, so a task that ends frees its key without any write of ours, and
-- no lifecycle move can violate it (nothing moves from a finished status back).
ALTER TABLE tasks ADD COLUMN unique_key TEXT;
CREATE UNIQUE INDEX tasks_unique_key ON tasks (org_id, unique_key)
    WHERE unique_key IS NOT NULL AND status IN ('queued', 'active', 'cancelling');

-- Idempotency-Key: one record per (organisation, key), pointing at the task the first request
-- created. fingerprint: a hash of the request body, to refuse the key's reuse for another
-- body. The record goes with its task (a deleted task frees the key).
CREATE TABLE idempotency_keys (
    org_id      TEXT NOT NULL,
    idem_key    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    task_id     TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    created_at  REAL NOT NULL,
    PRIMARY KEY (org_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
CREATE INDEX idempotency_keys_task ON idempotency_keys (task_id);

-- Periodic tasks: one row per (schedule, slot) that got its task. The primary key is what
-- makes "exactly one task per slot" hold across any number of schedulers. No foreign key:
-- the row must outlive its task's retention (it is the schedule's "last run").
CREATE TABLE schedule_runs (
    schedule    TEXT NOT NULL,
    slot        REAL NOT NULL,
    task_id     TEXT NOT NULL,
    created_at  REAL NOT NULL,
    PRIMARY KEY (schedule, slot)
);
