-- An agent's most recent active call that ended (set when it ends): the hub's `last_call`,
-- which keeps Go to Tenant open during wrap-up.
ALTER TABLE agents ADD COLUMN last_call_id TEXT;
