-- Version 9: the worker registry (issue 16). Each worker upserts its row every heartbeat;
-- readers judge it live, stopped (deregistered) or dead from `heartbeat_at`, `interval_s`
-- and `stopped_at` (tasktrack.domain.workers). Rows are pruned a while after their last beat.
-- List columns hold JSON arrays (task types, queues, running attempts): read whole, never
-- queried inside.
CREATE TABLE workers (
    id            text PRIMARY KEY,
    host          text NOT NULL,
    pid           integer NOT NULL,
    started_at    double precision NOT NULL,
    heartbeat_at  double precision NOT NULL,
    interval_s    double precision NOT NULL,
    task_types    text NOT NULL,
    queues        text NOT NULL,
    concurrency   integer NOT NULL,
    running       text NOT NULL,
    stopped_at    double precision
);
CREATE INDEX workers_heartbeat ON workers (heartbeat_at);
