-- Placeholder on branch wip/sched-c only: the migration runner wants versions without gaps,
-- and this number belongs to another branch of issue 14. DELETE this file when merging; the
-- other branch's file of the same number replaces it.
SELECT 1;
