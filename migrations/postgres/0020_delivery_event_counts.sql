-- Ingest writes no index for readers that seldom ask:
--
-- * A delivery counts the events it brought that were new (for the Ops page and the API),
--   written with it; the count of the deliveries before this migration is taken once here,
--   so the index of events by delivery goes.
-- * A connection's deliveries are listed from the newest deliveries of all connections, a
--   bounded scan of the primary key (webhook_log.rs), so deliveries_connection goes.
-- (The embedded store also drops the events' foreign keys here, as 0007 did on PostgreSQL, and
-- keys the reconciler's schedule by the call's id alone.)
ALTER TABLE deliveries ADD COLUMN events BIGINT NOT NULL DEFAULT 0;
UPDATE deliveries SET events = counted.n
    FROM (SELECT delivery_id, COUNT(*) AS n FROM events GROUP BY delivery_id) AS counted
    WHERE counted.delivery_id = deliveries.id;
DROP INDEX IF EXISTS events_delivery;
DROP INDEX IF EXISTS deliveries_connection;
