-- What /readyz writes while the store's latest write failed for a storage reason (a full
-- disk, an I/O error, a read-only database): row 1 keeps the time of the latest probe; a
-- probe also inserts a row of its own (a random id above 1) with 64 KiB of padding and deletes
-- it in the same transaction, so that it succeeds only when the store can take new data again.
CREATE TABLE readiness_probe (
    id BIGINT PRIMARY KEY,
    probed_at BIGINT NOT NULL,
    pad BYTEA
);
INSERT INTO readiness_probe (id, probed_at) VALUES (1, 0);
