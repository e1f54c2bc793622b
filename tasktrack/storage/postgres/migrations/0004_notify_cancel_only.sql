-- NOTIFY takes a cluster-wide lock at commit, so notify only what someone must hear at once:
-- work becoming claimable (idle workers) and a cancel request (the worker running the task).
-- Long-polls (?wait=) re-read on their own short interval and need no notification.
CREATE OR REPLACE FUNCTION tasktrack_notify() RETURNS trigger AS $$
BEGIN
    IF NEW.status = 'queued' AND (TG_OP = 'INSERT' OR OLD.status <> 'queued') THEN
        PERFORM pg_notify('tasktrack_queued', '');
    ELSIF TG_OP = 'UPDATE' AND NEW.status = 'cancelling' AND OLD.status <> 'cancelling' THEN
        PERFORM pg_notify('tasktrack_changed', NEW.id);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
