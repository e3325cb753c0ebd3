-- Single-use values of signed requests (nonces, JWT ids), per connection: a second request
-- bearing one is refused until keep_until (seconds since the epoch). Expired rows are pruned.
CREATE TABLE replay_keys (
    connection_id TEXT NOT NULL,
    key TEXT NOT NULL,
    keep_until INTEGER NOT NULL,
    PRIMARY KEY (connection_id, key)
) WITHOUT ROWID;

CREATE INDEX replay_keys_keep_until ON replay_keys (keep_until);
