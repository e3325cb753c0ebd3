-- Ingest writes no index for readers that seldom ask:
--
-- * A delivery counts the events it brought that were new (for the Ops page and the API),
--   written with it; the count of the deliveries before this migration is taken once here.
-- * The events lose their foreign keys, as on PostgreSQL (0007): each event is inserted with
--   the call row and the delivery row its transaction has just written, and retention deletes
--   deliveries, whose check would need the index of events by delivery on every insert. With
--   the count on the delivery row, that index goes too.
-- * A connection's deliveries are listed from the newest deliveries of all connections, a
--   bounded scan of the primary key (webhook_log.rs), so deliveries_connection goes.
ALTER TABLE deliveries ADD COLUMN events INTEGER NOT NULL DEFAULT 0;
UPDATE deliveries SET events = counted.n
    FROM (SELECT delivery_id, COUNT(*) AS n FROM events GROUP BY delivery_id) AS counted
    WHERE counted.delivery_id = deliveries.id;

CREATE TABLE events_unchecked (
    call_seq    INTEGER NOT NULL,
    dedupe_key  TEXT NOT NULL,
    delivery_id INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    kind        TEXT NOT NULL,                   -- call:<progress>, recording:<status>, unmapped
    PRIMARY KEY (call_seq, dedupe_key)
) WITHOUT ROWID;
INSERT INTO events_unchecked (call_seq, dedupe_key, delivery_id, recorded_at, kind)
    SELECT call_seq, dedupe_key, delivery_id, recorded_at, kind FROM events;
DROP TABLE events;
ALTER TABLE events_unchecked RENAME TO events;
DROP INDEX deliveries_connection;

-- The reconciler's schedule is keyed by the call's id alone (WITHOUT ROWID): the row an
-- unresolved call's end writes in the ingest transaction is one b-tree entry, not a row and
-- an entry of its key's index.
CREATE TABLE reconciliations_by_id (
    id              TEXT PRIMARY KEY,            -- the call's id
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,  -- failed tries in a row (the backoff)
    listings        INTEGER NOT NULL DEFAULT 0,  -- recordings listings made
    last_error      TEXT,
    done_at         INTEGER
) WITHOUT ROWID;
INSERT INTO reconciliations_by_id (id, next_attempt_at, attempts, listings, last_error, done_at)
    SELECT id, next_attempt_at, attempts, listings, last_error, done_at FROM reconciliations;
DROP TABLE reconciliations;
ALTER TABLE reconciliations_by_id RENAME TO reconciliations;
CREATE INDEX reconciliations_due ON reconciliations (next_attempt_at) WHERE done_at IS NULL;
