-- The refusal log: the last webhooks refused for each connection, so that ops can see why a
-- provider's deliveries fail (a signature checked against another URL, a stale timestamp).
-- connection_id is '' when the path named no connection of callgate's. Each row keeps what
-- was checked, never a header value, a secret or a signature, and at most the first bytes of
-- the body. Bounded: recording one deletes its connection's rows past the newest few hundred.
CREATE TABLE webhook_refusals (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection_id TEXT NOT NULL,
    provider      TEXT NOT NULL,
    at            BIGINT NOT NULL,
    reason        TEXT NOT NULL,
    failed_check  TEXT,
    detail        TEXT,
    url           TEXT NOT NULL,
    skew_secs     BIGINT,
    method        TEXT NOT NULL,
    content_type  TEXT,
    body_size     BIGINT NOT NULL,
    body_prefix   BYTEA NOT NULL
);
CREATE INDEX webhook_refusals_connection ON webhook_refusals (connection_id, id);
CREATE INDEX webhook_refusals_at ON webhook_refusals (at);
-- A connection's recent deliveries, listed for ops.
CREATE INDEX deliveries_connection ON deliveries (connection_id, id);
