-- Version 9: the worker registry (issue 16). Each worker upserts its row every heartbeat;
-- readers judge it live, stopped (deregistered) or dead from `heartbeat_at`, `interval_s`
-- and `stopped_at` (tasktrack.domain.workers). Rows are pruned a while after their last beat.
-- List columns hold JSON arrays (task types, queues, running attempts): read whole, never
-- queried inside.
CREATE TABLE workers (
    id            TEXT PRIMARY KEY,
    host          TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    started_at    REAL NOT NULL,
    heartbeat_at  REAL NOT NULL,
    interval_s    REAL NOT NULL,
    task_types    TEXT NOT NULL,
    queues        TEXT NOT NULL,
    concurrency   INTEGER NOT NULL,
    running       TEXT NOT NULL,
    stopped_at    REAL
);
CREATE INDEX workers_heartbeat ON workers (heartbeat_at);
