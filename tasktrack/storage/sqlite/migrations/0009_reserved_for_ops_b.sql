-- Placeholder on branch wip/ops-c only: version 9 belongs to ops-b's migration (issue 16,
-- worker registry). Migrations must be contiguous, so this empty step stands in for it here;
-- DELETE THIS FILE when ops-b's 0009 is merged.
SELECT 1;
