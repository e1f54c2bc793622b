-- Sorting by name or status appends the id tiebreaker directly after the key, so those sorts
-- need (org_id, key, id) to read in index order without a temporary sort.
CREATE INDEX tasks_org_name_id ON tasks (org_id, name, id);
CREATE INDEX tasks_org_status_id ON tasks (org_id, status, id);
