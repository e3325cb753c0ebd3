-- A recording deletion retried by hand ("Retry now") keeps its attempt count, the history of
-- what was tried, while its backoff starts over: the wait after a failed attempt grows with
-- the attempts made since `backoff_from` (the count when it was last retried by hand).
ALTER TABLE outbox ADD COLUMN backoff_from INTEGER NOT NULL DEFAULT 0;
