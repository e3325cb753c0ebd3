-- The reconciler's schedule, one row per call it watches (its id): a call not ended and
-- with no news for a while is looked up at the provider; a call that ended without a tenant
-- has its recordings listed, twice. Claimed under a lease like outbox jobs
-- (`next_attempt_at` moved to the lease's end), done once nothing is left to ask.
CREATE TABLE reconciliations (
    id              TEXT PRIMARY KEY,            -- the call's id
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,  -- failed tries in a row (the backoff)
    listings        INTEGER NOT NULL DEFAULT 0,  -- recordings listings made
    last_error      TEXT,
    done_at         INTEGER
);
CREATE INDEX reconciliations_due ON reconciliations (next_attempt_at) WHERE done_at IS NULL;

