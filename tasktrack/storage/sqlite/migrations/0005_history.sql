-- Version 5: what happens after a task runs (results, attempts, per-task logs, re-run links,
-- retention). New tables beside `tasks`: the contract's 13 fields stay exactly as they are.
-- Child rows go with their task (ON DELETE CASCADE; SQLite runs with foreign_keys = ON).

-- The task this one re-runs (POST /tasks/{id}/rerun); NULL for an ordinary task.
ALTER TABLE tasks ADD COLUMN rerun_of TEXT;
CREATE INDEX tasks_rerun_of ON tasks (rerun_of) WHERE rerun_of IS NOT NULL;
-- Retention walks finished tasks oldest first, per status.
CREATE INDEX tasks_finished ON tasks (status, last_finished_at)
    WHERE status IN ('done', 'error', 'cancelled');

-- A handler's return value (compact JSON), written in the transaction that makes it `done`.
CREATE TABLE task_results (
    task_id     TEXT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    value       TEXT NOT NULL,
    created_at  REAL NOT NULL
);

-- One row per ended attempt, written in the transaction that ends it. A running attempt has
-- no row: it is read from the task itself (status, attempts, worker_id, last_run_at).
CREATE TABLE task_attempts (
    task_id     TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    worker_id   TEXT NOT NULL DEFAULT '',
    started_at  REAL NOT NULL,
    ended_at    REAL NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN
                  ('done', 'error', 'timeout', 'lost', 'cancelled', 'released')),
    reason      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (task_id, attempt)
);

-- Lines a handler logged (ctx.logger, optionally its stdout/stderr), in order per task.
CREATE TABLE task_logs (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id     TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          REAL NOT NULL,
    level       TEXT NOT NULL,
    message     TEXT NOT NULL
);
CREATE INDEX task_logs_task ON task_logs (task_id, seq);
