-- Outbound webhooks: downstream systems subscribe to event types; each event is one delivery
-- per subscription, retried on a schedule kept here until the endpoint answers 2xx.

CREATE TABLE subscriptions (
    id              TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    event_types     TEXT NOT NULL,               -- JSON array, sorted
    secret          TEXT NOT NULL,               -- sealed with the master key
    enabled         BIGINT NOT NULL DEFAULT 1,
    disabled_reason TEXT,
    failing_since   BIGINT,                     -- first failure since the last success
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- The events sent about a call are numbered, 1, 2, 3..., the same for every subscription.
ALTER TABLE calls ADD COLUMN events_sent BIGINT NOT NULL DEFAULT 0;

-- One event for one subscription. `id` is the webhook-id: the same on every attempt.
-- status: pending | delivered | failed (given up: the subscription was disabled).
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    event_type      TEXT NOT NULL,
    call_id         TEXT,
    sequence        BIGINT,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_status     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, created_at);

-- Every attempt of every delivery: the delivery log.
CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt     BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    status      BIGINT,                         -- the HTTP status, when there was an answer
    error       TEXT,
    PRIMARY KEY (delivery_id, attempt)
);
