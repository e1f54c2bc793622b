-- Version 11: exact list totals without counting rows (issue 15). A list whose filters are
-- only organisation, project, name and status sums counter rows instead of running count(*)
-- over the tasks. project_id is '' for "no project" (a primary key cannot hold NULL).
--
-- Every claim and settle moves a task between statuses. Updating one counter row per
-- (org, project, name, status) in those transactions would queue every worker on that row's
-- lock until commit (and two transactions moving tasks of two names in opposite orders
-- could deadlock). So the triggers only INSERT into task_count_deltas (+1 / -1 rows; an
-- insert takes no lock another writer waits for), and a compaction folds the deltas into
-- task_counts now and then in one transaction (DELETE ... RETURNING feeding an upsert).
-- SUM over both tables stays exact at every snapshot.
CREATE TABLE task_counts (
    org_id      text NOT NULL,
    project_id  text NOT NULL,
    name        text NOT NULL,
    status      text NOT NULL,
    n           bigint NOT NULL,
    PRIMARY KEY (org_id, project_id, name, status)
);

-- No key: appends are the cheapest write there is, and the table stays small (compacted when
-- a list finds many pending rows, and by every retention sweep). The index on org_id keeps a
-- list's read to its own organisation's deltas, however busy the others are.
CREATE TABLE task_count_deltas (
    org_id      text NOT NULL,
    project_id  text NOT NULL,
    name        text NOT NULL,
    status      text NOT NULL,
    d           integer NOT NULL
);
CREATE INDEX task_count_deltas_org ON task_count_deltas (org_id);

-- What the list's total reads: counters plus the deltas not folded yet (`pending` counts
-- those, so the reader knows when a compaction is due).
CREATE VIEW task_count_view AS
    SELECT org_id, project_id, name, status, n, 0 AS pending FROM task_counts
    UNION ALL
    SELECT org_id, project_id, name, status, d, 1 AS pending FROM task_count_deltas;

CREATE FUNCTION tasktrack_count_delta() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO task_count_deltas VALUES
            (NEW.org_id, coalesce(NEW.project_id, ''), NEW.name, NEW.status, 1);
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO task_count_deltas VALUES
            (OLD.org_id, coalesce(OLD.project_id, ''), OLD.name, OLD.status, -1);
    ELSE
        INSERT INTO task_count_deltas VALUES
            (OLD.org_id, coalesce(OLD.project_id, ''), OLD.name, OLD.status, -1),
            (NEW.org_id, coalesce(NEW.project_id, ''), NEW.name, NEW.status, 1);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER tasks_count_created AFTER INSERT ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasktrack_count_delta();
-- Only the counted columns: progress, lease renewals and the like do not fire it.
CREATE TRIGGER tasks_count_moved AFTER UPDATE OF status, org_id, project_id, name ON tasks
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                       OR OLD.org_id IS DISTINCT FROM NEW.org_id
                       OR OLD.project_id IS DISTINCT FROM NEW.project_id
                       OR OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION tasktrack_count_delta();
CREATE TRIGGER tasks_count_deleted AFTER DELETE ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasktrack_count_delta();

-- The tasks already there. CREATE TRIGGER locked tasks against writes until this migration's
-- transaction commits, so no write falls between the count and the triggers.
INSERT INTO task_counts (org_id, project_id, name, status, n)
SELECT org_id, coalesce(project_id, ''), name, status, count(*)
FROM tasks GROUP BY org_id, coalesce(project_id, ''), name, status;
