-- Placeholder on branch wip/ops-c only: version 8 belongs to another branch (scheduling /
-- worker registry). The runner needs consecutive versions, so this empty step holds the
-- number until that branch lands; DELETE THIS FILE when merging (its real migration replaces it).
SELECT 1;
