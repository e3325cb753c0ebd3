-- callgate on PostgreSQL, version 1: the same tables as the embedded store's migrations 0001
-- to 0004 (here 0002 to 0004 do nothing), in PostgreSQL's types. Times compared in SQL are
-- Unix milliseconds;
-- flags are integers (0 or 1), as in the embedded store, so that both share every statement.

CREATE TABLE connections (
    id               TEXT PRIMARY KEY,
    provider         TEXT NOT NULL,
    name             TEXT NOT NULL,
    enabled          BIGINT NOT NULL DEFAULT 1,
    options          TEXT NOT NULL DEFAULT '{}',
    secret_names     TEXT NOT NULL,              -- JSON array of names, never values
    secrets          TEXT NOT NULL,              -- sealed current generation
    previous_secrets TEXT,                       -- sealed previous generation (rotation)
    previous_until   BIGINT,                     -- end of the previous generation's grace
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

-- Every accepted webhook, byte for byte, as received; acknowledged once committed.
CREATE TABLE deliveries (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection_id TEXT NOT NULL,
    digest        BYTEA NOT NULL,                -- SHA-256 of method, path and query, body
    received_at   BIGINT NOT NULL,
    method        TEXT NOT NULL,
    target        TEXT NOT NULL,
    content_type  TEXT,
    body          BYTEA NOT NULL
);

CREATE TABLE calls (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (provider_call_id, connection_id)
);
CREATE INDEX calls_tenant ON calls (tenant_id);

-- Normalized events, one per dedupe key per call.
CREATE TABLE events (
    call_seq    BIGINT NOT NULL REFERENCES calls (seq),
    dedupe_key  TEXT NOT NULL,
    delivery_id BIGINT NOT NULL REFERENCES deliveries (id),
    recorded_at BIGINT NOT NULL,
    kind        TEXT NOT NULL,                   -- call:<progress>, recording:<status>, unmapped
    PRIMARY KEY (call_seq, dedupe_key)
);

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    zip_codes   TEXT NOT NULL,                   -- JSON array
    trades      TEXT NOT NULL,                   -- JSON array
    booking_url TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    -- A tenant the upstream directory no longer lists is kept but marked removed.
    removed_at  BIGINT
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
    updated_at BIGINT NOT NULL
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
    at   BIGINT NOT NULL
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
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,                     -- "system", a user id, "bootstrap"
    action    TEXT NOT NULL,
    call_id   TEXT,
    tenant_id TEXT,
    detail    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_call ON audit (call_id);
CREATE INDEX audit_tenant ON audit (tenant_id);
CREATE INDEX audit_actor ON audit (actor);
CREATE INDEX audit_action ON audit (action);
CREATE INDEX audit_at ON audit (at);

-- Effects to carry out after commit, retried until done (recording deletion).
CREATE TABLE outbox (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             TEXT NOT NULL,
    connection_id    TEXT NOT NULL,
    call_id          TEXT NOT NULL,
    provider_call_id TEXT NOT NULL,
    recording_id     TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    done_at          BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    UNIQUE (kind, connection_id, recording_id)
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE done_at IS NULL;

-- Single-use values of signed requests (nonces, JWT ids), per connection.
CREATE TABLE replay_keys (
    connection_id TEXT NOT NULL,
    key           TEXT NOT NULL,
    keep_until    BIGINT NOT NULL,
    PRIMARY KEY (connection_id, key)
);
CREATE INDEX replay_keys_keep_until ON replay_keys (keep_until);

-- Users (agents, managers, ops) and their API tokens (stored only as SHA-256).
CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    permissions TEXT NOT NULL,                   -- JSON array of permission names, sorted
    tenant_ids  TEXT NOT NULL,                   -- JSON array of the tenants the user sees, sorted
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    hash       BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX tokens_user ON tokens (user_id);

-- Chats. state: open | closed | spam. Only open threads count.
CREATE TABLE chat_threads (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    customer        TEXT,
    state           TEXT NOT NULL,
    unread          BIGINT NOT NULL DEFAULT 0,
    unanswered      BIGINT NOT NULL DEFAULT 0,
    messages        BIGINT NOT NULL DEFAULT 0,
    last_message_at BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX chat_threads_tenant ON chat_threads (tenant_id, updated_at);

CREATE TABLE chat_messages (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    thread_id   TEXT NOT NULL,
    sender      TEXT NOT NULL,
    direction   TEXT NOT NULL,                    -- inbound | outbound
    body        TEXT NOT NULL,
    counted     BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    UNIQUE (tenant_id, id)
);

CREATE TABLE chat_blocked_senders (
    tenant_id  TEXT NOT NULL,
    sender     TEXT NOT NULL,
    thread_id  TEXT NOT NULL,
    blocked_by TEXT NOT NULL,
    blocked_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, sender)
);

CREATE TABLE web_bookings (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    customer_name TEXT NOT NULL,
    phone         TEXT NOT NULL,
    zip           TEXT NOT NULL,
    trade         TEXT NOT NULL,
    received_at   BIGINT NOT NULL,
    booked_at     BIGINT,
    booked_by     TEXT
);
CREATE INDEX web_bookings_unbooked ON web_bookings (tenant_id) WHERE booked_at IS NULL;
