-- Chats, web bookings, and tenants removed by a directory sync.

-- A tenant that the upstream directory no longer lists is kept but marked removed: it drops
-- out of listings, searches, counts and number resolution, and comes back (same numbers,
-- contacts, chats and bookings) if a later sync or a PUT lists it again.
ALTER TABLE tenants ADD COLUMN removed_at INTEGER;

-- One chat conversation of a tenant. `customer` is the sender of its first inbound message.
-- state: open | closed | spam. Only open threads count: `unread` and `unanswered`.
CREATE TABLE chat_threads (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    customer        TEXT,
    state           TEXT NOT NULL,
    unread          INTEGER NOT NULL DEFAULT 0,
    unanswered      INTEGER NOT NULL DEFAULT 0,
    messages        INTEGER NOT NULL DEFAULT 0,   -- counted messages
    last_message_at INTEGER,                      -- of a counted message
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX chat_threads_tenant ON chat_threads (tenant_id, updated_at);

-- Every message received, counted or not (a blocked sender's messages are kept here with
-- counted = 0). `id` is the client's message_id, or one callgate made up.
CREATE TABLE chat_messages (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    thread_id   TEXT NOT NULL,
    sender      TEXT NOT NULL,
    direction   TEXT NOT NULL,                    -- inbound | outbound
    body        TEXT NOT NULL,
    counted     INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (tenant_id, id)
);

-- Senders blocked as spam, per tenant.
CREATE TABLE chat_blocked_senders (
    tenant_id  TEXT NOT NULL,
    sender     TEXT NOT NULL,
    thread_id  TEXT NOT NULL,                     -- the thread it was blocked from
    blocked_by TEXT NOT NULL,
    blocked_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, sender)
) WITHOUT ROWID;

CREATE TABLE web_bookings (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    customer_name TEXT NOT NULL,
    phone         TEXT NOT NULL,
    zip           TEXT NOT NULL,
    trade         TEXT NOT NULL,
    received_at   INTEGER NOT NULL,
    booked_at     INTEGER,
    booked_by     TEXT
);
CREATE INDEX web_bookings_unbooked ON web_bookings (tenant_id) WHERE booked_at IS NULL;
