-- Chat thread and web booking ids are the tenant's own: unique per (tenant, id), so that one
-- tenant's feed can neither take an id another tenant's feed will use, nor learn that it is
-- used. Existing ids were unique across tenants, so every row stays valid. SQLite cannot
-- change a primary key in place: each table is rebuilt, its rows copied.

CREATE TABLE chat_threads_by_tenant (
    id              TEXT NOT NULL,
    tenant_id       TEXT NOT NULL,
    customer        TEXT,
    state           TEXT NOT NULL,
    unread          INTEGER NOT NULL DEFAULT 0,
    unanswered      INTEGER NOT NULL DEFAULT 0,
    messages        INTEGER NOT NULL DEFAULT 0,   -- counted messages
    last_message_at INTEGER,                      -- of a counted message
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
INSERT INTO chat_threads_by_tenant (id, tenant_id, customer, state, unread, unanswered,
        messages, last_message_at, created_at, updated_at)
    SELECT id, tenant_id, customer, state, unread, unanswered, messages, last_message_at,
        created_at, updated_at
    FROM chat_threads;
DROP TABLE chat_threads;
ALTER TABLE chat_threads_by_tenant RENAME TO chat_threads;
CREATE INDEX chat_threads_tenant ON chat_threads (tenant_id, updated_at);
-- Agents name a thread by its id alone (`/api/v1/chat-threads/{thread_id}/...`).
CREATE INDEX chat_threads_id ON chat_threads (id);

CREATE TABLE web_bookings_by_tenant (
    id            TEXT NOT NULL,
    tenant_id     TEXT NOT NULL,
    customer_name TEXT NOT NULL,
    phone         TEXT NOT NULL,
    zip           TEXT NOT NULL,
    trade         TEXT NOT NULL,
    received_at   INTEGER NOT NULL,
    booked_at     INTEGER,
    booked_by     TEXT,
    PRIMARY KEY (tenant_id, id)
);
INSERT INTO web_bookings_by_tenant (id, tenant_id, customer_name, phone, zip, trade,
        received_at, booked_at, booked_by)
    SELECT id, tenant_id, customer_name, phone, zip, trade, received_at, booked_at, booked_by
    FROM web_bookings;
DROP TABLE web_bookings;
ALTER TABLE web_bookings_by_tenant RENAME TO web_bookings;
CREATE INDEX web_bookings_unbooked ON web_bookings (tenant_id) WHERE booked_at IS NULL;
CREATE INDEX web_bookings_id ON web_bookings (id);
