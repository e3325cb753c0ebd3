-- The request that took a single-use value: a byte-identical retry of it is a duplicate
-- delivery (2xx, no new event), another request bearing the value a replay (refused).
ALTER TABLE replay_keys ADD COLUMN digest BYTEA;
