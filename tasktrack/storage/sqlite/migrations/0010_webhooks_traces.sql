-- Version 10: webhooks (subscriptions, a durable outbox, delivery attempts) and the trace
-- context a task was created under. New tables only: the contract's 13 fields stay exact.

-- One subscription of an organisation to task events. `events` is a comma-framed list
-- (",task.done,task.error,") so one text test matches on both backends. `secret` is the
-- signing secret ENCRYPTED (Fernet; see tasktrack.service.webhook_secrets), never plain.
CREATE TABLE webhook_subscriptions (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL,
    url          TEXT NOT NULL,
    events       TEXT NOT NULL,
    secret       TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    created_at   REAL NOT NULL,
    created_by   TEXT NOT NULL
);
CREATE INDEX webhook_subscriptions_org ON webhook_subscriptions (org_id);

-- The outbox: one row per (event, subscription), written by the triggers below in the
-- transaction that changed the task. A claimed row's next_attempt_at is pushed a lease into
-- the future, so a deliverer that dies mid-delivery leaves it due again (at least once).
-- `attempts` fences the result write of a delivery, as it fences a task's attempt.
CREATE TABLE webhook_outbox (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    subscription_id  TEXT NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
    event            TEXT NOT NULL,
    task_id          TEXT NOT NULL,
    payload          TEXT NOT NULL,
    created_at       REAL NOT NULL,
    state            TEXT NOT NULL DEFAULT 'pending'
                       CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL,
    finished_at      REAL
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_outbox_finished ON webhook_outbox (finished_at) WHERE state <> 'pending';

-- Every HTTP attempt, for `GET /webhooks/{id}/deliveries` (newest first per subscription).
CREATE TABLE webhook_deliveries (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id  TEXT NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
    message_id       TEXT NOT NULL,
    event            TEXT NOT NULL,
    task_id          TEXT NOT NULL,
    attempt          INTEGER NOT NULL,
    at               REAL NOT NULL,
    status_code      INTEGER NOT NULL,
    error            TEXT NOT NULL DEFAULT '',
    duration         REAL NOT NULL,
    outcome          TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead'))
);
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, seq);

-- Triggers rather than statements beside each verb: they cover every write that moves a
-- task (create, claim, cancel, the fenced ends, the reaper, verbs added later) in the same
-- transaction by construction. An org with no subscription pays one index probe.
CREATE TRIGGER tasks_webhook_created AFTER INSERT ON tasks
BEGIN
    INSERT INTO webhook_outbox (id, subscription_id, event, task_id, payload, created_at,
                                next_attempt_at)
    SELECT 'msg_' || lower(hex(randomblob(16))), s.id, 'task.created', NEW.id,
           json_object('_id', NEW.id, 'name', NEW.name, 'status', NEW.status,
                       'projectId', NEW.project_id, 'attempt', NEW.attempts,
                       'currentStep', NEW.current_step, 'totalStep', NEW.total_step,
                       'failReason', NEW.fail_reason),
           (julianday('now') - 2440587.5) * 86400.0, (julianday('now') - 2440587.5) * 86400.0
    FROM webhook_subscriptions s
    WHERE s.org_id = NEW.org_id AND instr(s.events, ',task.created,') > 0;
END;

CREATE TRIGGER tasks_webhook_moved AFTER UPDATE OF status ON tasks
WHEN OLD.status IS NOT NEW.status AND NEW.status IN ('active', 'done', 'error', 'cancelled')
BEGIN
    INSERT INTO webhook_outbox (id, subscription_id, event, task_id, payload, created_at,
                                next_attempt_at)
    SELECT 'msg_' || lower(hex(randomblob(16))), s.id,
           'task.' || CASE NEW.status WHEN 'active' THEN 'started' ELSE NEW.status END, NEW.id,
           json_object('_id', NEW.id, 'name', NEW.name, 'status', NEW.status,
                       'projectId', NEW.project_id, 'attempt', NEW.attempts,
                       'currentStep', NEW.current_step, 'totalStep', NEW.total_step,
                       'failReason', NEW.fail_reason),
           (julianday('now') - 2440587.5) * 86400.0, (julianday('now') - 2440587.5) * 86400.0
    FROM webhook_subscriptions s
    WHERE s.org_id = NEW.org_id AND instr(s.events,
          ',task.' || CASE NEW.status WHEN 'active' THEN 'started' ELSE NEW.status END || ',') > 0;
END;

-- The W3C trace context (traceparent, tracestate) of the request that created a task, so
-- its attempts' spans join that trace. Only written when tracing is on.
CREATE TABLE task_traces (
    task_id      TEXT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
    traceparent  TEXT NOT NULL,
    tracestate   TEXT NOT NULL DEFAULT ''
);
