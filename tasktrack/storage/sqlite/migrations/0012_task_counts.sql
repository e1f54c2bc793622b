-- Version 11: exact list totals without counting rows (issue 15). One row per organisation x
-- project x name x status holds how many tasks are there; triggers keep it in the transaction
-- of every write that creates, moves or deletes a task, so a list whose filters are only
-- those columns sums a few counter rows instead of running count(*) over the tasks.
-- project_id is '' for "no project" (a primary key cannot hold NULL; ids are 24 hex chars).
-- SQLite has one writer at a time, so the triggers update the totals directly: there is no
-- row contention to avoid (PostgreSQL writes insert-only deltas instead, see its 0012).
CREATE TABLE task_counts (
    org_id      TEXT NOT NULL,
    project_id  TEXT NOT NULL,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (org_id, project_id, name, status)
) WITHOUT ROWID;

-- What the list's total reads on both backends: the counters, and (PostgreSQL only) the
-- deltas not yet folded into them. `pending` counts those deltas (always 0 here).
CREATE VIEW task_count_view AS
    SELECT org_id, project_id, name, status, n, 0 AS pending FROM task_counts;

CREATE TRIGGER tasks_count_created AFTER INSERT ON tasks
BEGIN
    INSERT INTO task_counts (org_id, project_id, name, status, n)
    VALUES (NEW.org_id, coalesce(NEW.project_id, ''), NEW.name, NEW.status, 1)
    ON CONFLICT (org_id, project_id, name, status) DO UPDATE SET n = n + 1;
END;

-- Only the counted columns: progress, lease renewals and the like do not fire it.
CREATE TRIGGER tasks_count_moved AFTER UPDATE OF status, org_id, project_id, name ON tasks
WHEN OLD.status IS NOT NEW.status OR OLD.org_id IS NOT NEW.org_id
     OR OLD.project_id IS NOT NEW.project_id OR OLD.name IS NOT NEW.name
BEGIN
    UPDATE task_counts SET n = n - 1
    WHERE org_id = OLD.org_id AND project_id = coalesce(OLD.project_id, '')
      AND name = OLD.name AND status = OLD.status;
    INSERT INTO task_counts (org_id, project_id, name, status, n)
    VALUES (NEW.org_id, coalesce(NEW.project_id, ''), NEW.name, NEW.status, 1)
    ON CONFLICT (org_id, project_id, name, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER tasks_count_deleted AFTER DELETE ON tasks
BEGIN
    UPDATE task_counts SET n = n - 1
    WHERE org_id = OLD.org_id AND project_id = coalesce(OLD.project_id, '')
      AND name = OLD.name AND status = OLD.status;
END;

-- The tasks already there (the migration's transaction holds the write lock: exact).
INSERT INTO task_counts (org_id, project_id, name, status, n)
SELECT org_id, coalesce(project_id, ''), name, status, count(*)
FROM tasks GROUP BY org_id, coalesce(project_id, ''), name, status;
