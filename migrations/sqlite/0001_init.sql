-- callgate embedded store, version 1. Times compared in SQL are Unix milliseconds.

CREATE TABLE connections (
    id               TEXT PRIMARY KEY,
    provider         TEXT NOT NULL,
    name             TEXT NOT NULL,
    enabled          INTEGER NOT NULL DEFAULT 1,
    options          TEXT NOT NULL DEFAULT '{}',
    secret_names     TEXT NOT NULL,              -- JSON array of names, never values
    secrets          TEXT NOT NULL,              -- sealed current generation
    previous_secrets TEXT,                       -- sealed previous generation (rotation)
    previous_until   INTEGER,                    -- end of the previous generation's grace
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

-- Every accepted webhook, byte for byte, as received (a provider's retry is a delivery too),
-- acknowledged only once this row is committed. Append-only: no random-key index on the
-- hot path.
CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY,
    connection_id TEXT NOT NULL,
    digest        BLOB NOT NULL,                 -- SHA-256 of method, path and query, body
    received_at   INTEGER NOT NULL,
    method        TEXT NOT NULL,
    target        TEXT NOT NULL,
    content_type  TEXT,
    body          BLOB NOT NULL
);

CREATE TABLE calls (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    connection_id    TEXT NOT NULL,
    provider         TEXT NOT NULL,
    provider_call_id TEXT NOT NULL,
    state            TEXT,
    number_kind      TEXT,
    tenant_status    TEXT NOT NULL,
    tenant_id        TEXT,
    recording_status TEXT NOT NULL,
    agent_id         TEXT,
    fold             TEXT NOT NULL,              -- JSON of the call fold
    resolution       TEXT,                       -- JSON of the number's resolution
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (provider_call_id, connection_id)
);
CREATE INDEX calls_tenant ON calls (tenant_id);

-- Normalized events, one per dedupe key per call: keyed by the call's sequence, so that the
-- index pages written are those of recent calls. The full event is the adapter's reading of
-- its delivery (kept byte for byte above); here only what deduplicates and orders it.
CREATE TABLE events (
    call_seq    INTEGER NOT NULL REFERENCES calls (seq),
    dedupe_key  TEXT NOT NULL,
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id),
    recorded_at INTEGER NOT NULL,
    kind        TEXT NOT NULL,                   -- call:<progress>, recording:<status>, unmapped
    PRIMARY KEY (call_seq, dedupe_key)
) WITHOUT ROWID;

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    zip_codes   TEXT NOT NULL,                   -- JSON array
    trades      TEXT NOT NULL,                   -- JSON array
    booking_url TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE TABLE tenant_zip (
    zip       TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    PRIMARY KEY (zip, tenant_id)
);
CREATE TABLE tenant_trade (
    trade     TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    PRIMARY KEY (trade, tenant_id)
);

CREATE TABLE numbers (
    e164       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,                    -- local | national | regional
    tenant_id  TEXT,                             -- local
    tenant_ids TEXT NOT NULL DEFAULT '[]',       -- regional, JSON array
    updated_at INTEGER NOT NULL
);

CREATE TABLE contacts (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    e164      TEXT NOT NULL,
    name      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, e164)
);

-- Calls to dialed numbers the directory does not list (append-only; counted on read).
CREATE TABLE unknown_number_calls (
    e164 TEXT NOT NULL,
    at   INTEGER NOT NULL
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL                          -- JSON
);

CREATE TABLE agents (
    agent_id       TEXT PRIMARY KEY,
    active_call_id TEXT UNIQUE
);

CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,                     -- "system", a user id, "bootstrap"
    action    TEXT NOT NULL,
    call_id   TEXT,
    tenant_id TEXT,
    detail    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_call ON audit (call_id);

-- Effects to carry out after commit, retried until done (recording deletion).
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL,
    connection_id    TEXT NOT NULL,
    call_id          TEXT NOT NULL,
    provider_call_id TEXT NOT NULL,
    recording_id     TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    done_at          INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    UNIQUE (kind, connection_id, recording_id)
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE done_at IS NULL;
