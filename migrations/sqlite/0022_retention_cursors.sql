-- Where retention's walks over the deliveries stopped (store/retention.rs): the id of the
-- last delivery each has looked at, written in the write of each of its batches. A restarted
-- instance, or another instance taking the pruning over, walks on from there instead of
-- reading again every delivery kept (emptied bodies stay until their calls go).
CREATE TABLE retention_cursors (
    walk    TEXT PRIMARY KEY,                    -- deliveries, duplicate_deliveries
    last_id INTEGER NOT NULL
);
-- The calls to unlisted numbers are per-call data, pruned by age with the calls period: the
-- oldest first, in batches, and the oldest read for its gauge.
CREATE INDEX unknown_number_calls_at ON unknown_number_calls (at);
