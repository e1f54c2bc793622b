-- Placeholder on branch wip/ops-c only: version 8 belongs to sched-c's migration (issue 14).
-- Migrations must be contiguous, so this empty step stands in for it here; DELETE THIS FILE
-- when sched-c's 0008 is merged.
SELECT 1;
