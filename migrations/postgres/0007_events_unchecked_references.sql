-- Events refer to their call and their delivery by construction: the ingest transaction
-- inserts each event with the call row it has just created or locked and the delivery row it
-- has just inserted, and calls and deliveries are never deleted. The two foreign keys'
-- checks (a locking lookup of the call and of the delivery for every event row) cost about a
-- third of the database's CPU per delivery, so they go. The embedded store keeps its own,
-- where each is a rowid lookup in the single writer.
ALTER TABLE events
    DROP CONSTRAINT IF EXISTS events_call_seq_fkey,
    DROP CONSTRAINT IF EXISTS events_delivery_id_fkey;
