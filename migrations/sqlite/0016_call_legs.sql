-- The legs of calls other than the customer's own (an agent's phone, a transfer), by the
-- provider's leg id: a webhook about a leg finds its call here, and so does the call list's
-- provider_call_id filter. A call's own id is its row's, never repeated here.
CREATE TABLE call_legs (
    leg_id        TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    call_seq      INTEGER NOT NULL,
    PRIMARY KEY (leg_id, connection_id)
);
CREATE INDEX call_legs_call ON call_legs (call_seq);
