-- Placeholder on branch wip/ops-c only: version 7 belongs to sched-b's migration (issue 14,
-- periodic tasks and deduplicated creates, 0007_dedup_periodic.sql on main). Migrations must be
-- contiguous, so this empty step stands in for it here; DELETE THIS FILE when merging.
SELECT 1;
