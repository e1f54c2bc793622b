-- Version 10: webhooks (subscriptions, a durable outbox, delivery attempts) and the trace
-- context a task was created under. New tables only: the contract's 13 fields stay exact.

-- One subscription of an organisation to task events. `events` is a comma-framed list
-- (",task.done,task.error,") so one text test matches on both backends. `secret` is the
-- signing secret ENCRYPTED (Fernet; see tasktrack.service.webhook_secrets), never plain.
CREATE TABLE webhook_subscriptions (
    id           text PRIMARY KEY,
    org_id       text NOT NULL,
    url          text NOT NULL,
    events       text NOT NULL,
    secret       text NOT NULL,
    description  text NOT NULL DEFAULT '',
    created_at   double precision NOT NULL,
    created_by   text NOT NULL
);
CREATE INDEX webhook_subscriptions_org ON webhook_subscriptions (org_id);

-- The outbox: one row per (event, subscription), written by the trigger below in the
-- transaction that changed the task. A claimed row's next_attempt_at is pushed a lease into
-- the future, so a deliverer that dies mid-delivery leaves it due again (at least once).
-- `attempts` fences the result write of a delivery, as it fences a task's attempt.
CREATE TABLE webhook_outbox (
    seq              bigserial PRIMARY KEY,
    id               text NOT NULL UNIQUE,
    subscription_id  text NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
    event            text NOT NULL,
    task_id          text NOT NULL,
    payload          text NOT NULL,
    created_at       double precision NOT NULL,
    state            text NOT NULL DEFAULT 'pending'
                       CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  double precision NOT NULL,
    finished_at      double precision
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_outbox_finished ON webhook_outbox (finished_at) WHERE state <> 'pending';

-- Every HTTP attempt, for `GET /webhooks/{id}/deliveries` (newest first per subscription).
CREATE TABLE webhook_deliveries (
    seq              bigserial PRIMARY KEY,
    subscription_id  text NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
    message_id       text NOT NULL,
    event            text NOT NULL,
    task_id          text NOT NULL,
    attempt          integer NOT NULL,
    at               double precision NOT NULL,
    status_code      integer NOT NULL,
    error            text NOT NULL DEFAULT '',
    duration         double precision NOT NULL,
    outcome          text NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead'))
);
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, seq);

-- The event a status change is, and its outbox rows for the org's matching subscriptions.
-- A trigger rather than statements beside each verb: it covers every write that moves a
-- task (create, claim, cancel, the fenced ends, the reaper, verbs added later) in the same
-- transaction by construction. An org with no subscription pays one index probe.
CREATE FUNCTION tasktrack_webhook_event() RETURNS trigger AS $$
DECLARE
    ev text := CASE WHEN TG_OP = 'INSERT' THEN 'task.created' ELSE 'task.' || CASE NEW.status
        WHEN 'active' THEN 'started' ELSE NEW.status END END;
    now_s double precision := extract(epoch FROM clock_timestamp());
BEGIN
    INSERT INTO webhook_outbox (id, subscription_id, event, task_id, payload, created_at,
                                next_attempt_at)
    SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), s.id, ev, NEW.id,
           json_build_object('_id', NEW.id, 'name', NEW.name, 'status', NEW.status,
                             'projectId', NEW.project_id, 'attempt', NEW.attempts,
                             'currentStep', NEW.current_step, 'totalStep', NEW.total_step,
                             'failReason', NEW.fail_reason)::text,
           now_s, now_s
    FROM webhook_subscriptions s
    WHERE s.org_id = NEW.org_id AND strpos(s.events, ',' || ev || ',') > 0;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER tasks_webhook_created AFTER INSERT ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasktrack_webhook_event();
CREATE TRIGGER tasks_webhook_moved AFTER UPDATE OF status ON tasks
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                       AND NEW.status IN ('active', 'done', 'error', 'cancelled'))
    EXECUTE FUNCTION tasktrack_webhook_event();

-- The W3C trace context (traceparent, tracestate) of the request that created a task, so
-- its attempts' spans join that trace. Only written when tracing is on.
CREATE TABLE task_traces (
    task_id      text PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
    traceparent  text NOT NULL,
    tracestate   text NOT NULL DEFAULT ''
);
