-- Placeholder on branch wip/sched-b only: version 6 belongs to sched-a's migration (issue 14,
-- run later / priorities / queues). Migrations must be contiguous, so this empty step stands
-- in for it here; DELETE THIS FILE when sched-a's 0006 is merged.
SELECT 1;
