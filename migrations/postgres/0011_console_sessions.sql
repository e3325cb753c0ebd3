-- Web console sessions. A session is found by the SHA-256 of its id (the cookie's value is
-- never stored); it stands for the API token it was signed in with (by that token's SHA-256),
-- which is checked again on every request, so a revoked token ends its sessions. Revoking a
-- token also deletes them. seen_at is the last activity (idle expiry), expires_at the
-- absolute end.
CREATE TABLE console_sessions (
    id_hash    BYTEA PRIMARY KEY,
    token_hash BYTEA NOT NULL,
    user_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    seen_at    BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_token ON console_sessions (token_hash);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);
