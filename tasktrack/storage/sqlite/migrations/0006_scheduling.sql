-- Version 6: scheduling (issue 14, points 1, 3, 5). Run later reuses `run_after` (the retry
-- back-off's column): a task is claimable once `run_after <= now`.
-- `priority`: higher runs first (the task type's default, or the create's override).
-- `queue`: the task type's queue; a worker serves some queues (`tasktrack worker --queue`).
ALTER TABLE tasks ADD COLUMN priority integer NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN queue text NOT NULL DEFAULT 'default';
-- The claim reads one lane (a queue and an organisation: claims rotate between lanes, see
-- docs/scheduling-claims.md) in its order: priority (higher first), due time, id. A worker
-- serving other queues, and other organisations' backlogs, are never walked through.
-- `tasks_claim` (run_after, id) stays: it answers "when is the next task due?".
CREATE INDEX tasks_lane ON tasks (queue, org_id, priority DESC, run_after, id)
    WHERE status = 'queued';
