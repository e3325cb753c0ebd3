-- Users (agents, managers, ops) and their API tokens.
CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    permissions TEXT NOT NULL,                   -- JSON array of permission names, sorted
    tenant_ids  TEXT NOT NULL,                   -- JSON array of the tenants the user sees, sorted
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- A token is stored only as the SHA-256 of its value; requests look it up by that hash.
-- Revoked tokens are kept (with revoked_at) so that the audit trail can name them.
CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    hash       BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX tokens_user ON tokens (user_id);

-- The audit listing filters by these, newest first.
CREATE INDEX audit_tenant ON audit (tenant_id);
CREATE INDEX audit_actor ON audit (actor);
CREATE INDEX audit_action ON audit (action);
CREATE INDEX audit_at ON audit (at);
