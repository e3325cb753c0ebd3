-- Chat thread and web booking ids are the tenant's own: unique per (tenant, id), so that one
-- tenant's feed can neither take an id another tenant's feed will use, nor learn that it is
-- used. Existing ids were unique across tenants, so every row stays valid.

ALTER TABLE chat_threads DROP CONSTRAINT chat_threads_pkey;
ALTER TABLE chat_threads ADD PRIMARY KEY (tenant_id, id);
-- Agents name a thread by its id alone (`/api/v1/chat-threads/{thread_id}/...`).
CREATE INDEX chat_threads_id ON chat_threads (id);

ALTER TABLE web_bookings DROP CONSTRAINT web_bookings_pkey;
ALTER TABLE web_bookings ADD PRIMARY KEY (tenant_id, id);
CREATE INDEX web_bookings_id ON web_bookings (id);
