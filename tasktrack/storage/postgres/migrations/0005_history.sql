-- Version 5: what happens after a task runs (results, attempts, per-task logs, re-run links,
-- retention). New tables beside `tasks`: the contract's 13 fields stay exactly as they are.
-- Child rows go with their task (ON DELETE CASCADE).

-- The task this one re-runs (POST /tasks/{id}/rerun); NULL for an ordinary task.
ALTER TABLE tasks ADD COLUMN rerun_of text;
CREATE INDEX tasks_rerun_of ON tasks (rerun_of) WHERE rerun_of IS NOT NULL;
-- Retention walks finished tasks oldest first, per status.
CREATE INDEX tasks_finished ON tasks (status, last_finished_at)
    WHERE status IN ('done', 'error', 'cancelled');

-- A handler's return value (JSON), written in the transaction that makes it `done`. text,
-- not jsonb: stored and returned byte for byte, never queried inside.
CREATE TABLE task_results (
    task_id     text PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
    attempt     integer NOT NULL,
    value       text NOT NULL,
    created_at  double precision NOT NULL
);

-- One row per ended attempt, written in the transaction that ends it. A running attempt has
-- no row: it is read from the task itself (status, attempts, worker_id, last_run_at).
CREATE TABLE task_attempts (
    task_id     text NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    attempt     integer NOT NULL,
    worker_id   text NOT NULL DEFAULT '',
    started_at  double precision NOT NULL,
    ended_at    double precision NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN
                  ('done', 'error', 'timeout', 'lost', 'cancelled', 'released')),
    reason      text NOT NULL DEFAULT '',
    PRIMARY KEY (task_id, attempt)
);

-- Lines a handler logged (ctx.logger, optionally its stdout/stderr), in order per task.
CREATE TABLE task_logs (
    seq         bigserial PRIMARY KEY,
    task_id     text NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    attempt     integer NOT NULL,
    at          double precision NOT NULL,
    level       text NOT NULL,
    message     text NOT NULL
);
CREATE INDEX task_logs_task ON task_logs (task_id, seq);
