-- Agent identities: the strings providers report as the destination of an agent's leg, in
-- canonical form. An identity belongs to one user at most: the primary key decides between
-- two users naming it, also when two instances write at once. `position` keeps the order
-- the manager gave them in.
CREATE TABLE user_identities (
    identity TEXT PRIMARY KEY,
    user_id  TEXT NOT NULL REFERENCES users (id),
    position INTEGER NOT NULL
);
CREATE INDEX user_identities_user ON user_identities (user_id);
