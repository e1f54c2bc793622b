-- Version 13: the tasks table's AFTER triggers run once per statement, not once per row
-- (issue 15). A worker claims and finishes tasks in batches (one UPDATE for up to ~10
-- tasks); per row, each of the three triggers (wake-ups, webhook outbox, list counters) was
-- a PL/pgSQL call and a query of its own: ~20 us of server CPU per row and update of the
-- ~85 an update costs (bench/README.md, "Stop 23"). Statement-level triggers read the
-- statement's transition tables (every row it changed, old and new) and do the same work in
-- one query each: the same outbox rows, the same counter deltas (summed per key, so a batch
-- of one task type adds two rows, not two per task), the same wake-ups. The outbox queries
-- first look for any subscription at all, so an installation without webhooks skips them.
--
-- PostgreSQL allows transition tables only on single-event triggers without a column list,
-- so each event has its own trigger and UPDATE triggers fire for every UPDATE of tasks; the
-- functions compare old and new rows themselves (what the WHEN clauses did).

DROP TRIGGER tasks_notify ON tasks;
DROP TRIGGER tasks_webhook_created ON tasks;
DROP TRIGGER tasks_webhook_moved ON tasks;
DROP TRIGGER tasks_count_created ON tasks;
DROP TRIGGER tasks_count_moved ON tasks;
DROP TRIGGER tasks_count_deleted ON tasks;
DROP FUNCTION tasktrack_notify();
DROP FUNCTION tasktrack_webhook_event();
DROP FUNCTION tasktrack_count_delta();

CREATE FUNCTION tasktrack_tasks_inserted() RETURNS trigger AS $$
DECLARE
    now_s double precision := extract(epoch FROM clock_timestamp());
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows WHERE status = 'queued') THEN
        PERFORM pg_notify('tasktrack_queued', '');
    END IF;
    INSERT INTO task_count_deltas
        SELECT org_id, coalesce(project_id, ''), name, status, count(*)
        FROM new_rows GROUP BY 1, 2, 3, 4;
    IF EXISTS (SELECT 1 FROM webhook_subscriptions) THEN
        INSERT INTO webhook_outbox (id, subscription_id, event, task_id, payload, created_at,
                                    next_attempt_at)
        SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), s.id, 'task.created', n.id,
               json_build_object('_id', n.id, 'name', n.name, 'status', n.status,
                                 'projectId', n.project_id, 'attempt', n.attempts,
                                 'currentStep', n.current_step, 'totalStep', n.total_step,
                                 'failReason', n.fail_reason)::text,
               now_s, now_s
        FROM new_rows n JOIN webhook_subscriptions s
            ON s.org_id = n.org_id AND strpos(s.events, ',task.created,') > 0;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION tasktrack_tasks_updated() RETURNS trigger AS $$
DECLARE
    now_s double precision := extract(epoch FROM clock_timestamp());
BEGIN
    -- Progress reports and lease renewals move no task: one look, and nothing more to do.
    IF NOT EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o USING (id)
                   WHERE (o.status, o.org_id, o.project_id, o.name)
                         IS DISTINCT FROM (n.status, n.org_id, n.project_id, n.name)) THEN
        RETURN NULL;
    END IF;
    -- A task (re)queued wakes idle workers; a cancel request wakes the one running it.
    IF EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o USING (id)
               WHERE n.status = 'queued' AND o.status <> 'queued') THEN
        PERFORM pg_notify('tasktrack_queued', '');
    END IF;
    PERFORM pg_notify('tasktrack_changed', n.id)
    FROM new_rows n JOIN old_rows o USING (id)
    WHERE n.status = 'cancelling' AND o.status <> 'cancelling';
    -- Each moved task is -1 for its old key and +1 for its new one, summed per key.
    INSERT INTO task_count_deltas
        SELECT k.org_id, k.project_id, k.name, k.status, sum(k.d)
        FROM old_rows o JOIN new_rows n USING (id)
        CROSS JOIN LATERAL (VALUES
            (o.org_id, coalesce(o.project_id, ''), o.name, o.status, -1),
            (n.org_id, coalesce(n.project_id, ''), n.name, n.status, 1)
        ) AS k(org_id, project_id, name, status, d)
        WHERE (o.status, o.org_id, o.project_id, o.name)
              IS DISTINCT FROM (n.status, n.org_id, n.project_id, n.name)
        GROUP BY 1, 2, 3, 4 HAVING sum(k.d) <> 0;
    IF EXISTS (SELECT 1 FROM webhook_subscriptions) THEN
        INSERT INTO webhook_outbox (id, subscription_id, event, task_id, payload, created_at,
                                    next_attempt_at)
        SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), s.id, m.ev, m.id,
               json_build_object('_id', m.id, 'name', m.name, 'status', m.status,
                                 'projectId', m.project_id, 'attempt', m.attempts,
                                 'currentStep', m.current_step, 'totalStep', m.total_step,
                                 'failReason', m.fail_reason)::text,
               now_s, now_s
        FROM (SELECT n.*, 'task.' || CASE n.status WHEN 'active' THEN 'started'
                                                   ELSE n.status END AS ev
              FROM new_rows n JOIN old_rows o USING (id)
              WHERE o.status IS DISTINCT FROM n.status
                AND n.status IN ('active', 'done', 'error', 'cancelled')) m
        JOIN webhook_subscriptions s
            ON s.org_id = m.org_id AND strpos(s.events, ',' || m.ev || ',') > 0;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION tasktrack_tasks_deleted() RETURNS trigger AS $$
BEGIN
    INSERT INTO task_count_deltas
        SELECT org_id, coalesce(project_id, ''), name, status, -count(*)
        FROM old_rows GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER tasks_inserted AFTER INSERT ON tasks REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tasktrack_tasks_inserted();
CREATE TRIGGER tasks_updated AFTER UPDATE ON tasks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tasktrack_tasks_updated();
CREATE TRIGGER tasks_deleted AFTER DELETE ON tasks REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tasktrack_tasks_deleted();
