-- Version 8: flow control of claims (issue 14, point 4): concurrency caps and rate limits.
-- The caps themselves live in code (the task types); the database holds what a claim counts.

-- The task's concurrency key, computed from its data at creation (NULL: none). Running
-- attempts are counted through the small `tasks_lease` index (running tasks only): no new
-- index on `tasks`, so tasks of types without limits cost nothing more to write.
ALTER TABLE tasks ADD COLUMN concurrency_key text;

-- One row per start of a rate-limited type's attempt, written by the claim; a claim counts
-- the rows in its type's window and deletes older ones. Exact "at most N in any window".
CREATE TABLE task_starts (
    name        text NOT NULL,
    started_at  double precision NOT NULL
);
CREATE INDEX task_starts_name ON task_starts (name, started_at);
